/**
 * Load (hardening issue): a server holding 10 000 stored tasks is polled for
 * BENCH_LOAD_SECONDS (default 60) at the highest rate the machine sustains
 * (p50/p99 and errors), then hit with a burst of 500 concurrent submits
 * carrying ~1 MB images: every request must be answered (200, 402 or 429),
 * every 200 must be a stored task, and the server's peak RSS is printed.
 * The server runs as its own process (`reelay serve --role api`) on SQLite.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import sharp from 'sharp';
import { loadConfig } from '../src/config.ts';
import { openStore } from '../src/store.ts';
import { newTaskId } from '../src/domain/ids.ts';
import { cli, startChild } from '../test/helpers/child-server.ts';
import { onCleanup } from './lib/child.ts';

async function peakRss(pid: number): Promise<number> {
  const m = /VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''));
  return m ? Number(m[1]) * 1024 : 0;
}

export async function loadBench(): Promise<void> {
  const seconds = Number(process.env.BENCH_LOAD_SECONDS ?? 60);
  const dataDir = await mkdtemp(join(tmpdir(), 'reelay-bench-load-'));
  const cleanDir = onCleanup(() => rm(dataDir, { recursive: true, force: true }));
  // The one key stands for many clients: its per-key submit byte and megapixel budgets (240 MB / 240 MP a minute)
  // would refuse most of the burst before its credits run out, and the burst is about the balance and the memory bound.
  const env = {
    REELAY_DATA_DIR: dataDir, LOG_LEVEL: 'error', REELAY_RATE_LIMIT_PER_MINUTE: '10000000',
    REELAY_SUBMIT_MEGABYTES_PER_MINUTE: '100000000', REELAY_IMAGE_MEGAPIXELS_PER_MINUTE: '100000000',
  };
  let stop = async () => {};
  try {
    const created = await cli(['keys', 'create', '--name', 'load', '--credits', String(200 * 60), '--json'], env);
    if (created.code !== 0) throw new Error(created.stderr);
    const { key, id: keyId } = JSON.parse(created.stdout) as { key: string; id: string };

    // 10 000 stored tasks, written straight into the database (as succeeded, queued and failed).
    const store = await openStore(loadConfig(env));
    const ids: string[] = [];
    const now = Date.now();
    const statuses = ['succeeded', 'queued', 'failed'] as const;
    await store.transaction(async (r) => {
      for (let i = 0; i < 10_000; i++) {
        const id = newTaskId();
        ids.push(id);
        await r.tasks.insert({
          id, key_id: keyId, model: 'veo-3.0-fast-generate-001', provider: 'local', status: statuses[i % 3]!, progress: i % 3 === 0 ? 100 : 0,
          prompt: `stored task ${i}`, negative_prompt: null, aspect_ratio: '16:9', seconds: 4, size: '720p', width: 1280, height: 720, seed: i,
          generate_audio: 1, off_peak: 0, is_rec: 0, callback_url: null, options_json: '{}', input_keys: '[]',
          credits_reserved: 60, credits_charged: i % 3 === 0 ? 60 : 0, credits_refunded: i % 3 === 2 ? 60 : 0, created_at: now - i * 1000,
          idempotency_key: null, request_hash: null, optimized_prompt: null,
        });
      }
    });
    await store.db.kysely.updateTable('tasks').set({ output_key: 'outputs/x/video.mp4', thumbnail_key: 'outputs/x/thumbnail.jpg', expires_at: now + 86400_000, metadata_json: '{"duration":4,"fps":24,"width":1280,"height":720,"seed":1,"has_audio":true}' })
      .where('status', '=', 'succeeded').execute();
    await store.db.close();

    const server = await startChild({ ...env, REELAY_ROLE: 'api', REELAY_MAX_ACTIVE_TASKS_PER_KEY: '5000' });
    stop = onCleanup(async () => { server.child.kill('SIGTERM'); });
    const pid = server.child.pid!;
    const auth = { authorization: `Bearer ${key}` };

    console.log(`load: ${seconds} s of polls over 10 000 stored tasks (50 connections, random ids)`);
    const requests = Array.from({ length: 2000 }, () => ({ method: 'GET' as const, path: `/v1/video/generations/${ids[Math.floor(Math.random() * ids.length)]}`, headers: auth }));
    const poll = await autocannon({ url: server.base, connections: 50, duration: seconds, requests });
    console.log(`  ${poll.requests.average.toFixed(0)} req/s  p50 ${poll.latency.p50} ms  p99 ${poll.latency.p99} ms  non-2xx ${poll.non2xx}  errors ${poll.errors}  timeouts ${poll.timeouts}`);

    // ~1 MB of incompressible pixels, sent as a data URI.
    const noise = Buffer.alloc(600 * 560 * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    const png = await sharp(noise, { raw: { width: 600, height: 560, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
    const body = JSON.stringify({ model: 'veo-3.0-fast-generate-001', prompt: 'burst', aspect_ratio: '16:9', seconds: 4, images: [`data:image/png;base64,${png.toString('base64')}`] });
    console.log(`load: burst of 500 concurrent submits, ${(body.length / 1e6).toFixed(2)} MB each (balance covers 200, in-flight limit 5000)`);
    const rssBefore = await peakRss(pid);
    const t0 = performance.now();
    const results = await Promise.all(Array.from({ length: 500 }, async () => {
      try {
        const r = await fetch(`${server.base}/v1/video/generations`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
        const j = (await r.json()) as { id?: string };
        return { status: r.status, id: j.id };
      } catch (e) {
        return { status: 0, id: undefined, error: (e as Error).message };
      }
    }));
    const wall = (performance.now() - t0) / 1000;
    const by = new Map<number, number>();
    for (const r of results) by.set(r.status, (by.get(r.status) ?? 0) + 1);
    const accepted = results.filter((r) => r.status === 200).map((r) => r.id!);
    const check = await openStore(loadConfig(env));
    const found = await check.db.kysely.selectFrom('tasks').select('id').where('id', 'in', accepted.length ? accepted : ['none']).execute();
    const balance = await check.ledger.balance(keyId);
    const sum = await check.ledger.sumOfEntries(keyId);
    await check.db.close();
    console.log(`  answered in ${wall.toFixed(1)} s: ${[...by].map(([s, n]) => `${s === 0 ? 'no answer' : s}×${n}`).join(', ')}`);
    console.log(`  accepted ${accepted.length}, stored ${found.length} (none lost: ${found.length === accepted.length}); balance ${balance} = sum of entries ${sum}`);
    console.log(`  server peak RSS ${(await peakRss(pid) / 2 ** 20).toFixed(0)} MiB (before the burst ${(rssBefore / 2 ** 20).toFixed(0)} MiB)`);
  } finally {
    await stop();
    await cleanDir();
  }
}
