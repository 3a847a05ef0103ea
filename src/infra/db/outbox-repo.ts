import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { NewWebhookEvent, OutboxStore } from '../../domain/ports.ts';
import type { Database } from './schema.ts';
import type { Dialect } from './connect.ts';

export type NewEvent = NewWebhookEvent;

export interface AttemptRecord {
  eventId: string;
  at: number;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  success: boolean;
}

export { newEventId } from '../../domain/ids.ts';

/** The webhook outbox and its delivery log; claims use a lease, like the task queue. */
export function outboxRepo(db: Kysely<Database>, dialect: Dialect) {
  const repo = {
    async insert(e: NewEvent): Promise<void> {
      await db.insertInto('webhook_events').values({ ...e, status: 'pending', attempts: 0, next_attempt_at: e.created_at }).execute();
    },

    /**
     * Claim one due event (or one whose claimer died mid-delivery), skipping
     * the keys in `skipKeys` (those already at their share of the dispatcher).
     */
    async claimDue(owner: string, now: number, leaseMs: number, skipKeys: readonly string[] = []) {
      let due = db.selectFrom('webhook_events').select('id')
        .where('status', '=', 'pending').where('next_attempt_at', '<=', now)
        .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', now)]))
        .orderBy('next_attempt_at').limit(1);
      if (skipKeys.length) due = due.where('key_id', 'not in', [...skipKeys]);
      if (dialect === 'postgres') due = due.forUpdate().skipLocked();
      return db.updateTable('webhook_events')
        .set({ lease_owner: owner, lease_expires_at: now + leaseMs, attempts: sql`attempts + 1` })
        .where('id', '=', (eb) => eb.selectFrom(due.as('d')).select('d.id'))
        .where('status', '=', 'pending')
        .returningAll().executeTakeFirst();
    },

    async recordAttempt(a: AttemptRecord): Promise<void> {
      await db.insertInto('webhook_attempts').values({
        id: `att_${randomBytes(10).toString('hex')}`, event_id: a.eventId, attempted_at: a.at, status_code: a.statusCode,
        latency_ms: a.latencyMs, error: a.error, success: a.success ? 1 : 0,
      }).execute();
    },

    async markDelivered(id: string, owner: string, now: number): Promise<void> {
      await db.updateTable('webhook_events').set({ status: 'delivered', delivered_at: now, lease_owner: null, lease_expires_at: null })
        .where('id', '=', id).where('lease_owner', '=', owner).execute();
    },

    async reschedule(id: string, owner: string, at: number): Promise<void> {
      await db.updateTable('webhook_events').set({ next_attempt_at: at, lease_owner: null, lease_expires_at: null })
        .where('id', '=', id).where('lease_owner', '=', owner).execute();
    },

    async markFailed(id: string, owner: string): Promise<void> {
      await db.updateTable('webhook_events').set({ status: 'failed', lease_owner: null, lease_expires_at: null })
        .where('id', '=', id).where('lease_owner', '=', owner).execute();
    },

    /** Manual redelivery: the same event (same webhook-id) goes out again now. */
    async requeue(id: string, now: number): Promise<boolean> {
      const r = await db.updateTable('webhook_events').set({ status: 'pending', next_attempt_at: now, lease_owner: null, lease_expires_at: null })
        .where('id', '=', id).where((eb) => eb.or([eb('status', '!=', 'pending'), eb('lease_owner', 'is', null)])).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    forTask(taskId: string) {
      return db.selectFrom('webhook_events').selectAll().where('task_id', '=', taskId).orderBy('created_at').execute();
    },
    find(id: string) {
      return db.selectFrom('webhook_events').selectAll().where('id', '=', id).executeTakeFirst();
    },
    attempts(eventIds: string[]) {
      if (eventIds.length === 0) return Promise.resolve([]);
      return db.selectFrom('webhook_attempts').selectAll().where('event_id', 'in', eventIds).orderBy('attempted_at').orderBy('id').execute();
    },
    async countByStatus(): Promise<Record<string, number>> {
      const rows = await db.selectFrom('webhook_events').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
      return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    },
  };
  return repo satisfies OutboxStore;
}

export type OutboxRepo = ReturnType<typeof outboxRepo>;
