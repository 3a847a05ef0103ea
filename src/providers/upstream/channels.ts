import type { Catalog, ModelSpec } from '../../domain/catalog.ts';
import { failure, movesToNextChannel, type UpstreamFailure } from '../../domain/failures.ts';
import type { RateBucket } from '../../infra/rate-bucket.ts';
import type { ChannelHealth } from './channel-health.ts';
import type { PollTiming } from './poll-schedule.ts';
import type { UpstreamAdapter, UpstreamJob, UpstreamName } from './upstream-provider.ts';

/**
 * One way to reach an upstream: a provider with its own credentials, rate
 * limit, routing weight and model map. Several channels may serve one
 * provider (two Gemini keys sharing the load, a paid key behind a free one).
 */
export interface Channel {
  readonly name: string;
  readonly provider: UpstreamName;
  readonly adapter: UpstreamAdapter;
  /** Higher first; equal priorities keep the model's provider order. */
  readonly priority: number;
  /** Share of new tasks among channels of equal priority and provider. */
  readonly weight: number;
  /** Public id → upstream id (null: the model's default for this provider); null: every model that lists the provider. */
  readonly models: ReadonlyMap<string, string | null> | null;
  /** Every call to the upstream (submit, poll, cancel) takes a slot. */
  readonly rate: RateBucket;
  /** Jobs it may have in flight at once (a self-hosted GPU server: one generation per GPU); undefined: no limit of Reelay's. */
  readonly slots?: number;
  /** Its own poll timing (a local server is polled often); undefined: the global REELAY_UPSTREAM_POLL_* timing. */
  readonly timing?: Pick<PollTiming, 'pollMs' | 'maxIntervalMs'>;
}

/** A channel that serves a model, and the upstream id it calls for it. */
export interface Candidate {
  readonly channel: Channel;
  readonly upstreamModel: string;
}

type Defaults = Pick<Catalog, 'defaultUpstreamModel'>;

/** The upstream id this channel calls for a public model, or undefined when it does not serve it. */
export function upstreamModelFor(c: Channel, model: ModelSpec, catalog: Defaults): string | undefined {
  if (c.models === null) return model.providers.includes(c.provider) ? catalog.defaultUpstreamModel(model, c.provider) : undefined;
  if (!c.models.has(model.id)) return undefined;
  return c.models.get(model.id) ?? catalog.defaultUpstreamModel(model, c.provider);
}

export const servesModel = (c: Channel, model: ModelSpec, catalog: Defaults) => upstreamModelFor(c, model, catalog) !== undefined;

/** Every channel that serves the model, with its upstream id. */
export function candidatesFor(channels: readonly Channel[], model: ModelSpec, catalog: Defaults): Candidate[] {
  return channels.flatMap((channel) => {
    const upstreamModel = upstreamModelFor(channel, model, catalog);
    return upstreamModel === undefined ? [] : [{ channel, upstreamModel }];
  });
}

/**
 * The order in which to try the candidates for a new task: by priority, then
 * the model's provider order (a channel mapping a model its provider is not
 * listed for comes after), then a weighted random draw (each pick removes the
 * candidate, so every one appears once and failover reaches them all).
 */
