import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import { ACTIVE_STATUSES } from '../../domain/task-states.ts';
import type { Database, TaskRow } from './schema.ts';
import type { Dialect } from './connect.ts';

const ACTIVE = [...ACTIVE_STATUSES];

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

/** The statements of a task's upstream job: the hand-off from a worker, the poller's leases and schedule, the gauges. */
export function upstreamJobQueries(db: Kysely<Database>, dialect: Dialect) {
  return {
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
     * poller died), fair across keys: each key's most overdue job first, then
     * each key's second, and so on (most overdue first within a round), so a
     * key with many jobs due takes one place per round, not the whole round.
     * The lease also moves the job's next poll to when the lease lapses: leased
     * jobs leave the head of the index, and a job whose poller died is due
     * again exactly when another may take it.
     */
    async claimDuePolls(pollerId: string, now: number, leaseMs: number, limit: number, channel: string): Promise<UpstreamPollRow[]> {
      const due = db.selectFrom('tasks').select(['id', 'upstream_next_poll_at as due_at'])
        .select(sql<number>`row_number() over (partition by key_id order by upstream_next_poll_at, id)`.as('turn'))
        .where('status', '=', 'processing').where('upstream_channel', '=', channel).where('upstream_next_poll_at', '<=', now)
        .where('lease_expires_at', '<', now);
      const fair = db.selectFrom(due.as('d')).select('d.id').orderBy('d.turn').orderBy('d.due_at').limit(limit);
      // FOR UPDATE cannot sit on a query with a window function: the rows are locked by id around it.
      let pick = db.selectFrom('tasks').select('id').where('id', 'in', fair);
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
export function slotQueries(db: Kysely<Database>, dialect: Dialect) {
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
