import { sql, type Kysely } from 'kysely';
import { DuplicateRecordError, type Completion, type NewTask, type TaskListQuery, type TaskStore } from '../../domain/ports.ts';
import { ACTIVE_STATUSES } from '../../domain/task-states.ts';
import type { Database, TaskRow } from './schema.ts';
import type { Dialect } from './connect.ts';
import { isUniqueViolation } from './errors.ts';

// The domain declares these (src/domain/ports.ts); the names stay here for the repository's other callers.
export type { Completion, NewTask };
export type ListQuery = TaskListQuery;

/** What the upstream poller needs of a task (not the whole row: it reads thousands a second). */
export type UpstreamPollRow = Pick<TaskRow, 'id' | 'model' | 'seed' | 'upstream_channel' | 'upstream_id' | 'upstream_submitted_at' |
  'upstream_polls' | 'upstream_failures' | 'upstream_json' | 'attempts' | 'off_peak'>;

export interface UpstreamHandOff {
  channel: string;
  provider: string;
  upstreamId: string;
  submittedAt: number;
  nextPollAt: number;
  json: string;
}

const ACTIVE = [...ACTIVE_STATUSES];

/**
 * Every statement that touches `tasks`. State changes are guarded by the
 * status they expect (and the lease owner for a worker), so only the moves of
 * src/domain/task-states.ts happen and racing writers — a cancel and a
 * completion, two workers after a lease lapsed — resolve to exactly one
 * winner: the other's UPDATE matches no row.
 */
