import type { Catalog, ModelSpec } from '../../domain/catalog.ts';
import { failure, movesToNextChannel, type UpstreamFailure } from '../../domain/failures.ts';
import type { RateBucket } from '../../infra/rate-bucket.ts';
import type { GenerationJob } from '../provider.ts';
import type { ChannelHealth } from './channel-health.ts';
import type { UpstreamAdapter, UpstreamName } from './upstream-provider.ts';

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

export type Dispatched =
  | { ok: true; candidate: Candidate; upstreamId: string; /** channels that refused (or rested) before this one took it */ tried: string[] }
  | { ok: false; failure: UpstreamFailure; tried: string[] };

/**
 * Submit to the first candidate that accepts. A resting channel (or channel ×
 * model) is skipped without a call. A refusal that is the channel's problem
 * (credentials, credit, model gone, 5xx, 429) rests it as health says and
 * moves on; the request's or the content's fault is final. When no candidate
 * is left the failure says it is the service's problem: model_unavailable
 * when every candidate lacked the model, else upstream_unavailable.
 */
export async function submitWithFailover(candidates: readonly Candidate[], job: GenerationJob, signal: AbortSignal, health: ChannelHealth): Promise<Dispatched> {
  const tried: string[] = [];
  const reasons: string[] = [];
  let allModel = candidates.length > 0;
  await health.refresh();
  // A channel paused by a 429 goes last: another channel takes the task now instead of it waiting out Retry-After.
  const throttled = (c: Candidate) => c.channel.rate.waitMs() > 1000;
  for (const c of [...candidates.filter((x) => !throttled(x)), ...candidates.filter(throttled)]) {
    const { channel, upstreamModel } = c;
    const resting = health.restingUntil(channel.name, upstreamModel);
    if (resting) {
      tried.push(channel.name);
      allModel &&= resting.row.upstream_model !== '';
      reasons.push(`${channel.name} is resting until ${new Date(resting.until).toISOString()} (${resting.row.last_error_code ?? 'at fault'})`);
      continue;
    }
    await channel.rate.take(signal);
    const out = await channel.adapter.submit({ ...job, upstreamModel }, signal);
    if (out.ok) {
      await health.recordSuccess(channel.name, upstreamModel);
      return { ok: true, candidate: c, upstreamId: out.id, tried };
    }
    const f = out.failure;
    await health.recordFailure(channel.name, upstreamModel, f);
    if (f.fault === 'throttled') channel.rate.pause(f.retryAfterMs ?? 1000);
    if (!movesToNextChannel(f)) return { ok: false, failure: f, tried };
    tried.push(channel.name);
    allModel &&= f.fault === 'model';
    reasons.push(`${channel.name}: ${f.message}`);
  }
  return { ok: false, tried, failure: noCandidateLeft(job.model.id, candidates.length, allModel, reasons) };
}

export function noCandidateLeft(modelId: string, count: number, allModel: boolean, reasons: string[]): UpstreamFailure {
  if (count === 0) return failure('model_unavailable', 'model', `No upstream channel is configured for ${modelId}. This is a problem with the service, not with your request; the credits were refunded.`);
  const why = reasons.length ? ` (${reasons.join('; ')})` : '';
  return allModel
    ? failure('model_unavailable', 'model', `No upstream channel serves ${modelId} right now${why}. This is a problem with the service, not with your request; the credits were refunded.`)
    : failure('upstream_unavailable', 'channel', `No upstream channel could take the task${why}. This is a problem with the service, not with your request; the credits were refunded. Please retry later.`);
}
