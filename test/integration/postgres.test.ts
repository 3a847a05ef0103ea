import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage, dataUri } from '../helpers/images.ts';
import { startServer, waitFor, waitForTask, type TaskJson, type TestServer } from '../helpers/server.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshSchema, dropSchema, PG_URL, PG_SKIP_REASON } from '../helpers/databases.ts';

/** The task API on PostgreSQL: an API-only node and a worker-only node sharing one database. */
describe.skipIf(!PG_URL)('scale-out on PostgreSQL', () => {
  const schema = freshSchema();
  let env: Record<string, string>;
  let api: TestServer;
  let worker: TestServer;
  let img: string;
  let shared: string;
  beforeAll(async () => {
    img = dataUri(await makeImage(320, 180));
    // Both nodes share the database and the blob folder (a shared disk here; S3 in production).
    shared = await mkdtemp(join(tmpdir(), 'reelay-pg-shared-'));
    env = { DATABASE_URL: PG_URL ?? '', DATABASE_SCHEMA: schema, REELAY_DATA_DIR: shared };
    api = await startServer({ ...env, REELAY_ROLE: 'api' });
    // A poll interval far longer than the test: the worker must be woken by LISTEN/NOTIFY.
    worker = await startServer({ ...env, REELAY_ROLE: 'worker', REELAY_WORKER_POLL_MS: '60000' });
  });
  afterAll(async () => {
    await worker?.close();
    await api?.close();
    await dropSchema(schema);
    await rm(shared, { recursive: true, force: true });
  });

  const submit = (s: TestServer, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    s.api('/v1/video/generations', { method: 'POST', headers, json: { model: 'veo-3.0-fast-generate-001', prompt: 'push in', aspect_ratio: '16:9', seconds: 4, images: [img], ...extra } });

  it('a task submitted on the API node is started by the worker node via NOTIFY and succeeds', async () => {
    const res = await submit(api);
    expect(res.status).toBe(200);
    const t = (await res.json()) as TaskJson;
    // Started within 30 s, while the worker's next look by polling is 60 s away: only the notification explains it.
    await waitFor(async () => (await api.app.store.tasks.find(t.id))?.status !== 'queued', 30_000, 5);
    const { task } = await waitForTask(api, t.id);
    expect(task.status).toBe('succeeded');
    const video = await fetch(task.url!);
    expect(video.status).toBe(200);
    expect((await video.arrayBuffer()).byteLength).toBeGreaterThan(1000);
  });

  it('ten parallel submits with one Idempotency-Key make one task', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => submit(api, { prompt: 'idem' }, { 'idempotency-key': 'pg-idem-1' })));
    const ids = new Set(await Promise.all(results.map(async (r) => { expect(r.status).toBe(200); return ((await r.json()) as TaskJson).id; })));
    expect(ids.size).toBe(1);
  });
});

describe.skipIf(!PG_URL)('credits on PostgreSQL (API node only, nothing renders)', () => {
  let api: TestServer;
  let img: string;
  beforeAll(async () => {
    img = dataUri(await makeImage(64, 36));
    api = await startServer({ DATABASE_URL: PG_URL ?? '', REELAY_ROLE: 'api' });
  });
  afterAll(async () => { await api?.close(); });
  const submit = (s: TestServer, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    s.api('/v1/video/generations', { method: 'POST', headers, json: { model: 'veo-3.0-fast-generate-001', prompt: 'push in', aspect_ratio: '16:9', seconds: 4, images: [img], ...extra } });

  it('50 parallel submits on a balance that covers 10 create exactly 10 tasks', async () => {
    const k = await api.app.keys.create('pg-race');
    const price = 4 * (10 + 5);
    await api.app.credits.grant(k.id, price * 10 + 7, 'test');
    const auth = { authorization: `Bearer ${k.key}` };
    const results = await Promise.all(Array.from({ length: 50 }, () => submit(api, { off_peak: false }, auth)));
    await Promise.all(results.map((r) => r.arrayBuffer()));
    expect(results.filter((r) => r.status === 200)).toHaveLength(10);
    expect(results.filter((r) => r.status === 402)).toHaveLength(40);
    expect(await api.app.store.ledger.balance(k.id)).toBe(7);
    expect(await api.app.store.ledger.sumOfEntries(k.id)).toBe(7);
    const list = (await (await api.api('/v1/video/generations?limit=100', { headers: auth })).json()) as { data: TaskJson[] };
    expect(list.data).toHaveLength(10);
    for (const t of list.data) await api.api(`/v1/video/generations/${t.id}/cancel`, { method: 'POST', headers: auth });
    expect(await api.app.store.ledger.balance(k.id)).toBe(price * 10 + 7);
  });
});

describe.skipIf(Boolean(PG_URL))('scale-out on PostgreSQL', () => {
  it.skip(PG_SKIP_REASON, () => {});
});