export function tasksRepo(db: Kysely<Database>, dialect: Dialect) {
  const repo = {
    async insert(task: NewTask & { requested_model?: string | null }): Promise<void> {
      try {
        await db.insertInto('tasks').values({ requested_model: null, ...task, attempts: 0, upstream_polls: 0, upstream_failures: 0 }).execute();
      } catch (e) {
        // A racing submit with the same Idempotency-Key inserted first: the domain replays the winner.
        if (isUniqueViolation(e)) throw new DuplicateRecordError(`task ${task.id}: a unique key is already taken`, { cause: e });
        throw e;
      }
    },

    find(id: string, keyId?: string): Promise<TaskRow | undefined> {
      let q = db.selectFrom('tasks').selectAll().where('id', '=', id).where('deleted_at', 'is', null);
      if (keyId !== undefined) q = q.where('key_id', '=', keyId);
      return q.executeTakeFirst();
    },

    findByIdempotencyKey(keyId: string, idempotencyKey: string): Promise<TaskRow | undefined> {
      return db.selectFrom('tasks').selectAll()
        .where('key_id', '=', keyId).where('idempotency_key', '=', idempotencyKey)
        .executeTakeFirst();
    },

    /** Idempotency keys are honoured for 24 h; after that the key may name a new task. */
    async releaseIdempotencyKey(keyId: string, idempotencyKey: string, olderThan: number): Promise<void> {
      await db.updateTable('tasks').set({ idempotency_key: null })
        .where('key_id', '=', keyId).where('idempotency_key', '=', idempotencyKey).where('created_at', '<', olderThan)
        .execute();
    },

    async list(q: ListQuery): Promise<TaskRow[]> {
      let query = db.selectFrom('tasks').selectAll().where('key_id', '=', q.keyId).where('deleted_at', 'is', null);
      if (q.status) query = query.where('status', '=', q.status);
      if (q.after) {
        const { createdAt, id } = q.after;
        query = query.where((eb) => eb.or([
          eb('created_at', '<', createdAt),
          eb.and([eb('created_at', '=', createdAt), eb('id', '<', id)]),
        ]));
      }
      return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
    },

    /**
     * Take the oldest runnable task: queued, or processing with a lapsed lease
     * (its worker died). Off-peak tasks sort behind normal ones unless the
     * off-peak window is open, so outside it they run only when no normal task waits.
     */
    async claimNext(workerId: string, now: number, leaseMs: number, offPeakOpen = true): Promise<TaskRow | undefined> {
      let runnable = db.selectFrom('tasks').select('id')
        .where((eb) => eb.or([
          eb('status', '=', 'queued'),
          // A task with an upstream job belongs to the poller, which takes it over on a lapsed lease.
          eb.and([eb('status', '=', 'processing'), eb('lease_expires_at', '<', now), eb('upstream_id', 'is', null)]),
        ]));
      if (!offPeakOpen) runnable = runnable.orderBy('off_peak');
      runnable = runnable.orderBy('created_at').orderBy('id').limit(1);
      const pick = dialect === 'postgres' ? runnable.forUpdate().skipLocked() : runnable;
      return db.updateTable('tasks')
        .set({
          status: 'processing',
          lease_owner: workerId,
          lease_expires_at: now + leaseMs,
          attempts: sql`attempts + 1`,
          started_at: sql`coalesce(started_at, ${now})`,
        })
        .where('id', '=', (eb) => eb.selectFrom(pick.as('p')).select('p.id'))
        .where((eb) => eb.or([
          eb('status', '=', 'queued'),
          eb.and([eb('status', '=', 'processing'), eb('lease_expires_at', '<', now), eb('upstream_id', 'is', null)]),
        ]))
        .returningAll()
        .executeTakeFirst();
    },

    /**
     * The worker's submit succeeded: record the upstream job and give up the
     * lease, so the poller (on any node) takes over. False: the task ended meanwhile.
     */
    async handOffToPoller(id: string, workerId: string, u: UpstreamHandOff): Promise<boolean> {
      const r = await db.updateTable('tasks')
        .set({
          provider: u.provider, upstream_channel: u.channel, upstream_id: u.upstreamId, upstream_submitted_at: u.submittedAt,
          upstream_next_poll_at: u.nextPollAt, upstream_polls: 0, upstream_failures: 0, upstream_json: u.json,
          lease_owner: null, lease_expires_at: 0,
        })
        .where('id', '=', id).where('lease_owner', '=', workerId).where('status', '=', 'processing')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    /**
     * Lease up to `limit` of one channel's upstream jobs that are due (or whose
     * poller died), most overdue first. The lease also moves the job's next
     * poll to when the lease lapses: leased jobs leave the head of the index,
     * and a job whose poller died is due again exactly when another may take it.
     */
    async claimDuePolls(pollerId: string, now: number, leaseMs: number, limit: number, channel: string): Promise<UpstreamPollRow[]> {
      let pick = db.selectFrom('tasks').select('id')
        .where('status', '=', 'processing').where('upstream_channel', '=', channel).where('upstream_next_poll_at', '<=', now)
        .where('lease_expires_at', '<', now)
        .orderBy('upstream_next_poll_at').limit(limit);
      if (dialect === 'postgres') pick = pick.forUpdate().skipLocked();
      // The outer UPDATE matches by id only, so it goes through the primary key; the
      // picked rows are locked (PostgreSQL) or the writer is alone (SQLite).
      const rows = await db.updateTable('tasks')
        .set({ lease_owner: pollerId, lease_expires_at: now + leaseMs, upstream_next_poll_at: now + leaseMs })
        .where('id', 'in', (eb) => eb.selectFrom(pick.as('p')).select('p.id'))
        .where('lease_expires_at', '<', now)
        .returning(['id', 'model', 'seed', 'upstream_channel', 'upstream_id', 'upstream_submitted_at', 'upstream_polls', 'upstream_failures', 'upstream_json', 'attempts', 'off_peak'])
        .execute();
      return rows as UpstreamPollRow[];
    },

    /**
     * Upstream jobs no poller here can follow — their channel is not configured
     * (renamed, removed, or no channels at all) — once they are past `submittedBefore`:
     * leased to `owner` so exactly one node ends them.
     */
    async claimOrphanedUpstream(owner: string, now: number, leaseMs: number, submittedBefore: number, knownChannels: string[], limit = 100): Promise<string[]> {
      let pick = db.selectFrom('tasks').select('id')
        .where('status', '=', 'processing').where('upstream_id', 'is not', null).where('lease_expires_at', '<', now)
        .where('upstream_submitted_at', '<', submittedBefore).limit(limit);
      if (knownChannels.length) pick = pick.where('upstream_channel', 'not in', knownChannels);
      if (dialect === 'postgres') pick = pick.forUpdate().skipLocked();
      const rows = await db.updateTable('tasks')
        .set({ lease_owner: owner, lease_expires_at: now + leaseMs })
        .where('id', 'in', (eb) => eb.selectFrom(pick.as('p')).select('p.id'))
        .where('lease_expires_at', '<', now)
        .returning(['id']).execute();
      return rows.map((r) => r.id);
    },

    /** After a poll that did not finish the job: when to poll next, and hand the lease back. False: the task ended meanwhile. */
    async reschedulePoll(id: string, pollerId: string, s: {
      nextPollAt: number; polls: number; failures: number; progress: number;
      /** The next-poll time the claim set; an earlier one now means a callback asked for a poll meanwhile. */
      claimedNextPollAt?: number;
    }): Promise<boolean> {
      const p = Math.max(0, Math.min(99, Math.floor(s.progress)));
      // A callback during this poll moved next_poll_at before the claim's value: keep it (poll again now) rather than lose it.
      const next = s.claimedNextPollAt === undefined ? sql<number>`${s.nextPollAt}`
        : sql<number>`case when upstream_next_poll_at < ${s.claimedNextPollAt} then upstream_next_poll_at else ${s.nextPollAt} end`;
      const r = await db.updateTable('tasks')
        .set({
          upstream_next_poll_at: next, upstream_polls: s.polls, upstream_failures: s.failures,
          progress: sql`case when progress < ${p} then ${p} else progress end`, lease_owner: null, lease_expires_at: 0,
        })
        .where('id', '=', id).where('lease_owner', '=', pollerId).where('status', '=', 'processing')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    /**
     * The upstream lost the job (forgot it in a restart) or its channel is at
     * fault: forget the job and give the task back to the queue, still
     * processing with a lapsed lease, so a worker submits it again (to
     * another channel if this one rests). False: not ours any more.
     */
    async requeueUpstream(id: string, pollerId: string): Promise<boolean> {
      const r = await db.updateTable('tasks')
        .set({
          upstream_channel: null, upstream_id: null, upstream_submitted_at: null, upstream_next_poll_at: null,
          upstream_polls: 0, upstream_failures: 0, upstream_json: null, lease_owner: null, lease_expires_at: 0,
        })
        .where('id', '=', id).where('lease_owner', '=', pollerId).where('status', '=', 'processing')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    /** Upstream jobs in flight per channel (for `reelay channels`). */
    async upstreamInFlight(): Promise<Record<string, number>> {
      const rows = await db.selectFrom('tasks').select(['upstream_channel', (eb) => eb.fn.countAll<number>().as('n')])
        .where('status', '=', 'processing').where('upstream_id', 'is not', null).groupBy('upstream_channel').execute();
      return Object.fromEntries(rows.map((r) => [r.upstream_channel ?? '', Number(r.n)]));
    },

    /** An upstream said the job changed (a verified callback): poll it now instead of at its scheduled time. */
    async pollSoon(id: string, now: number): Promise<boolean> {
      const r = await db.updateTable('tasks').set({ upstream_next_poll_at: now })
        .where('id', '=', id).where('status', '=', 'processing').where('upstream_id', 'is not', null)
        .where('upstream_next_poll_at', '>', now)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    /** In-flight upstream jobs by channel (a gauge) and the oldest overdue poll (how far the poller lags). */
    async upstreamBacklog(now: number): Promise<{ inFlight: number; oldestDueAt: number | null }> {
      const r = await db.selectFrom('tasks')
        .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.min<number>('upstream_next_poll_at').as('t')])
        .where('status', '=', 'processing').where('upstream_id', 'is not', null).executeTakeFirst();
      const t = r?.t == null ? null : Number(r.t);
      return { inFlight: Number(r?.n ?? 0), oldestDueAt: t !== null && t <= now ? t : null };
    },

    /** Extends the lease; false means the task was cancelled or taken over, so the worker must stop. */
    async renewLease(id: string, workerId: string, until: number): Promise<boolean> {
      const r = await db.updateTable('tasks').set({ lease_expires_at: until })
        .where('id', '=', id).where('lease_owner', '=', workerId).where('status', '=', 'processing')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    /** Progress never decreases, even when a re-run after a crash starts again from 0. */
    async reportProgress(id: string, workerId: string, progress: number): Promise<void> {
      const p = Math.max(0, Math.min(99, Math.floor(progress)));
      await db.updateTable('tasks')
        .set({ progress: sql`case when progress < ${p} then ${p} else progress end` })
        .where('id', '=', id).where('lease_owner', '=', workerId).where('status', '=', 'processing')
        .execute();
    },

    /** The terminal transitions return the updated row, or undefined when another writer ended the task first. */
    complete(id: string, workerId: string, now: number, c: Completion): Promise<TaskRow | undefined> {
      return db.updateTable('tasks')
        .set({
          status: 'succeeded', progress: 100, completed_at: now, expires_at: c.expiresAt,
          output_key: c.outputKey, thumbnail_key: c.thumbnailKey, metadata_json: c.metadataJson,
          lease_owner: null, lease_expires_at: null, credits_charged: sql`credits_reserved`,
        })
        .where('id', '=', id).where('lease_owner', '=', workerId).where('status', '=', 'processing')
        .returningAll().executeTakeFirst();
    },

    fail(id: string, workerId: string, now: number, code: string, message: string): Promise<TaskRow | undefined> {
      return db.updateTable('tasks')
        .set({
          status: 'failed', completed_at: now, error_code: code, error_message: message, lease_owner: null, lease_expires_at: null,
          credits_refunded: sql`credits_reserved`,
        })
        .where('id', '=', id).where('lease_owner', '=', workerId).where('status', '=', 'processing')
        .returningAll().executeTakeFirst();
    },

    /** Hand a task back to the queue (graceful shutdown): another worker picks it up at once. */
    async release(id: string, workerId: string): Promise<void> {
      await db.updateTable('tasks').set({ lease_expires_at: 0 })
        .where('id', '=', id).where('lease_owner', '=', workerId).where('status', '=', 'processing')
        .execute();
    },

    /** Cancel an active task; `keyId` restricts it to its owner (a user's cancel), omitted for system expiry. */
    cancel(id: string, keyId: string | null, now: number, code: string, message: string): Promise<TaskRow | undefined> {
      let q = db.updateTable('tasks')
        .set({
          status: 'cancelled', completed_at: now, error_code: code, error_message: message, lease_owner: null, lease_expires_at: null,
          credits_refunded: sql`credits_reserved`,
        })
        .where('id', '=', id).where('status', 'in', ACTIVE);
      if (keyId !== null) q = q.where('key_id', '=', keyId);
      return q.returningAll().executeTakeFirst();
    },

    /** Succeeded tasks whose outputs are past expires_at and still stored. */
    async expiredOutputs(now: number, limit = 100): Promise<string[]> {
      const rows = await db.selectFrom('tasks').select('id')
        .where('status', '=', 'succeeded').where('expires_at', '<', now).where('output_key', 'is not', null)
        .orderBy('expires_at').limit(limit).execute();
      return rows.map((r) => r.id);
    },

    /** Claim-by-row: only the node whose UPDATE wins deletes the files, so many nodes can run this at once. */
    async forgetOutputs(id: string): Promise<boolean> {
      const r = await db.updateTable('tasks').set({ output_key: null, thumbnail_key: null })
        .where('id', '=', id).where('output_key', 'is not', null).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    async countActive(keyId: string): Promise<number> {
      const r = await db.selectFrom('tasks').select((eb) => eb.fn.countAll<number>().as('n'))
        .where('key_id', '=', keyId).where('status', 'in', ACTIVE).executeTakeFirst();
      return Number(r?.n ?? 0);
    },

    /** Off-peak tasks created before `createdBefore` that have not ended (API.md §8: 48 h). */
    async expiredOffPeak(createdBefore: number, limit = 100): Promise<string[]> {
      const rows = await db.selectFrom('tasks').select('id')
        .where('off_peak', '=', 1).where('status', 'in', ACTIVE).where('created_at', '<', createdBefore)
        .orderBy('created_at').limit(limit).execute();
      return rows.map((r) => r.id);
    },

    async countByStatus(): Promise<Record<string, number>> {
      const rows = await db.selectFrom('tasks').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
      return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    },

    async oldestQueuedAt(): Promise<number | null> {
      const r = await db.selectFrom('tasks').select((eb) => eb.fn.min<number>('created_at').as('t')).where('status', '=', 'queued').executeTakeFirst();
      return r?.t == null ? null : Number(r.t);
    },

    /**
     * The owner deletes an ended task: from then on `find` and `list` skip it.
     * Active tasks are refused (cancel first), so a worker never renders a deleted one.
     * False when it is not this key's, still active, or already deleted.
     */
    async markDeleted(id: string, keyId: string, now: number): Promise<boolean> {
      const r = await db.updateTable('tasks').set({ deleted_at: now })
        .where('id', '=', id).where('key_id', '=', keyId).where('deleted_at', 'is', null).where('status', 'not in', ACTIVE)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
  };
  return repo satisfies TaskStore;
}

export type TasksRepo = ReturnType<typeof tasksRepo>;
