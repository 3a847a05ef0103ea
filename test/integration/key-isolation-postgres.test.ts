import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { makeImage, dataUri } from '../helpers/images.ts';
import { PG_URL } from '../helpers/databases.ts';
import { capturingRepo, pgPlan } from '../helpers/query-plan.ts';
import { storedTask } from '../helpers/stored-task.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/** One key must not hurt the others, on PostgreSQL: the per-key limit under concurrency, and listings whose cost does not grow with the key. */
describe.skipIf(!PG_URL)('one key on PostgreSQL', () => {
  let s: TestServer;
  let img: string;
  beforeAll(async () => {
    img = dataUri(await makeImage(64, 36));
    // API role: nothing renders, so accepted tasks stay active and count against the limit.
    s = await startServer({ DATABASE_URL: PG_URL ?? '', REELAY_ROLE: 'api', REELAY_MAX_ACTIVE_TASKS_PER_KEY: '3' });
  });
  afterAll(async () => { await s?.close(); });

  it('20 concurrent submits with a limit of 3 active tasks: exactly 3 accepted, the rest 429', async () => {
    const key = await s.newKey('limit-race');
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => s.api('/v1/video/generations', {
      method: 'POST', headers: { authorization: `Bearer ${key}` },
      json: { model: 'veo-3.0-fast-generate-001', prompt: `race ${i}`, aspect_ratio: '16:9', seconds: 4, images: [img] },
    })));
    const codes = await Promise.all(results.map(async (r) => {
      const b = (await r.json()) as { error?: { code: string } };
      return r.status === 200 ? 'ok' : `${r.status} ${b.error?.code}`;
    }));
    expect(codes.filter((c) => c === 'ok')).toHaveLength(3);
    expect(codes.filter((c) => c !== 'ok').every((c) => c === '429 too_many_active_tasks')).toBe(true);
    const list = (await (await s.api('/v1/video/generations?limit=100', { headers: { authorization: `Bearer ${key}` } })).json()) as { data: unknown[] };
    expect(list.data).toHaveLength(3);
  });

  it('a page of the listing reads about one page of rows, both ways, at 30 tasks or 3000', async () => {
    const db = s.app.store.db.kysely;
    const small = (await s.app.keys.create('few')).id;
    const big = (await s.app.keys.create('many')).id;
    const t0 = Date.now() - 10_000_000;
    const mids: Record<string, { createdAt: number; id: string }> = {};
    for (const [keyId, n] of [[small, 30], [big, 3000]] as const) {
      await s.app.store.transaction(async (r) => {
        for (let i = 0; i < n; i++) {
          const t = storedTask(keyId, t0 + i * 10, { status: 'succeeded' });
          await r.tasks.insert(t);
          if (i === Math.floor(n / 2)) mids[keyId] = { createdAt: t.created_at, id: t.id };
        }
      });
    }
    await sql`analyze tasks`.execute(db);
    const { repo, last } = capturingRepo(db, 'postgres');
    const read: Record<string, number> = {};
    for (const keyId of [small, big]) {
      for (const order of ['asc', 'desc'] as const) {
        for (const after of [undefined, mids[keyId]]) {
          const rows = await repo.list({ keyId, limit: 11, order, after });
          expect(rows).toHaveLength(11);
          const plan = await pgPlan(db, last());
          expect(plan.nodes).not.toContain('Seq Scan');
          expect(plan.nodes).not.toContain('Sort');
          read[`${keyId === big ? 'big' : 'small'} ${order} ${after ? 'cursor' : 'first'}`] = plan.rowsRead;
        }
      }
    }
    // One page is 11 rows; the index range starts at the cursor, so nothing before it is read.
    for (const [what, n] of Object.entries(read)) expect(n, what).toBeLessThanOrEqual(12);
  });

  it('the ended-files sweep uses its partial index (only the tasks still holding files)', async () => {
    const db = s.app.store.db.kysely;
    const keyId = (await s.app.keys.create('sweep')).id;
    const t0 = Date.now() - 10_000_000;
    await s.app.store.transaction(async (r) => {
      for (let i = 0; i < 3000; i++) {
        await r.tasks.insert(storedTask(keyId, t0 + i, { status: 'cancelled', input_keys: i % 1000 === 0 ? `["inputs/x${i}/0.png"]` : '[]' }));
      }
    });
    await db.updateTable('tasks').set({ completed_at: t0 }).where('key_id', '=', keyId).execute();
    await sql`analyze tasks`.execute(db);
    const { repo, last } = capturingRepo(db, 'postgres');
    expect(await repo.endedWithFiles(Date.now())).toHaveLength(3);
    const plan = await pgPlan(db, last());
    expect(plan.indexes).toEqual(['tasks_files_left']);
    expect(plan.rowsRead).toBe(3);
  });
});
