// Issue 19 §2: Vertex's fetchPredictOperation returns the video inline (base64 in the JSON). It used to
// load the whole MP4 and build the base64 string and the JSON around it in memory, for every poll, with
// nothing bounding how many at once: one 133 MB result took the server from 250 MB to 1 GB. The answer is
// now streamed. Measured on a real server process (`reelay serve`), whose memory is its own.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage, dataUri } from '../helpers/images.ts';
import { cli, exited, startChild } from '../helpers/child-server.ts';

const MB = 1024 * 1024;
const VIDEO_MB = 96;

/** Resident memory of a process, from /proc (Linux). */
async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/**
 * Read one fetchPredictOperation answer as it arrives, decoding the inline video on the fly into a hash
 * (the test holds no more of it than the server should).
 */
async function readInlineVideo(res: Response): Promise<{ sha256: string; bytes: number; json: Record<string, unknown> }> {
  const hash = createHash('sha256');
  const marker = '"bytesBase64Encoded":"';
  let text = '';
  let state: 'head' | 'video' | 'tail' = 'head';
  let pending = '';
  let bytes = 0;
  let head = '';
  let tail = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    text = decoder.decode(chunk, { stream: true });
    if (state === 'head') {
      head += text;
      const at = head.indexOf(marker);
      if (at < 0) continue;
      text = head.slice(at + marker.length);
      head = head.slice(0, at + marker.length);
      state = 'video';
    }
    if (state === 'video') {
      const end = text.indexOf('"');
      pending += end < 0 ? text : text.slice(0, end);
      const whole = pending.length - (pending.length % 4);
      const decoded = Buffer.from(pending.slice(0, whole), 'base64');
      hash.update(decoded);
      bytes += decoded.length;
      pending = pending.slice(whole);
      if (end < 0) continue;
      text = text.slice(end);
      state = 'tail';
    }
    tail += text;
  }
  if (pending) { const d = Buffer.from(pending, 'base64'); hash.update(d); bytes += d.length; }
  return { sha256: hash.digest('hex'), bytes, json: JSON.parse(`${head}${tail}`) as Record<string, unknown> };
}

describe('Vertex fetchPredictOperation with a large inline result', () => {
  let dataDir: string;
  let child: ChildProcess;
  let base: string;
  let key: string;
  let taskId: string;
  let videoSha: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'reelay-inline-'));
    const env = { REELAY_DATA_DIR: dataDir, LOG_LEVEL: 'warn', REELAY_WORKER_POLL_MS: '50' };
    const created = await cli(['keys', 'create', '--name', 'big', '--credits', '100000', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    key = (JSON.parse(created.stdout) as { key: string }).key;
    ({ child, base } = await startChild(env));
    const res = await fetch(`${base}/v1/video/generations`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'veo-2.0-generate-001', prompt: 'x', aspect_ratio: '16:9', images: [dataUri(await makeImage(64, 36))] }),
    });
    taskId = ((await res.json()) as { id: string }).id;
    for (;;) {
      const t = (await (await fetch(`${base}/v1/video/generations/${taskId}`, { headers: { authorization: `Bearer ${key}` } })).json()) as { status: string };
      if (t.status === 'succeeded') break;
      expect(['queued', 'processing']).toContain(t.status);
      await new Promise((r) => setTimeout(r, 100));
    }
    // The stored result becomes a 96 MB one (what a 4k clip weighs), in place.
    const file = join(dataDir, 'blobs', 'outputs', taskId, 'video.mp4');
    const out = createWriteStream(file);
    const block = randomBytes(MB);
    const hash = createHash('sha256');
    for (let i = 0; i < VIDEO_MB; i++) {
      hash.update(block);
      if (!out.write(block)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    videoSha = hash.digest('hex');
    expect((await stat(file)).size).toBe(VIDEO_MB * MB);
  }, 120_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await exited(child);
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  it('four polls at once stream the whole video, and the server grows by far less than one copy of it', async () => {
    const operationName = `projects/p/locations/us-central1/publishers/google/models/veo-2.0-generate-001/operations/${taskId}`;
    const poll = () => fetch(`${base}/v1beta1/projects/p/locations/us-central1/publishers/google/models/veo-2.0-generate-001:fetchPredictOperation`, {
      method: 'POST', headers: { 'x-goog-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify({ operationName }),
    });
    // One poll first, alone: what the first use of a route costs once (code, pools) is not what we measure.
    expect((await readInlineVideo(await poll())).sha256).toBe(videoSha);
    const before = await rssBytes(child.pid!);
    let peak = before;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await rssBytes(child.pid!));
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const results = await Promise.all(Array.from({ length: 4 }, async () => {
      const res = await poll();
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      return readInlineVideo(res);
    }));
    sampling = false;
    await sampler;

    for (const r of results) {
      expect(r.bytes).toBe(VIDEO_MB * MB);
      expect(r.sha256).toBe(videoSha);
      expect(r.json).toMatchObject({
        name: operationName, done: true,
        response: { '@type': 'type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse', videos: [{ bytesBase64Encoded: '', mimeType: 'video/mp4' }] },
      });
    }
    // Loaded whole, each poll would hold the video, its base64 and the JSON: > 4 × 300 MB here.
    expect(peak - before).toBeLessThan((VIDEO_MB * MB) / 2);
  }, 120_000);
});
