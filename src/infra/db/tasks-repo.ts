import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
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
        await db.insertInto('tasks').values({
          requested_model: null, ...task, reference_keys: task.reference_keys ?? '[]', extend_task_id: task.extend_task_id ?? null,
          attempts: 0, upstream_polls: 0, upstream_failures: 0,
        }).execute();
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

    ...perKeyQueries(db, dialect),

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
        ]))
        // Waiting for a slot on a self-hosted server: not before a slot may have freed.
        .where((eb) => eb.or([eb('upstream_not_before', 'is', null), eb('upstream_not_before', '<=', now)]));
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
          // A slot its dead worker had reserved is not held any more: the new attempt reserves its own.
          upstream_channel: null, upstream_not_before: null,
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
          upstream_polls: 0, upstream_failures: 0, upstream_json: null, upstream_done_at: null, lease_owner: null, lease_expires_at: 0,
        })
        .where('id', '=', id).where('lease_owner', '=', pollerId).where('status', '=', 'processing')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    ...slotQueries(db, dialect),

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
          credits_refunded: sql`credits_reserved`, upstream_not_before: null,
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

    ...endedFileQueries(db),

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

/** Any constant shared by every Reelay process: with the key's hash, the advisory lock that serialises its submits. */
const PG_SUBMIT_LOCK = 730_291_585;

