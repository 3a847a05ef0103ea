/**
 * Scale-out dispatch (issue: "idle worker starts a new task within 50 ms p50").
 *
 * 1. Latency: an API-only and a worker-only process on PostgreSQL; tasks are
 *    submitted one at a time to idle workers, and submit → processing is read
 *    from the database (started_at − created_at, both stamped by the servers),
 *    so the measurement adds no polling delay. The worker's poll interval is
 *    set to 60 s: only LISTEN/NOTIFY can wake it.
 * 2. Submit throughput with 1 vs 3 API processes (autocannon POSTs, no workers).
 * Needs PostgreSQL: BENCH_DATABASE_URL or TEST_DATABASE_URL.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { cli, startChild } from '../test/helpers/child-server.ts';
import { dropSchema, freshSchema } from '../test/helpers/databases.ts';
import { makeImage, dataUri } from '../test/helpers/images.ts';
import { onCleanup } from './lib/child.ts';

const CATALOG = fileURLToPath(new URL('../test/fixtures/tiny-catalog.json', import.meta.url));

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export async function dispatchBench(): Promise<void> {
  const url = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  if (!url) {
    console.log('dispatch: skipped — set BENCH_DATABASE_URL or TEST_DATABASE_URL to a PostgreSQL database');
    return;
  }
  const schema = freshSchema();
  const dataDir = await mkdtemp(join(tmpdir(), 'reelay-bench-dispatch-'));
  const cleanDb = onCleanup(async () => { await dropSchema(schema).catch(() => {}); await rm(dataDir, { recursive: true, force: true }); });
  process.env.TEST_DATABASE_URL = url; // dropSchema reads it
  const env = {
    DATABASE_URL: url, DATABASE_SCHEMA: schema, REELAY_DATA_DIR: dataDir, REELAY_CATALOG_FILE: CATALOG, LOG_LEVEL: 'error',
    REELAY_MAX_ACTIVE_TASKS_PER_KEY: '100000', REELAY_RATE_LIMIT_PER_MINUTE: '10000000', REELAY_WORKER_CONCURRENCY: '1',
    // One key sends everything: its submit byte and megapixel budgets and its half of the submit slots (one key must
    // not hurt the others; 20 connections > 32 / 2) would otherwise answer most of the throughput run with 429, and
    // the figure would be the refusal path's.
    REELAY_SUBMIT_MEGABYTES_PER_MINUTE: '100000000', REELAY_IMAGE_MEGAPIXELS_PER_MINUTE: '100000000', REELAY_MAX_CONCURRENT_SUBMITS: '64',
  };
  const children: Awaited<ReturnType<typeof startChild>>[] = [];
  const stopChildren = onCleanup(async () => { for (const c of children) c.child.kill('SIGKILL'); });
  try {
    const created = await cli(['keys', 'create', '--name', 'bench', '--credits', '100000000', '--json'], env);
    if (created.code !== 0) throw new Error(created.stderr);
    const { key } = JSON.parse(created.stdout) as { key: string };
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const body = JSON.stringify({ model: 'tiny-test', prompt: 'pan left', aspect_ratio: '16:9', images: [dataUri(await makeImage(64, 36))] });

    const api = await startChild({ ...env, REELAY_ROLE: 'api' });
    const worker = await startChild({ ...env, REELAY_ROLE: 'worker', REELAY_WORKER_POLL_MS: '60000' });
    children.push(api, worker);
    const db = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
    await db.connect();
    try {
      const n = Number(process.env.BENCH_DISPATCH_TASKS ?? 40);
      const latencies: number[] = [];
      for (let i = 0; i < n; i++) {
        const res = await fetch(`${api.base}/v1/video/generations`, { method: 'POST', headers, body });
        const id = ((await res.json()) as { id: string }).id;
        // Wait for it to finish so the worker is idle again for the next one.
        for (;;) {
          const r = await db.query('select status, created_at, started_at from tasks where id = $1', [id]);
          const row = r.rows[0] as { status: string; created_at: string; started_at: string | null };
          if (row.status === 'succeeded' || row.status === 'failed') { latencies.push(Number(row.started_at) - Number(row.created_at)); break; }
          await new Promise((r2) => setTimeout(r2, 20));
        }
      }
      console.log(`dispatch: submit → processing with an idle worker (LISTEN/NOTIFY; poll interval 60 s), ${n} tasks`);
      console.log(`  p50 ${percentile(latencies, 50)} ms   p99 ${percentile(latencies, 99)} ms   max ${Math.max(...latencies)} ms   (goal: p50 < 50 ms)`);
    } finally {
      await db.end();
    }
    worker.child.kill('SIGTERM');

    const duration = Number(process.env.BENCH_DURATION ?? 8);
    const run = (base: string, connections: number) => autocannon({ url: `${base}/v1/video/generations`, method: 'POST', headers, body, connections, duration });
    const one = await run(api.base, 20);
    const more = [await startChild({ ...env, REELAY_ROLE: 'api' }), await startChild({ ...env, REELAY_ROLE: 'api' })];
    children.push(...more);
    const three = await Promise.all([api, ...more].map((c) => run(c.base, 7)));
    const total3 = three.reduce((a, r) => a + r.requests.average, 0);
    const errors3 = three.reduce((a, r) => a + r.non2xx + r.errors, 0);
    console.log(`submit throughput (64×36 PNG data URI, no workers, ${duration} s):`);
    console.log(`  1 API process   ${one.requests.average.toFixed(0)} req/s  p50 ${one.latency.p50} ms  p99 ${one.latency.p99} ms  non-2xx ${one.non2xx + one.errors}`);
    console.log(`  3 API processes ${total3.toFixed(0)} req/s  (non-2xx ${errors3})  ratio ${(total3 / one.requests.average).toFixed(2)} — all on the same 2 cores as PostgreSQL`);
    if (one.non2xx + one.errors + errors3 > 0) console.log('  WARNING: some submits were refused or failed; these rates are not the accepted path\'s');
  } finally {
    await stopChildren();
    await cleanDb();
  }
}
