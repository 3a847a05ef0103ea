import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createReelay, type Reelay } from '../../src/app.ts';
import { isApiError } from '../../src/domain/errors.ts';
import { makeImage, dataUri } from '../helpers/images.ts';
import { dialects, dropSchema, freshSchema, PG_URL } from '../helpers/databases.ts';

/**
 * Thousands of randomly interleaved submits, cancels, completions, failures,
 * worker crashes, grants and off-peak expiries against the real services on a
 * real SQLite file. After every run, for every key and task, the books balance.
 */
for (const dialect of dialects) {
describe.skipIf(!dialect.available)(`on ${dialect.name}`, () => {
let app: Reelay;
let dir: string;
let clock = Date.UTC(2026, 10, 24, 12);
let image: string;
const LEASE = 60_000;
const schema = dialect.name === 'postgres' ? freshSchema() : undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelay-ledger-'));
  const config = loadConfig({
    REELAY_DATA_DIR: dir, REELAY_ROLE: 'api', LOG_LEVEL: 'silent', REELAY_MAX_ACTIVE_TASKS_PER_KEY: '1000', REELAY_ALLOW_PRIVATE_URLS: '1',
    ...(schema ? { DATABASE_URL: PG_URL!, DATABASE_SCHEMA: schema } : {}),
  });
  app = await createReelay(config, { logger: pino({ level: 'silent' }), now: () => clock });
  image = dataUri(await makeImage(32, 18));
});
afterAll(async () => {
  await app?.close(1000);
  await rm(dir, { recursive: true, force: true });
  if (schema) await dropSchema(schema);
});

type Op =
  | { t: 'submit'; key: number; seconds: 4 | 6 | 8; size: '720p' | '1080p' | '4k'; offPeak: boolean; isRec: boolean }
  | { t: 'cancel'; task: number }
  | { t: 'claim'; worker: number }
  | { t: 'complete' | 'fail'; worker: number; pick: number }
  | { t: 'crash'; worker: number }
  | { t: 'grant'; key: number; amount: number }
  | { t: 'expire' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('submit' as const), key: fc.nat(2), seconds: fc.constantFrom(4 as const, 6 as const, 8 as const), size: fc.constantFrom('720p' as const, '1080p' as const, '4k' as const), offPeak: fc.boolean(), isRec: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('cancel' as const), task: fc.nat(40) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('claim' as const), worker: fc.nat(2) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constantFrom('complete' as const, 'fail' as const), worker: fc.nat(2), pick: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('crash' as const), worker: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('grant' as const), key: fc.nat(2), amount: fc.integer({ min: 1, max: 400 }) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'expire' as const }) },
);

let run = 0;
async function execute(ops: Op[][]) {
  run++;
  const keys = await Promise.all([0, 1, 2].map(async (i) => {
    const k = await app.keys.create(`run${run}-k${i}`);
    await app.credits.grant(k.id, 300 * (i + 1), 'start');
    return k.id;
  }));
  const tasks: string[] = [];
  // Each simulated worker remembers what it claimed; a crashed worker keeps trying to finish its old tasks.
  const workers = [0, 1, 2].map((i) => ({ id: `w${run}-${i}-a`, incarnation: 0, held: [] as string[] }));
  const swallow = (e: unknown) => { if (!isApiError(e)) throw e; };

  async function step(op: Op) {
    switch (op.t) {
      case 'submit':
        try {
          const t = await app.tasks.submit({ keyId: keys[op.key]! }, {
            model: 'veo-3.0-generate-001', prompt: 'p', aspect_ratio: '16:9', images: [image],
            seconds: op.seconds, size: op.size, off_peak: op.offPeak, is_rec: op.isRec,
          });
          tasks.push(t.id);
        } catch (e) { swallow(e); }
        break;
      case 'cancel': {
        const id = tasks[op.task % Math.max(1, tasks.length)];
        if (!id) break;
        const owner = (await app.store.tasks.find(id))!.key_id;
        await app.tasks.cancel({ keyId: owner }, id).catch(swallow);
        break;
      }
      case 'claim': {
        const w = workers[op.worker]!;
        const row = await app.store.tasks.claimNext(w.id, clock, LEASE, true);
        if (row) w.held.push(row.id);
        break;
      }
      case 'complete':
      case 'fail': {
        const w = workers[op.worker]!;
        const id = w.held[op.pick % Math.max(1, w.held.length)];
        if (!id) break;
        if (op.t === 'complete') {
          await app.lifecycle.complete(id, w.id, clock, { outputKey: 'o', thumbnailKey: 't', metadataJson: '{}', expiresAt: clock + 1000 });
        } else {
          await app.lifecycle.fail(id, w.id, clock, 'render_failed', 'x');
        }
        break;
      }
      case 'crash': {
        // The worker dies: its leases lapse, and it comes back under a new id (its old claims are lost).
        const w = workers[op.worker]!;
        clock += LEASE + 1;
        w.incarnation++;
        w.id = `w${run}-${op.worker}-${w.incarnation}`;
        break;
      }
      case 'grant':
        await app.credits.grant(keys[op.key]!, op.amount, 'top-up');
        break;
      case 'expire':
        clock += 49 * 3600 * 1000;
        await app.runMaintenance();
        break;
    }
  }

  // Ops in the same batch run concurrently: they interleave inside the services.
  for (const batch of ops) await Promise.all(batch.map(step));
  return { keys, tasks };
}

async function assertBooksBalance(keys: string[], taskIds: string[]) {
  const db = app.store.db.kysely;
  for (const keyId of keys) {
    const balance = (await app.store.ledger.balance(keyId))!;
    expect(balance).toBe(await app.store.ledger.sumOfEntries(keyId));
    expect(balance).toBeGreaterThanOrEqual(0);
  }
  for (const id of taskIds) {
    const t = (await app.store.tasks.find(id))!;
    const entries = await db.selectFrom('credit_entries').selectAll().where('task_id', '=', id).execute();
    const of = (kind: string) => entries.filter((e) => e.kind === kind);
    const reserved = Number(t.credits_reserved);
    expect(of('reserve').map((e) => Number(e.amount))).toEqual([-reserved]);
    if (t.status === 'succeeded') {
      expect(of('charge')).toHaveLength(1);
      expect(of('refund')).toHaveLength(0);
      expect([Number(t.credits_charged), Number(t.credits_refunded)]).toEqual([reserved, 0]);
    } else if (t.status === 'failed' || t.status === 'cancelled') {
      expect(of('charge')).toHaveLength(0);
      expect(of('refund').map((e) => Number(e.amount))).toEqual([reserved]);
      expect([Number(t.credits_charged), Number(t.credits_refunded)]).toEqual([0, reserved]);
    } else {
      expect(of('charge')).toHaveLength(0);
      expect(of('refund')).toHaveLength(0);
    }
    if (t.status === 'cancelled' && t.error_code === 'off_peak_expired') expect(Number(t.off_peak)).toBe(1);
  }
}

describe('ledger invariants under random interleavings (fast-check)', () => {
  it('balance = sum of entries; each task reserved once and then charged xor refunded once', async () => {
    let totalOps = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(opArb, { minLength: 1, maxLength: 4 }), { minLength: 5, maxLength: 15 }), async (ops) => {
        totalOps += ops.flat().length;
        const { keys, tasks } = await execute(ops);
        await assertBooksBalance(keys, tasks);
      }),
      { numRuns: dialect.name === 'postgres' ? 80 : 200 },
    );
    console.log(`ledger property: ${totalOps} operations on ${dialect.name}`);
    expect(totalOps).toBeGreaterThan(1000);
  }, 240_000);
});
});
}
