import { join } from 'node:path';
import type { BlobStore } from '../infra/blob/blob-store.ts';
import { probeMedia } from '../infra/ffmpeg/probe.ts';
import { runFfmpeg } from '../infra/ffmpeg/run-ffmpeg.ts';
import { ProviderError } from '../providers/provider.ts';
import type { Lifecycle } from '../domain/task-lifecycle.ts';

export interface FinishInput {
  taskId: string;
  videoPath: string;
  workDir: string;
  seed: number;
  details: Record<string, unknown>;
  ffmpeg: { ffmpeg: string; ffprobe: string };
  blobs: BlobStore;
  signal: AbortSignal;
}

/**
 * Shared by every provider: measure the file (metadata comes from ffprobe,
 * never from the request), cut a first-frame thumbnail, store both.
 */
export async function finishOutput(f: FinishInput) {
  let facts;
  try {
    facts = await probeMedia(f.ffmpeg.ffprobe, f.videoPath);
  } catch (e) {
    throw new ProviderError('invalid_output', 'The produced video could not be read back.', { cause: e });
  }
  if (facts.duration <= 0 || facts.width <= 0) throw new ProviderError('invalid_output', 'The produced video is empty.');
  const thumb = join(f.workDir, 'thumbnail.jpg');
  await runFfmpeg(f.ffmpeg.ffmpeg, ['-y', '-i', f.videoPath, '-frames:v', '1', '-q:v', '3', thumb], { signal: f.signal });
  const outputKey = `outputs/${f.taskId}/video.mp4`;
  const thumbnailKey = `outputs/${f.taskId}/thumbnail.jpg`;
  await f.blobs.putFile(outputKey, f.videoPath, 'video/mp4');
  await f.blobs.putFile(thumbnailKey, thumb, 'image/jpeg');
  return {
    outputKey,
    thumbnailKey,
    metadata: {
      duration: facts.duration,
      fps: facts.fps,
      width: facts.width,
      height: facts.height,
      seed: f.seed,
      has_audio: facts.hasAudio,
      video_codec: facts.videoCodec,
      ...f.details,
    },
  };
}

export interface PublishDeps {
  blobs: BlobStore;
  ffmpeg: { ffmpeg: string; ffprobe: string };
  lifecycle: Lifecycle;
  outputTtlSeconds: number;
  now(): number;
}

/**
 * Store the finished video and end the task `succeeded` (charging it) — as
 * `ownerId`, so a task cancelled or taken over meanwhile is not completed.
 * False: someone else ended it first; its output is deleted, not left behind.
 */
export async function publishOutput(d: PublishDeps, a: Omit<FinishInput, 'ffmpeg' | 'blobs'> & { ownerId: string }): Promise<boolean> {
  const out = await finishOutput({ ...a, ffmpeg: d.ffmpeg, blobs: d.blobs });
  const won = await d.lifecycle.complete(a.taskId, a.ownerId, d.now(), {
    outputKey: out.outputKey, thumbnailKey: out.thumbnailKey, metadataJson: JSON.stringify(out.metadata),
    expiresAt: d.now() + d.outputTtlSeconds * 1000,
  });
  if (!won) await d.blobs.deletePrefix(`outputs/${a.taskId}/`);
  return Boolean(won);
}
