import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import { DuplicateRecordError, type Completion, type NewTask, type TaskListQuery, type TaskStore } from '../../domain/ports.ts';
import { ACTIVE_STATUSES } from '../../domain/task-states.ts';
import type { Database, TaskRow } from './schema.ts';
import type { Dialect } from './connect.ts';
import { isUniqueViolation } from './errors.ts';
import { slotQueries, upstreamJobQueries } from './tasks-upstream.ts';

// The domain declares these (src/domain/ports.ts); the names stay here for the repository's other callers.
export type { Completion, NewTask };
export type ListQuery = TaskListQuery;

export type { UpstreamHandOff, UpstreamPollRow } from './tasks-upstream.ts';

const ACTIVE = [...ACTIVE_STATUSES];

/** How many of the oldest runnable tasks a claim ranks by key (well above the default per-key active limit, 20). */
const CLAIM_WINDOW = 256;
/** Tasks in a worker's hands (no upstream job yet), spelled as the partial index tasks_in_a_worker (migration 0012) is. */
const IN_A_WORKER = sql<boolean>`status = 'processing' and upstream_id is null`;

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
     * Take the next runnable task: queued, or processing with a lapsed lease
     * (its worker died). Fair across keys: of the oldest CLAIM_WINDOW runnable
     * tasks, the one whose key has the fewest tasks in a worker's hands goes
     * first; among equals, the key served least recently (the latest start of
     * its tasks), then the oldest — so one key's backlog (at most its
     * active-task limit) delays another key's task by one render, not by the
     * whole backlog, also with one worker slot, where no key holds a task at
     * claim time. Off-peak tasks sort behind normal ones unless the
     * off-peak window is open, so outside it they run only when no normal task waits.
     */
    async claimNext(workerId: string, now: number, leaseMs: number, offPeakOpen = true): Promise<TaskRow | undefined> {
      // Each part is read in index order and stops early: a claim costs the same at ten or ten thousand queued.
      const notWaiting = (eb: ExpressionBuilder<Database, 'tasks'>) => eb.or([eb('upstream_not_before', 'is', null), eb('upstream_not_before', '<=', now)]);
      const columns = ['id', 'key_id', 'created_at', 'off_peak'] as const;
      let queued = db.selectFrom('tasks').select(columns).where('status', '=', 'queued')
        // Waiting for a slot on a self-hosted server: not before a slot may have freed.
        .where(notWaiting);
      if (!offPeakOpen) queued = queued.orderBy('off_peak');
      queued = queued.orderBy('created_at').orderBy('id').limit(CLAIM_WINDOW);
      // Tasks whose worker died (lease lapsed) — few, so not ordered: an ORDER BY had PostgreSQL walk every
      // processing task by creation time. One with an upstream job is the poller's, which takes it over.
      const orphaned = db.selectFrom('tasks').select(columns).where(IN_A_WORKER).where('lease_expires_at', '<', now).where(notWaiting)
        .limit(CLAIM_WINDOW);
      const oldest = db.selectFrom(queued.as('q')).selectAll().unionAll(db.selectFrom(orphaned.as('o')).selectAll());
      const inWorkers = db.selectFrom('tasks').select(['key_id', (eb) => eb.fn.countAll<number>().as('n')])
        .where(IN_A_WORKER).where('lease_expires_at', '>=', now).groupBy('key_id');
      // One seek per candidate, down tasks_key_started from the key's latest start; 0 for a key never served.
      const served = sql<number>`coalesce((select s.started_at from tasks s where s.key_id = w.key_id and s.started_at is not null
        order by s.started_at desc limit 1), 0)`;
      let ranked = db.selectFrom(oldest.as('w')).leftJoin(inWorkers.as('r'), 'r.key_id', 'w.key_id')
        .select(['w.id', 'w.created_at', 'w.off_peak', sql<number>`coalesce(r.n, 0)`.as('busy'), served.as('served')]);
      if (!offPeakOpen) ranked = ranked.orderBy('w.off_peak');
      // A few of the best, so claimers racing on PostgreSQL skip a locked one for the next instead of finding none.
      ranked = ranked.orderBy('busy').orderBy('served').orderBy('w.created_at').orderBy('w.id').limit(16);
      // The runnable test again on the locked row itself: PostgreSQL re-checks it after waiting for a claimer that
      // committed meanwhile, so a row just taken is passed over for the next instead of ending the claim empty.
      let runnable = db.selectFrom('tasks as t').innerJoin(ranked.as('c'), 'c.id', 't.id').select('t.id')
        .where((eb) => eb.or([
          eb('t.status', '=', 'queued'),
          eb.and([eb('t.status', '=', 'processing'), eb('t.lease_expires_at', '<', now), eb('t.upstream_id', 'is', null)]),
        ]));
      if (!offPeakOpen) runnable = runnable.orderBy('c.off_peak');
      runnable = runnable.orderBy('c.busy').orderBy('c.served').orderBy('c.created_at').orderBy('c.id').limit(1);
      const pick = dialect === 'postgres' ? runnable.forUpdate('t').skipLocked() : runnable;
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

    ...upstreamJobQueries(db, dialect),
    ...slotQueries(db, dialect),

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
