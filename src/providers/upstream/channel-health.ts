import type { UpstreamFailure } from '../../domain/failures.ts';
import type { ChannelHealthRow } from '../../infra/db/schema.ts';

/** One row of channel health: the channel as a whole (upstream_model '') or one upstream model on it (the table of migration 0007). */
export type HealthRow = ChannelHealthRow;

export interface HealthStore {
  all(): Promise<HealthRow[]>;
  save(row: HealthRow): Promise<void>;
}

export interface RestPolicy {
  /** First cool-down; each rest in a row doubles it… */
  restMs: number;
  /** …up to this. */
  restMaxMs: number;
  /** Transient failures in a row (5xx, timeouts) that rest a channel. */
  failuresToRest: number;
}

const blank = (channel: string, upstreamModel: string): HealthRow => ({
  channel, upstream_model: upstreamModel, failures: 0, rests: 0, rest_until: null,
  last_error_code: null, last_error: null, last_error_at: null, last_success_at: null,
});

const rest = (row: HealthRow, f: UpstreamFailure, now: number, p: RestPolicy): HealthRow => ({
  ...row, failures: 0, rests: row.rests + 1,
  rest_until: now + Math.min(p.restMaxMs, p.restMs * 2 ** row.rests),
  last_error_code: f.code, last_error: f.message, last_error_at: now,
});

/**
 * The next state of a health row after a failure (pure). Channel and model
 * faults rest at once; transient ones after `failuresToRest` in a row; a
 * throttle is only noted (the channel's rate bucket already waits it out);
 * the request's or the content's fault says nothing about the channel.
 */
export function afterFailure(row: HealthRow, f: UpstreamFailure, now: number, p: RestPolicy): HealthRow {
  switch (f.fault) {
    case 'channel':
    case 'model':
      return rest(row, f, now, p);
    case 'transient': {
      const failures = row.failures + 1;
      if (failures >= p.failuresToRest) return rest(row, f, now, p);
      return { ...row, failures, last_error_code: f.code, last_error: f.message, last_error_at: now };
    }
    case 'throttled':
      return { ...row, last_error_code: f.code, last_error: f.message, last_error_at: now };
    default:
      return row;
  }
}

/** A success clears the failure streak and the backoff (a rest already running is left to lapse). */
export const afterSuccess = (row: HealthRow, now: number): HealthRow => ({ ...row, failures: 0, rests: 0, last_success_at: now });

/** Failure rows are kept per channel, except model faults, which are per channel × upstream model. */
const rowKey = (f: UpstreamFailure, upstreamModel: string) => (f.fault === 'model' ? upstreamModel : '');
const key = (channel: string, upstreamModel: string) => `${channel}\u0000${upstreamModel}`;

/** Successes are written at most this often per row when nothing else changed (a busy channel succeeds many times a second). */
const SUCCESS_WRITE_MS = 60_000;

/**
 * Channel health for routing: kept in the database (shared by every node and
 * visible to `reelay channels`) and cached here, so the worker asks "is this
 * channel resting?" without a query. Another node's verdict shows up within
 * `maxAgeMs`; this node's own at once.
 */
export function createChannelHealth(store: HealthStore, policy: RestPolicy, now: () => number, maxAgeMs = 1000) {
  const cache = new Map<string, HealthRow>();
  let loadedAt = -Infinity;

  async function refresh(force = false): Promise<void> {
    if (!force && now() - loadedAt < maxAgeMs) return;
    const rows = await store.all();
    cache.clear();
    for (const r of rows) cache.set(key(r.channel, r.upstream_model), normalise(r));
    loadedAt = now();
  }

  async function write(row: HealthRow) {
    cache.set(key(row.channel, row.upstream_model), row);
    await store.save(row);
  }

  const get = (channel: string, upstreamModel: string) => cache.get(key(channel, upstreamModel)) ?? blank(channel, upstreamModel);

  return {
    refresh,
    /** The clock health judges rests by. */
    now,
    /** When the channel last succeeded, as far as health knows (written at most once a minute while it keeps succeeding). */
    lastSuccessAt: (channel: string): number | null => cache.get(key(channel, ''))?.last_success_at ?? null,
    /** The rest covering this channel × model now (the whole channel's or the model's), or null. */
    restingUntil(channel: string, upstreamModel: string): { until: number; row: HealthRow } | null {
      const t = now();
      let best: { until: number; row: HealthRow } | null = null;
      for (const r of [cache.get(key(channel, '')), cache.get(key(channel, upstreamModel))]) {
        if (r?.rest_until != null && r.rest_until > t && (!best || r.rest_until > best.until)) best = { until: r.rest_until, row: r };
      }
      return best;
    },
    async recordFailure(channel: string, upstreamModel: string, f: UpstreamFailure): Promise<void> {
      const before = get(channel, rowKey(f, upstreamModel));
      const after = afterFailure(before, f, now(), policy);
      if (after !== before) await write(after);
    },
    async recordSuccess(channel: string, upstreamModel: string): Promise<void> {
      const t = now();
      for (const m of ['', upstreamModel]) {
        const before = get(channel, m);
        const stale = before.last_success_at == null || t - before.last_success_at > SUCCESS_WRITE_MS;
        // A model never at fault needs no row of its own.
        if (m !== '' && !cache.has(key(channel, m))) continue;
        if (before.failures > 0 || before.rests > 0 || stale) await write(afterSuccess(before, t));
      }
    },
    /** Every row, fresh from the database (for `reelay channels` and the admin API). */
    async rows(): Promise<HealthRow[]> {
      await refresh(true);
      return [...cache.values()];
    },
  };
}

export type ChannelHealth = ReturnType<typeof createChannelHealth>;

/** PostgreSQL returns bigint columns as strings. */
function normalise(r: HealthRow): HealthRow {
  const n = (v: unknown) => (v == null ? null : Number(v));
  return { ...r, failures: Number(r.failures), rests: Number(r.rests), rest_until: n(r.rest_until), last_error_at: n(r.last_error_at), last_success_at: n(r.last_success_at) };
}
