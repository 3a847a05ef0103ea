import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompiledQuery, sql } from 'kysely';
import { PG_URL } from '../helpers/databases.ts';
import { capturingRepo, pgPlan } from '../helpers/query-plan.ts';
import { storedTask } from '../helpers/stored-task.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/**
 * A claim ranks the waiting tasks' keys by when each was last served (tasks-repo.ts, claimNext): that must be
 * one index seek per candidate, never a walk over a key's history — the key with 3000 ended tasks below costs
 * a claim what a new key does.
 */
async function keyWithHistory(s: TestServer) {
  const big = (await s.app.keys.create('history')).id;
  const fresh = (await s.app.keys.create('fresh')).id;
  const t0 = Date.now() - 10_000_000;
  await s.app.store.transaction(async (r) => {
    for (let i = 0; i < 3000; i++) await r.tasks.insert(storedTask(big, t0 + i, { status: 'failed' }));
    for (let i = 0; i < 3; i++) await r.tasks.insert(storedTask(big, t0 + 5000 + i, { status: 'queued' }));
    for (let i = 0; i < 2; i++) await r.tasks.insert(storedTask(fresh, t0 + 6000 + i, { status: 'queued' }));
  });
  // Each ended task had been started (served) when it was created.
  await s.app.store.db.kysely.updateTable('tasks').set({ started_at: sql<number>`created_at` }).where('key_id', '=', big).where('status', '=', 'failed').execute();
  return { big, fresh };
}

describe('a claim on SQLite', () => {
  let s: TestServer;
  beforeAll(async () => { s = await startServer({ REELAY_ROLE: 'api' }); });
  afterAll(async () => { await s?.close(); });

  it('seeks each waiting key\'s latest start in tasks_key_started, and serves the key never served first', async () => {
    const db = s.app.store.db.kysely;
    const { fresh } = await keyWithHistory(s);
    const { repo, last } = capturingRepo(db, 'sqlite');
    expect((await repo.claimNext('w', Date.now(), 60_000))?.key_id).toBe(fresh);
    const q = last();
    const plan = (await db.executeQuery<{ id: number; parent: number; detail: string }>(
      CompiledQuery.raw(`explain query plan ${q.sql}`, [...q.parameters]))).rows;
    const subqueries = plan.filter((r) => r.detail.startsWith('CORRELATED SCALAR SUBQUERY'));
    expect(subqueries.length).toBeGreaterThan(0);
    // Each subquery is a single search of the index, ordered by it (no sort of its own).
    for (const sub of subqueries) {
      expect(plan.filter((r) => r.parent === sub.id).map((r) => r.detail))
        .toEqual(['SEARCH s USING COVERING INDEX tasks_key_started (key_id=? AND started_at>?)']);
    }
  });
});

describe.skipIf(!PG_URL)('a claim on PostgreSQL', () => {
  let s: TestServer;
  beforeAll(async () => { s = await startServer({ DATABASE_URL: PG_URL ?? '', REELAY_ROLE: 'api' }); });
  afterAll(async () => { await s?.close(); });

  it('reads one index entry per waiting key for its latest start, however long the key\'s history', async () => {
    const db = s.app.store.db.kysely;
    const { fresh } = await keyWithHistory(s);
    await sql`analyze tasks`.execute(db);
    const { repo, last } = capturingRepo(db, 'postgres');
    expect((await repo.claimNext('w', Date.now(), 60_000))?.key_id).toBe(fresh);
    // EXPLAIN ANALYZE runs the claim again (it takes the next task): its reads are counted, not estimated.
    const plan = await pgPlan(db, last());
    expect(plan.indexes).toContain('tasks_key_started');
    expect(plan.nodes).not.toContain('Seq Scan');
    // Measured 23 rows in all with the key's 3000 ended tasks: the waiting five, the claimed row, one entry per seek.
    expect(plan.rowsRead).toBeLessThan(100);
  });
});
