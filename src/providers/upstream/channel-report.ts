import type { Catalog } from '../../domain/catalog.ts';
import type { ChannelHealth, HealthRow } from './channel-health.ts';
import { upstreamModelFor, type Channel } from './channels.ts';
import type { ChannelCheck } from './upstream-provider.ts';

export interface ChannelStatus {
  name: string;
  provider: string;
  priority: number;
  weight: number;
  /** healthy; resting (the whole channel); degraded (some of its models rest). */
  state: 'healthy' | 'resting' | 'degraded';
  rest_until: string | null;
  last_error: { code: string; message: string; at: string } | null;
  /** Public model → the upstream id this channel calls for it. */
  models: { model: string; upstream_model: string; resting_until: string | null; last_error: string | null }[];
  in_flight: number;
}

const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());

/** What each channel serves, mapped to which upstream ids. */
export function channelModels(c: Channel, catalog: Catalog): { model: string; upstream_model: string }[] {
  return catalog.models.flatMap((m) => {
    const u = upstreamModelFor(c, m, catalog);
    return u === undefined ? [] : [{ model: m.id, upstream_model: u }];
  });
}

/** Each channel's state for `reelay channels` and GET /v1/admin/channels: health, last error (never a secret), rests, jobs in flight. */
export async function channelStatuses(channels: readonly Channel[], catalog: Catalog, health: ChannelHealth, inFlight: Record<string, number>, now: number): Promise<ChannelStatus[]> {
  const rows = await health.rows();
  const byKey = new Map(rows.map((r) => [`${r.channel}\u0000${r.upstream_model}`, r]));
  const resting = (r: HealthRow | undefined) => (r?.rest_until != null && r.rest_until > now ? r.rest_until : null);
  return channels.map((c) => {
    const own = byKey.get(`${c.name}\u0000`);
    const models = channelModels(c, catalog).map((m) => {
      const r = byKey.get(`${c.name}\u0000${m.upstream_model}`);
      return { ...m, resting_until: iso(resting(r)), last_error: r?.last_error ?? null };
    });
    const latest = rows.filter((r) => r.channel === c.name && r.last_error_at != null).sort((a, b) => b.last_error_at! - a.last_error_at!)[0];
    const state = resting(own) ? 'resting' : models.some((m) => m.resting_until) ? 'degraded' : 'healthy';
    return {
      name: c.name, provider: c.provider, priority: c.priority, weight: c.weight, state,
      rest_until: iso(resting(own)),
      last_error: latest ? { code: latest.last_error_code ?? 'unknown', message: latest.last_error ?? '', at: iso(latest.last_error_at)! } : null,
      models, in_flight: inFlight[c.name] ?? 0,
    };
  });
}

export interface ChannelTestResult extends ChannelCheck {
  name: string;
  provider: string;
  ok: boolean;
}

/** A live check of each channel's credentials and mapped models (nothing is generated); `only` limits it to one channel. */
export async function testChannels(channels: readonly Channel[], catalog: Catalog, only: string | undefined, timeoutMs: number): Promise<ChannelTestResult[]> {
  const picked = only === undefined ? channels : channels.filter((c) => c.name === only);
  return Promise.all(picked.map(async (c) => {
    const ids = [...new Set(channelModels(c, catalog).map((m) => m.upstream_model))];
    const check = await c.adapter.check(ids, AbortSignal.timeout(timeoutMs)).catch((e: unknown): ChannelCheck => ({
      credentials: { ok: false, detail: `the check did not complete (${(e as Error).name})` }, models: [],
    }));
    return { name: c.name, provider: c.provider, ok: check.credentials.ok && check.models.every((m) => m.ok !== false), ...check };
  }));
}
