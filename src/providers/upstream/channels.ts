import type { ModelSpec } from '../../domain/catalog.ts';
import type { RateBucket } from '../../infra/rate-bucket.ts';
import { ProviderError, type GenerationJob } from '../provider.ts';
import type { UpstreamAdapter, UpstreamName } from './upstream-provider.ts';

/**
 * One way to reach an upstream: a provider with its own credentials, rate
 * limit and routing weight. Several channels may serve one provider (e.g.
 * two Gemini keys sharing the load, a paid key behind a free one).
 */
export interface Channel {
  readonly name: string;
  readonly provider: UpstreamName;
  readonly adapter: UpstreamAdapter;
  /** Higher first; equal priorities keep the model's provider order. */
  readonly priority: number;
  /** Share of new tasks among channels of equal priority and provider. */
  readonly weight: number;
  /** Models this channel serves; null = every model of its provider. */
  readonly models: ReadonlySet<string> | null;
  /** Every call to the upstream (submit, poll, cancel) takes a slot. */
  readonly rate: RateBucket;
}

export function servesModel(c: Channel, model: ModelSpec): boolean {
  return model.providers.includes(c.provider) && (c.models === null || c.models.has(model.id));
}

/**
 * The order in which to try the channels for a new task: by priority, then
 * the model's provider order, then a weighted random draw (each pick removes
 * the channel, so every channel appears once and failover reaches them all).
 */
export function orderChannels(channels: readonly Channel[], model: ModelSpec, random: () => number = Math.random): Channel[] {
  const groups = new Map<string, Channel[]>();
  for (const c of channels.filter((c) => servesModel(c, model))) {
    const key = `${c.priority}|${model.providers.indexOf(c.provider)}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const keys = [...groups.keys()].sort((a, b) => {
    const [pa, ia] = a.split('|').map(Number) as [number, number];
    const [pb, ib] = b.split('|').map(Number) as [number, number];
    return pb - pa || ia - ib;
  });
  return keys.flatMap((k) => weightedShuffle(groups.get(k)!, random));
}

function weightedShuffle(items: Channel[], random: () => number): Channel[] {
  const rest = [...items];
  const out: Channel[] = [];
  while (rest.length) {
    const total = rest.reduce((s, c) => s + c.weight, 0);
    let r = random() * total;
    let i = rest.findIndex((c) => (r -= c.weight) < 0);
    if (i < 0) i = rest.length - 1;
    out.push(...rest.splice(i, 1));
  }
  return out;
}

export interface Accepted {
  channel: Channel;
  upstreamId: string;
  /** Channels that refused retryably before this one took the task. */
  tried: string[];
}

/**
 * Submit to the first channel that accepts. Only retryable refusals (429,
 * 5xx, timeouts, network) move on; a 400 is the request's fault and final.
 */
export async function submitWithFailover(chain: readonly Channel[], job: GenerationJob, signal: AbortSignal): Promise<Accepted> {
  const tried: string[] = [];
  const reasons: string[] = [];
  // A channel paused by a 429 goes last: another channel takes the task now instead of it waiting out Retry-After.
  const throttled = (c: Channel) => c.rate.waitMs() > 1000;
  for (const channel of [...chain.filter((c) => !throttled(c)), ...chain.filter(throttled)]) {
    try {
      await channel.rate.take(signal);
      const upstreamId = await channel.adapter.submit(job, signal);
      return { channel, upstreamId, tried };
    } catch (e) {
      if (signal.aborted || !(e instanceof ProviderError) || !e.retryable) throw e;
      if (e.throttledMs) channel.rate.pause(e.throttledMs);
      tried.push(channel.name);
      reasons.push(e.message);
    }
  }
  throw new ProviderError('upstream_unavailable',
    chain.length === 0 ? `No upstream is configured for ${job.model.id}.` : `No upstream accepted the task. ${reasons.join(' ')}`,
    { retryable: true });
}
