import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultVideo } from '../providers/upstream/upstream-provider.ts';
import { completeWithOutput, finishOutput } from './finish-output.ts';
import { classifyFailure, defaultSeed } from './failure.ts';
import type { Job, JobBookkeeping } from './upstream-job.ts';
import type { PollerDeps } from './upstream-poller.ts';

/**
 * A finished upstream job: download its video (streamed, capped), probe,
 * thumbnail and store it, then the task succeeds. A failed download is judged
 * like a failed poll; a video that cannot be read back ends the task. Throws
 * only when `signal` aborted (stopping, lease lost) or the bookkeeping failed.
 */
export async function collectResult(d: PollerDeps, owner: string, book: JobBookkeeping, job: Job, video: ResultVideo, signal: AbortSignal) {
  if (signal.aborted) throw signal.reason;
  const { row, channel } = job;
  const workDir = await mkdtemp(join(d.scratchDir ?? tmpdir(), `reelay-${row.id}-`));
  try {
    const videoPath = join(workDir, 'video.mp4');
    if (video.kind === 'bytes') await writeFile(videoPath, video.data);
    else {
      // A result link can expire or a CDN hiccup (transient): the next poll hands out a fresh one. A link we
      // refuse to fetch (private address) or an oversized video stays refused (the adapters call those the request's).
      const got = await channel.adapter.download(video.url, videoPath, signal);
      if (!got.ok) {
        await book.failed(job, got.failure.fault === 'channel' ? { ...got.failure, fault: 'transient' } : got.failure);
        return;
      }
    }
    const extra = JSON.parse(row.upstream_json ?? '{}') as Record<string, unknown>;
    // Where Google keeps the result (a Files URI, a gs:// object): an extension of it can send that instead of the bytes.
    // Not Vidu's or a self-hosted server's links, which no upstream takes back.
    const resultUri = video.kind === 'url' && (channel.provider === 'gemini' || channel.provider === 'vertex') ? { result_uri: video.url } : {};
    const upstream = { provider: channel.provider, id: row.upstream_id, ...resultUri };
    const details = { provider: channel.provider, channel: channel.name, upstream, upstream_model: job.upstreamModel, ...extra };
    const seed = row.seed == null ? defaultSeed(row.id) : Number(row.seed);
    let out;
    try {
      out = await finishOutput({ taskId: row.id, videoPath, workDir, seed, details, ffmpeg: d.ffmpeg, blobs: d.blobs, signal });
    } catch (e) {
      if (signal.aborted) throw e;
      await book.giveUp(job, classifyFailure(e));
      return;
    }
    if (await completeWithOutput(d, row.id, owner, out)) {
      await d.health.recordSuccess(channel.name, job.upstreamModel).catch(() => {});
      job.log.info({ seconds: (d.now() - job.submittedAt) / 1000 }, 'upstream task succeeded');
      d.onJobEnded?.(channel.provider, 'succeeded', (d.now() - job.submittedAt) / 1000);
    } else job.log.info('task ended elsewhere before completion; output discarded');
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