export function orderCandidates(candidates: readonly Candidate[], model: ModelSpec, random: () => number = Math.random): Candidate[] {
  const rank = (c: Channel) => {
    const i = model.providers.indexOf(c.provider);
    return i < 0 ? model.providers.length : i;
  };
  const groups = new Map<string, Candidate[]>();
  for (const c of candidates) {
    const key = `${c.channel.priority}|${rank(c.channel)}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const keys = [...groups.keys()].sort((a, b) => {
    const [pa, ia] = a.split('|').map(Number) as [number, number];
    const [pb, ib] = b.split('|').map(Number) as [number, number];
    return pb - pa || ia - ib;
  });
  return keys.flatMap((k) => weightedShuffle(groups.get(k)!, random));
}

function weightedShuffle(items: Candidate[], random: () => number): Candidate[] {
  const rest = [...items];
  const out: Candidate[] = [];
  while (rest.length) {
    const total = rest.reduce((s, c) => s + c.channel.weight, 0);
    let r = random() * total;
    let i = rest.findIndex((c) => (r -= c.channel.weight) < 0);
    if (i < 0) i = rest.length - 1;
    out.push(...rest.splice(i, 1));
  }
  return out;
}

/** Why a task waits in Reelay instead of failing: its self-hosted servers are full (Reelay's count), busy (their 503) or down. */
export type WaitReason = 'full' | 'busy' | 'down';

export type Dispatched =
  | { ok: true; candidate: Candidate; upstreamId: string; /** channels that refused (or rested) before this one took it */ tried: string[];
      facts?: Readonly<Record<string, unknown>> }
  | { ok: false; failure: UpstreamFailure; tried: string[];
      /** Set when what is left are slot-limited servers that may take it later: look again within `ms` (a freed slot wakes it sooner). */
      wait?: Wait };

/**
 * When to look again, why, and which channels were full by Reelay's own count
 * (a slot freeing on one of those is worth a look at once). `upSince`: for an
 * outage, when its servers last worked (null: not known), so a limit on waiting
 * for them counts from then, not from when a long-queued task was created.
 */
export interface Wait { ms: number; why: WaitReason; full: string[]; upSince: number | null }

/** Takes one of a slot-limited channel's slots for the task being submitted; false when all are in use. */
export interface SlotReserver {
  reserve(channel: Channel): Promise<boolean>;
}

/** A task waiting for full servers is looked at again after this at the latest; a freed slot wakes it at once. */
export const FULL_RECHECK_MS = 10_000;
/** A server that answered 503 without Retry-After is asked again after this. */
export const BUSY_RECHECK_MS = 1000;
/** A server that could not be reached (and does not rest yet) is tried again after this. */
export const DOWN_RECHECK_MS = 2000;

/** Codes of a rest that says the server is away for now (not that its key or model is wrong): worth waiting for. */
const OUTAGE = new Set(['upstream_unavailable', 'upstream_timeout', 'upstream_invalid_response']);

/**
 * Submit to the first candidate that accepts. A resting channel (or channel ×
 * model) is skipped without a call. A refusal that is the channel's problem
 * (credentials, credit, model gone, 5xx, 429) rests it as health says and
 * moves on; the request's or the content's fault is final. When no candidate
 * is left the failure says it is the service's problem: model_unavailable
 * when every candidate lacked the model, else upstream_unavailable.
 *
 * Slot-limited channels (self-hosted servers) are submitted to only once
 * `slots` reserved one of theirs. One that is full, answers 503 (busy) or is
 * down makes the result carry `wait`: the task waits in Reelay's queue
 * rather than failing.
 */
export async function submitWithFailover(candidates: readonly Candidate[], job: Omit<UpstreamJob, 'upstreamModel'>, signal: AbortSignal, health: ChannelHealth,
  slots?: SlotReserver): Promise<Dispatched> {
  const tried: string[] = [];
  const reasons: string[] = [];
  const waits: { ms: number; why: WaitReason; upSince?: number | null }[] = [];
  const full: string[] = [];
  let allModel = candidates.length > 0;
  await health.refresh();
  // A channel paused by a 429 goes last: another channel takes the task now instead of it waiting out Retry-After.
  const throttled = (c: Candidate) => c.channel.rate.waitMs() > 1000;
  for (const c of [...candidates.filter((x) => !throttled(x)), ...candidates.filter(throttled)]) {
    const { channel, upstreamModel } = c;
    const limited = channel.slots !== undefined;
    const resting = health.restingUntil(channel.name, upstreamModel);
    if (resting) {
      tried.push(channel.name);
      allModel &&= resting.row.upstream_model !== '';
      reasons.push(`${channel.name} is resting until ${new Date(resting.until).toISOString()} (${resting.row.last_error_code ?? 'at fault'})`);
      if (limited && OUTAGE.has(resting.row.last_error_code ?? '')) waits.push({ ms: resting.until - health.now(), why: 'down', upSince: health.lastSuccessAt(channel.name) });
      continue;
    }
    if (limited && slots && !(await slots.reserve(channel))) {
      tried.push(channel.name);
      allModel = false;
      reasons.push(`${channel.name} has all ${channel.slots} of its jobs in flight`);
      full.push(channel.name);
      waits.push({ ms: FULL_RECHECK_MS, why: 'full' });
      continue;
    }
    await channel.rate.take(signal);
    const out = await channel.adapter.submit({ ...job, upstreamModel }, signal);
    if (out.ok) {
      await health.recordSuccess(channel.name, upstreamModel);
      return { ok: true, candidate: c, upstreamId: out.id, tried, ...(out.facts ? { facts: out.facts } : {}) };
    }
    const f = out.failure;
    await health.recordFailure(channel.name, upstreamModel, f);
    // A busy GPU server's 503 says nothing about polling the jobs it already runs.
    if (f.fault === 'throttled' && !limited) channel.rate.pause(f.retryAfterMs ?? 1000);
    if (!movesToNextChannel(f)) return { ok: false, failure: f, tried };
    tried.push(channel.name);
    allModel &&= f.fault === 'model';
    reasons.push(`${channel.name}: ${f.message}`);
    if (limited && f.fault === 'throttled') waits.push({ ms: f.retryAfterMs ?? BUSY_RECHECK_MS, why: 'busy' });
    else if (limited && f.fault === 'transient') waits.push({ ms: DOWN_RECHECK_MS, why: 'down', upSince: health.lastSuccessAt(channel.name) });
  }
  const failure = noCandidateLeft(job.model.id, candidates.length, allModel, reasons);
  return { ok: false, tried, failure, ...(waits.length ? { wait: { ...soonest(waits), full } } : {}) };
}

/** The earliest look again; a full or busy server (a queue) outranks one that is down (an outage, which has a limit). */
function soonest(waits: { ms: number; why: WaitReason; upSince?: number | null }[]): Omit<Wait, 'full'> {
  const why: WaitReason = waits.some((w) => w.why === 'full') ? 'full' : waits.some((w) => w.why === 'busy') ? 'busy' : 'down';
  const down = waits.filter((w) => w.why === 'down').map((w) => w.upSince ?? null);
  // The outage began when the last of its servers stopped working; unknown if any never worked as far as health knows.
  const upSince = down.length && down.every((t) => t !== null) ? Math.max(...(down as number[])) : null;
  return { ms: Math.max(1, Math.min(...waits.map((w) => w.ms))), why, upSince };
}

export function noCandidateLeft(modelId: string, count: number, allModel: boolean, reasons: string[]): UpstreamFailure {
  if (count === 0) return failure('model_unavailable', 'model', `No upstream channel is configured for ${modelId}. This is a problem with the service, not with your request; the credits were refunded.`);
  const why = reasons.length ? ` (${reasons.join('; ')})` : '';
  return allModel
    ? failure('model_unavailable', 'model', `No upstream channel serves ${modelId} right now${why}. This is a problem with the service, not with your request; the credits were refunded.`)
    : failure('upstream_unavailable', 'channel', `No upstream channel could take the task${why}. This is a problem with the service, not with your request; the credits were refunded. Please retry later.`);
}