/** What one key does with its own tasks: list them, and submit one at a time. */
function perKeyQueries(db: Kysely<Database>, dialect: Dialect) {
  return {
    /**
     * One page of a key's tasks, newest or oldest first, from a keyset cursor.
     * The cursor is a range on the (key_id, created_at, id) index — `created_at`
     * at or past the cursor's, then the tie broken by id — so the database
     * seeks to it and reads about `limit` rows, however many tasks the key has.
     */
    list(q: ListQuery): Promise<TaskRow[]> {
      const asc = q.order === 'asc';
      let query = db.selectFrom('tasks').selectAll().where('key_id', '=', q.keyId).where('deleted_at', 'is', null);
      if (q.status) query = query.where('status', '=', q.status);
      if (q.after) {
        const { createdAt, id } = q.after;
        query = query.where('created_at', asc ? '>=' : '<=', createdAt)
          .where((eb) => eb.or([eb('created_at', asc ? '>' : '<', createdAt), eb('id', asc ? '>' : '<', id)]));
      }
      const dir = asc ? 'asc' : 'desc';
      return query.orderBy('created_at', dir).orderBy('id', dir).limit(q.limit).execute();
    },

    /**
     * PostgreSQL: the key's advisory lock, held until the transaction ends (READ
     * COMMITTED alone lets two submits both count below the limit). SQLite: its
     * write transactions (BEGIN IMMEDIATE) already have a single writer.
     */
    async serialiseSubmits(keyId: string): Promise<void> {
      if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(${PG_SUBMIT_LOCK}, hashtext(${keyId}))`.execute(db);
    },
  };
}

/**
 * A task that still lists stored inputs, spelled as the partial index
 * tasks_files_left (migration 0011) spells it: SQLite uses a partial index
 * only for a query that repeats its terms. With `completed_at < ?` (ended).
 */
const WITH_FILES = sql<boolean>`input_keys <> '[]'`;

/**
 * The files of ended tasks (inputs; a failed or cancelled task's outputs too)
 * are removed right after the ending; `input_keys` emptied records that they
 * are gone, and the partial index lists only the tasks where that is still to do.
 */
function endedFileQueries(db: Kysely<Database>) {
  return {
    /** Ended before `endedBefore` with their files still listed, oldest first: what a crash between an ending and its file removal left. */
    endedWithFiles(endedBefore: number, limit = 100): Promise<Pick<TaskRow, 'id' | 'status'>[]> {
      return db.selectFrom('tasks').select(['id', 'status']).where(WITH_FILES).where('completed_at', '<', endedBefore)
        .orderBy('completed_at').limit(limit).execute();
    },

    /** The ended task's files are gone: it lists no inputs any more. An active task is never touched. */
    async forgetInputs(id: string): Promise<void> {
      await db.updateTable('tasks').set({ input_keys: '[]' })
        .where('id', '=', id).where('status', 'not in', ACTIVE).where('input_keys', '<>', '[]').execute();
    },

    /** Of these task ids, the ones that have ended (deleted or not): nothing will render them again. */
    async endedAmong(ids: readonly string[]): Promise<string[]> {
      if (ids.length === 0) return [];
      const rows = await db.selectFrom('tasks').select('id').where('id', 'in', [...ids]).where('status', 'not in', ACTIVE).execute();
      return rows.map((r) => r.id);
    },
  };
}

/** Any constant shared by every Reelay process: with the channel's hash, the advisory lock that serialises its slot reservations. */
const PG_SLOT_LOCK = 730_291_584;

/**
 * Jobs a channel has in flight, as its slots count them: tasks processing on
 * it whose job the server has not reported done — submitted ones, and ones
 * being submitted now (reserved under a live lease). A reservation whose
 * worker died (lease lapsed) holds nothing.
 */
function inFlightOn(eb: ExpressionBuilder<Database, 'tasks'>, channel: string, now: number, except?: string) {
  let q = eb.selectFrom('tasks as s').select((x) => x.fn.countAll<number>().as('n'))
    .where('s.status', '=', 'processing').where('s.upstream_channel', '=', channel).where('s.upstream_done_at', 'is', null)
    .where((x) => x.or([x('s.upstream_id', 'is not', null), x('s.lease_expires_at', '>=', now)]));
  if (except !== undefined) q = q.where('s.id', '<>', except);
  return q;
}

/** Tasks of `model` that wait in the queue (not held by a live worker, no upstream job yet). */
const waiting = (eb: ExpressionBuilder<Database, 'tasks'>, now: number) => eb.and([
  eb('upstream_id', 'is', null),
  eb.or([eb('status', '=', 'queued'), eb.and([eb('status', '=', 'processing'), eb('lease_expires_at', '<', now)])]),
]);

/**
 * The slots of self-hosted servers (channels with maxConcurrent): a task is
 * submitted to one only after reserving a slot, atomically across every
 * worker process; a task that finds all full waits in the queue until a slot
 * frees (or a recheck time), without spending an attempt.
 */
function slotQueries(db: Kysely<Database>, dialect: Dialect) {
  return {
    /**
     * Reserve one of `channel`'s `max` slots for a task this worker holds:
     * the task records the channel before it is submitted, so every node
     * counts it. False when all slots are taken (or the task is no longer ours).
     * One UPDATE whose count and write SQLite runs under its single writer; on
     * PostgreSQL under a per-channel advisory lock, so two nodes cannot both take the last slot.
     */
    async reserveSlot(id: string, workerId: string, channel: string, max: number, now: number): Promise<boolean> {
      const reserve = async (q: Kysely<Database>) => {
        const r = await q.updateTable('tasks').set({ upstream_channel: channel })
          .where('id', '=', id).where('lease_owner', '=', workerId).where('status', '=', 'processing')
          .where((eb) => eb(inFlightOn(eb, channel, now, id), '<', max))
          .executeTakeFirst();
        return Number(r.numUpdatedRows) === 1;
      };
      if (dialect !== 'postgres') return reserve(db);
      return db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(${PG_SLOT_LOCK}, hashtext(${channel}))`.execute(trx);
        return reserve(trx);
      });
    },

    /** Slots in use per channel (same count as reserveSlot). */
    async slotsInUse(channels: readonly string[], now: number): Promise<Record<string, number>> {
      if (channels.length === 0) return {};
      const rows = await db.selectFrom('tasks').select(['upstream_channel', (eb) => eb.fn.countAll<number>().as('n')])
        .where('status', '=', 'processing').where('upstream_channel', 'in', [...channels]).where('upstream_done_at', 'is', null)
        .where((x) => x.or([x('upstream_id', 'is not', null), x('lease_expires_at', '>=', now)]))
        .groupBy('upstream_channel').execute();
      return Object.fromEntries(rows.map((r) => [r.upstream_channel ?? '', Number(r.n)]));
    },

    /**
     * Every server of the task's model is full (or busy, or down): undo the
     * claim — the attempt is not counted, a task that had not started is
     * queued again — and hold it and the other waiting tasks of its model until
     * `notBefore`, so they are not claimed in a loop; a freed slot (wakeWaiting)
     * releases them sooner. False: the task is no longer this worker's.
     */
    async waitForSlot(id: string, workerId: string, model: string, notBefore: number, now: number): Promise<boolean> {
      const first = sql<boolean>`attempts <= 1`;
      const r = await db.updateTable('tasks')
        .set({
          status: sql`case when ${first} then 'queued' else status end`,
          started_at: sql`case when ${first} then null else started_at end`,
          attempts: sql`attempts - 1`, lease_owner: null, lease_expires_at: 0, upstream_channel: null, upstream_not_before: notBefore,
        })
        .where('id', '=', id).where('lease_owner', '=', workerId).where('status', '=', 'processing')
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      await db.updateTable('tasks').set({ upstream_not_before: notBefore })
        .where('model', '=', model).where((eb) => waiting(eb, now))
        .where((eb) => eb.or([eb('upstream_not_before', 'is', null), eb('upstream_not_before', '<', notBefore)]))
        .execute();
      return true;
    },

    /** A slot freed on a server of these models: their waiting tasks may be claimed now. Returns how many were waiting. */
    async wakeWaiting(models: readonly string[]): Promise<number> {
      if (models.length === 0) return 0;
      const r = await db.updateTable('tasks').set({ upstream_not_before: null })
        .where('upstream_not_before', 'is not', null).where('model', 'in', [...models]).where('status', 'in', ACTIVE)
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    },

    /** The server reported the job done: its slot is free while Reelay downloads. False: the task is no longer this poller's. */
    async markUpstreamDone(id: string, pollerId: string, now: number): Promise<boolean> {
      const r = await db.updateTable('tasks').set({ upstream_done_at: sql`coalesce(upstream_done_at, ${now})` })
        .where('id', '=', id).where('lease_owner', '=', pollerId).where('status', '=', 'processing')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
  };
}
