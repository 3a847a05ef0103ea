import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/infra/db/connect.ts';
import { dialects } from '../helpers/databases.ts';
import { migrateToLatest } from '../../src/infra/db/migrate.ts';
import { tasksRepo, type NewTask, type TasksRepo } from '../../src/infra/db/tasks-repo.ts';
import { keysRepo } from '../../src/infra/db/keys-repo.ts';

/** The store/queue contract: the same suite on SQLite and on PostgreSQL. */
for (const dialect of dialects) {
describe.skipIf(!dialect.available)(`tasks repository on ${dialect.name}`, () => {
let db: Db;
let drop: () => Promise<void>;
let schema: string | undefined;
let repo: TasksRepo;

function task(id: string, createdAt: number): NewTask {
  return {
    id, key_id: 'key_a', model: 'veo-2.0-generate-001', provider: 'local', status: 'queued', progress: 0, prompt: 'p',
    negative_prompt: null, aspect_ratio: '16:9', seconds: 5, size: '720p', width: 1280, height: 720, seed: null,
    generate_audio: 0, off_peak: 0, is_rec: 0, callback_url: null, options_json: '{}', input_keys: '[]',
    credits_reserved: 0, credits_charged: 0, credits_refunded: 0, created_at: createdAt, idempotency_key: null, request_hash: null, optimized_prompt: null,
  };
}
const done = { outputKey: 'o', thumbnailKey: 't', metadataJson: '{}', expiresAt: 0 };

beforeEach(async () => {
  ({ db, drop, schema } = await dialect.open());
  await migrateToLatest(db.kysely, schema);
  await keysRepo(db.kysely).insert({ id: 'key_a', name: 'a', key_hash: 'h', key_prefix: 'p', webhook_secret: 'w', created_at: 0, revoked_at: null });
  repo = tasksRepo(db.kysely, db.dialect);
});
afterEach(async () => {
  await drop();
});

describe('migrations', () => {
  it('apply once; running them again is a no-op', async () => {
    expect(await migrateToLatest(db.kysely, schema)).toEqual([]);
  });
});

describe('the tasks table as a queue', () => {
  it('claims oldest first and never hands one task to two workers', async () => {
    await repo.insert(task('t1', 1));
    await repo.insert(task('t2', 2));
    // Three at once: each task goes to exactly one worker (which worker's query runs first is up to the pool).
    const [a, b, c] = await Promise.all([repo.claimNext('w1', 100, 1000), repo.claimNext('w2', 100, 1000), repo.claimNext('w3', 100, 1000)]);
    const claimed = [a, b, c].filter(Boolean);
    expect(claimed.map((t) => t!.id).sort()).toEqual(['t1', 't2']);
    expect(claimed.every((t) => t!.attempts === 1)).toBe(true);
    // One at a time: the oldest first.
    await repo.insert(task('t3', 3));
    await repo.insert(task('t4', 4));
    expect((await repo.claimNext('w4', 100, 1000))?.id).toBe('t3');
    expect((await repo.claimNext('w5', 100, 1000))?.id).toBe('t4');
  });

  it('re-claims a task whose lease lapsed, and the old owner can no longer complete it', async () => {
    await repo.insert(task('t1', 1));
    await repo.claimNext('dead', 100, 1000);
    expect(await repo.claimNext('w2', 500, 1000)).toBeUndefined(); // lease still valid
    const again = await repo.claimNext('w2', 1200, 1000);
    expect(again?.id).toBe('t1');
    expect(again?.attempts).toBe(2);
    expect(again?.started_at).toBe(100);
    expect(await repo.complete('t1', 'dead', 1300, done)).toBeUndefined();
    expect(await repo.renewLease('t1', 'dead', 5000)).toBe(false);
    expect(await repo.complete('t1', 'w2', 1300, done)).toBeDefined();
    expect((await repo.find('t1'))?.status).toBe('succeeded');
  });

  it('progress never decreases and stays below 100 until success', async () => {
    await repo.insert(task('t1', 1));
    await repo.claimNext('w', 0, 1000);
    await repo.reportProgress('t1', 'w', 40);
    await repo.reportProgress('t1', 'w', 10);
    expect((await repo.find('t1'))?.progress).toBe(40);
    await repo.reportProgress('t1', 'w', 100);
    expect((await repo.find('t1'))?.progress).toBe(99);
  });

  it('cancel and completion race: exactly one terminal state wins', async () => {
    for (let i = 0; i < 50; i++) {
      const id = `r${i}`;
      await repo.insert(task(id, i));
      await repo.claimNext('w', 0, 100_000);
      const [cancelled, completed] = await Promise.all([
        repo.cancel(id, 'key_a', 10, 'cancelled', 'by user'),
        repo.complete(id, 'w', 10, done),
      ]);
      expect(Number(Boolean(cancelled)) + Number(Boolean(completed))).toBe(1);
      const row = await repo.find(id);
      expect(row?.status).toBe(cancelled ? 'cancelled' : 'succeeded');
      // An ended task never changes again.
      expect(await repo.cancel(id, 'key_a', 11, 'cancelled', 'again')).toBeUndefined();
      expect(await repo.fail(id, 'w', 11, 'x', 'y')).toBeUndefined();
    }
  });

  it('off-peak tasks wait behind normal ones outside the window, and run when nothing else waits', async () => {
    await repo.insert({ ...task('off', 1), off_peak: 1 });
    await repo.insert(task('normal', 2));
    expect((await repo.claimNext('w', 10, 1000, false))?.id).toBe('normal');
    expect((await repo.claimNext('w', 10, 1000, false))?.id).toBe('off');
    await repo.insert({ ...task('off2', 3), off_peak: 1 });
    await repo.insert(task('normal2', 4));
    // Inside the window it is plain first-come, first-served.
    expect((await repo.claimNext('w', 10, 1000, true))?.id).toBe('off2');
  });

  it('is fair across keys: a key with fewer tasks rendering goes before an older backlog of another key', async () => {
    await keysRepo(db.kysely).insert({ id: 'key_b', name: 'b', key_hash: 'hb', key_prefix: 'pb', webhook_secret: 'w', created_at: 0, revoked_at: null });
    for (let i = 1; i <= 4; i++) await repo.insert(task(`a${i}`, i));
    await repo.insert({ ...task('b1', 10), key_id: 'key_b' });
    await repo.insert({ ...task('b2', 11), key_id: 'key_b' });
    const order: string[] = [];
    for (let i = 0; i < 6; i++) order.push((await repo.claimNext(`w${i}`, 100, 1000))!.id);
    // Plain FIFO would be a1 a2 a3 a4 b1 b2: key_b would wait for key_a's whole backlog.
    expect(order).toEqual(['a1', 'b1', 'a2', 'b2', 'a3', 'a4']);
  });

  it('is fair across keys with one slot: each claim, after the last render ended, goes to the key served least recently', async () => {
    // One worker slot (the default on a 2-core machine): at every claim no key holds a task, so counting tasks in
    // workers alone left plain FIFO, and key_b waited for key_a's whole backlog, one render after another.
    await keysRepo(db.kysely).insert({ id: 'key_b', name: 'b', key_hash: 'hb', key_prefix: 'pb', webhook_secret: 'w', created_at: 0, revoked_at: null });
    for (let i = 1; i <= 4; i++) await repo.insert(task(`a${i}`, i));
    await repo.insert({ ...task('b1', 10), key_id: 'key_b' });
    await repo.insert({ ...task('b2', 11), key_id: 'key_b' });
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      const at = 100 * (i + 1);
      const t = (await repo.claimNext('w', at, 50))!;
      order.push(t.id);
      // Cancelled, failed or done: the slot is free again before the next claim.
      const ended = i % 2 ? await repo.fail(t.id, 'w', at + 10, 'render_failed', 'x') : await repo.complete(t.id, 'w', at + 10, done);
      expect(ended?.id).toBe(t.id);
    }
    expect(order).toEqual(['a1', 'b1', 'a2', 'b2', 'a3', 'a4']);
  });

  it('counts only tasks a live worker holds: a lapsed lease or an upstream job does not push a key back', async () => {
    await keysRepo(db.kysely).insert({ id: 'key_b', name: 'b', key_hash: 'hb', key_prefix: 'pb', webhook_secret: 'w', created_at: 0, revoked_at: null });
    await repo.insert(task('a1', 1));
    await repo.insert(task('a2', 2));
    await repo.insert({ ...task('b0', 3), key_id: 'key_b' });
    await repo.insert({ ...task('b1', 4), key_id: 'key_b' });
    await repo.claimNext('w1', 100, 1000); // a1, lease until 1100
    // key_b is served after key_a, so below only a count of tasks in workers can put key_a behind it.
    expect((await repo.claimNext('wb', 150, 1000))?.id).toBe('b0');
    await repo.complete('b0', 'wb', 160, done);
    // At 1200 a1's worker is gone: key_a renders nothing (its lapsed lease is not counted), so the oldest runnable task (a1 itself) comes first.
    expect((await repo.claimNext('w2', 1200, 1000))?.id).toBe('a1');
    // a1 handed to the poller: it holds no worker, so key_a and key_b both render nothing; a2 is older.
    expect(await repo.handOffToPoller('a1', 'w2', { provider: 'vidu', channel: 'c', upstreamId: 'u', submittedAt: 1200, nextPollAt: 5000, json: '{}' })).toBe(true);
    expect((await repo.claimNext('w3', 1300, 1000))?.id).toBe('a2');
    expect((await repo.claimNext('w4', 1300, 1000))?.id).toBe('b1');
  });

  it('upstream polls are fair across keys: each key’s most overdue job first, then each key’s next', async () => {
    await keysRepo(db.kysely).insert({ id: 'key_b', name: 'b', key_hash: 'hb', key_prefix: 'pb', webhook_secret: 'w', created_at: 0, revoked_at: null });
    const jobs = [['a1', 'key_a', 100], ['a2', 'key_a', 101], ['a3', 'key_a', 102], ['a4', 'key_a', 103], ['b1', 'key_b', 200]] as const;
    for (const [id, key, dueAt] of jobs) {
      await repo.insert({ ...task(id, dueAt), key_id: key });
      expect((await repo.claimNext('w', 10, 1000))?.id).toBe(id);
      await repo.handOffToPoller(id, 'w', { provider: 'vidu', channel: 'c', upstreamId: `u-${id}`, submittedAt: 10, nextPollAt: dueAt, json: '{}' });
    }
    const ids = async (p: string) => (await repo.claimDuePolls(p, 1000, 30_000, 2, 'c')).map((r) => r.id).sort();
    // Most-overdue-first alone would give a1 and a2: key_b's job would wait behind key_a's whole backlog.
    expect(await ids('p1')).toEqual(['a1', 'b1']);
    expect(await ids('p2')).toEqual(['a2', 'a3']);
    expect(await ids('p3')).toEqual(['a4']);
  });

  it('release hands a task back for immediate re-claim', async () => {
    await repo.insert(task('t1', 1));
    await repo.claimNext('w1', 100, 60_000);
    await repo.release('t1', 'w1');
    expect((await repo.claimNext('w2', 101, 60_000))?.id).toBe('t1');
  });
});
});
}
