import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage, dataUri } from '../helpers/images.ts';
import { cli, exited, startChild } from '../helpers/child-server.ts';
import { dropSchema, freshSchema, PG_URL } from '../helpers/databases.ts';
import { startS3 } from '../helpers/s3.ts';
import { s3BlobStore } from '../../src/infra/blob/s3-blob-store.ts';

const TASKS = Number(process.env.CHAOS_TASKS ?? 300);
const CATALOG = fileURLToPath(new URL('../fixtures/tiny-catalog.json', import.meta.url));

/**
 * 2 API processes + 3 worker processes on one PostgreSQL and one S3 server.
 * 300 tasks through both APIs; one worker is kill -9'd mid-run and another is
 * restarted. Every task must end succeeded exactly once, every balance equal
 * its entries, every video be in the bucket. (A one-second 160×90 test model
 * from a custom catalog keeps 300 real renders within a CI budget.)
 */
describe.skipIf(!PG_URL)('chaos: many processes on PostgreSQL + S3', () => {
  const schema = freshSchema();
  let s3: Awaited<ReturnType<typeof startS3>>;
  let dataDir: string;
  let env: Record<string, string>;
  const children: Awaited<ReturnType<typeof startChild>>[] = [];

  beforeAll(async () => {
    s3 = await startS3();
    dataDir = await mkdtemp(join(tmpdir(), 'reelay-chaos-'));
    env = {
      ...s3.env, DATABASE_URL: PG_URL!, DATABASE_SCHEMA: schema, REELAY_DATA_DIR: dataDir, REELAY_CATALOG_FILE: CATALOG,
      REELAY_LEASE_MS: '2000', REELAY_WORKER_CONCURRENCY: '1', REELAY_WORKER_POLL_MS: '200',
      REELAY_MAX_ACTIVE_TASKS_PER_KEY: '100000', REELAY_RATE_LIMIT_PER_MINUTE: '10000000', LOG_LEVEL: 'error',
    };
  });
  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await s3?.close();
    await rm(dataDir, { recursive: true, force: true });
    await dropSchema(schema);
  });

  it('every task succeeds exactly once through kills and restarts; books balance; videos are in the bucket', async () => {
    const created = await cli(['keys', 'create', '--name', 'chaos', '--credits', String(TASKS * 3 + 11), '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const { key, id: keyId } = JSON.parse(created.stdout) as { key: string; id: string };
    const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };

    const apis = [await startChild({ ...env, REELAY_ROLE: 'api' }), await startChild({ ...env, REELAY_ROLE: 'api' })];
    const workers = [await startChild({ ...env, REELAY_ROLE: 'worker' }), await startChild({ ...env, REELAY_ROLE: 'worker' }), await startChild({ ...env, REELAY_ROLE: 'worker' })];
    children.push(...apis, ...workers);

    const img = dataUri(await makeImage(64, 36));
    const ids: string[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: 12 }, async () => {
      while (next < TASKS) {
        const i = next++;
        const res = await fetch(`${apis[i % 2]!.base}/v1/video/generations`, {
          method: 'POST', headers: auth, body: JSON.stringify({ model: 'tiny-test', prompt: `pan left ${i}`, aspect_ratio: '16:9', images: [img] }),
        });
        expect(res.status).toBe(200);
        ids.push(((await res.json()) as { id: string }).id);
      }
    }));
    expect(ids).toHaveLength(TASKS);

    const db = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
    await db.connect();
    try {
      const count = async (status: string) => Number((await db.query('select count(*) n from tasks where status = $1', [status])).rows[0].n);
      const report = async () => JSON.stringify((await db.query('select status, error_code, count(*) n from tasks group by 1, 2')).rows)
        + `\nworker output: ${workers.map((w) => w.output().slice(-1500)).join('\n---\n')}`;
      // Mid-run: kill -9 one worker, gracefully restart another.
      const firstDeadline = Date.now() + 120_000;
      while (await count('succeeded') < TASKS / 4) {
        if (Date.now() > firstDeadline) throw new Error(`stalled: ${await report()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      workers[0]!.child.kill('SIGKILL');
      workers[1]!.child.kill('SIGTERM');
      expect(await exited(workers[1]!.child)).toBe(0);
      const restarted = await startChild({ ...env, REELAY_ROLE: 'worker' });
      children.push(restarted);

      const deadline = Date.now() + 240_000;
      while (await count('succeeded') < TASKS) {
        if (Date.now() > deadline) throw new Error(`only ${await count('succeeded')} of ${TASKS} succeeded: ${await report()}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(await count('failed'), await report()).toBe(0);

      const charges = await db.query(`select task_id, count(*) n from credit_entries where kind = 'charge' group by task_id`);
      expect(charges.rows).toHaveLength(TASKS);
      expect(charges.rows.every((r: { n: string }) => Number(r.n) === 1)).toBe(true);
      const refunds = await db.query(`select count(*) n from credit_entries where kind = 'refund'`);
      expect(Number(refunds.rows[0].n)).toBe(0);
      const bal = await db.query('select k.balance, (select sum(amount) from credit_entries e where e.key_id = k.id) s from api_keys k');
      for (const r of bal.rows as { balance: string; s: string | null }[]) expect(Number(r.balance)).toBe(Number(r.s ?? 0));
      const mine = await db.query('select balance from api_keys where id = $1', [keyId]);
      expect(Number(mine.rows[0].balance)).toBe(11);
      const attempts = await db.query('select max(attempts) m, sum(attempts) s from tasks');
      expect(Number(attempts.rows[0].s)).toBeGreaterThanOrEqual(TASKS);

      const store = s3BlobStore({ bucket: s3.bucket, region: 'us-east-1', endpoint: s3.endpoint, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true, now: Date.now });
      const keys = await db.query('select output_key from tasks');
      const missing: string[] = [];
      await Promise.all((keys.rows as { output_key: string }[]).map(async (r) => { if (!(await store.stat(r.output_key))) missing.push(r.output_key); }));
      expect(missing).toEqual([]);
    } finally {
      await db.end();
    }
    for (const c of [...apis, workers[2]!, ...children.slice(5)]) c.child.kill('SIGTERM');
    await Promise.all(children.map((c) => exited(c.child)));
  }, 400_000);
});
