/**
 * A real Reelay (role "all": API + worker) for benchmarks, run as its own
 * process so it does not share a core with the load generator.
 *
 *   node bench/servers/reelay-server.ts
 *
 * Uses $BENCH_DATA_DIR as the data dir if set (the caller then owns it),
 * else a fresh temp dir that is removed on exit. Creates an API key, submits
 * one image-to-video task, waits until it has rendered (so a poll returns the
 * signed url/thumbnail_url), then prints one JSON line
 *   {"base":"http://127.0.0.1:PORT","key":"rly_…","taskId":"task_…"}
 * and serves until SIGTERM/SIGINT or until its stdin pipe closes (the parent died).
 */
import { fstatSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { createReelay, type Reelay } from '../../src/app.ts';
import { makeImage, dataUri } from '../../test/helpers/images.ts';

const ownDir = !process.env.BENCH_DATA_DIR;
const dataDir = process.env.BENCH_DATA_DIR ?? await mkdtemp(join(tmpdir(), 'reelay-bench-'));
const renderTimeoutMs = Number(process.env.BENCH_RENDER_TIMEOUT_MS ?? 300_000);
let app: Reelay | undefined;

let closing: Promise<void> | undefined;
function shutdown(code: number): Promise<void> {
  closing ??= (async () => {
    try {
      await app?.close(2000);
    } finally {
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
    }
  })().then(() => process.exit(code), (e: unknown) => {
    process.stderr.write(`reelay-server: shutdown failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
  return closing;
}
process.once('SIGTERM', () => void shutdown(0));
process.once('SIGINT', () => void shutdown(0));
// Stdin EOF means the parent died, but only when stdin is its pipe (not /dev/null or a tty).
if (fstatSync(0).isFIFO() || fstatSync(0).isSocket()) {
  process.stdin.on('end', () => void shutdown(0));
  process.stdin.resume();
}

interface Task { id: string; status: string; url: string | null; error: { code: string; message: string } | null }

try {
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', REELAY_DATA_DIR: dataDir, REELAY_ROLE: 'all',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
    // The per-key request limit would turn most of a flood into 429s; the bench measures the poll path itself.
    REELAY_RATE_LIMIT_PER_MINUTE: '10000000',
    FFMPEG_PATH: process.env.FFMPEG_PATH, FFPROBE_PATH: process.env.FFPROBE_PATH,
  });
  app = await createReelay(config);
  const base = await app.listen();
  const created = await app.keys.create('bench');
  await app.credits.grant(created.id, 1_000_000, 'bench');
  const key = created.key;
  const auth = { authorization: `Bearer ${key}` };

  const image = await makeImage(640, 360, 'png');
  const res = await fetch(`${base}/v1/video/generations`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'veo-3.0-fast-generate-001', prompt: 'a slow push in over the blocks',
      aspect_ratio: '16:9', seconds: 4, images: [dataUri(image)],
    }),
  });
  if (res.status !== 200) throw new Error(`submit failed: HTTP ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as Task;

  const deadline = Date.now() + renderTimeoutMs;
  for (;;) {
    const t = (await (await fetch(`${base}/v1/video/generations/${id}`, { headers: auth })).json()) as Task;
    if (t.status === 'succeeded') break;
    if (t.status === 'failed' || t.status === 'cancelled') throw new Error(`task ${id} ${t.status}: ${JSON.stringify(t.error)}`);
    if (Date.now() > deadline) throw new Error(`task ${id} still ${t.status} after ${renderTimeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }

  process.stdout.write(`${JSON.stringify({ base, key, taskId: id })}\n`);
} catch (e) {
  process.stderr.write(`reelay-server: ${(e as Error).stack ?? String(e)}\n`);
  await shutdown(1);
}
