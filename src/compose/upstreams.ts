import { buildChannels } from '../providers/upstreams.ts';
import { createChannelHealth, type ChannelHealth } from '../providers/upstream/channel-health.ts';
import { channelModels, channelStatuses, type ChannelStatus } from '../providers/upstream/channel-report.ts';
import { candidatesFor, orderCandidates, type Channel } from '../providers/upstream/channels.ts';
import { slotSignals } from '../providers/upstream/slots.ts';
import { NOTIFY } from './background.ts';
import type { Foundation } from './foundation.ts';

export interface Upstreams {
  channels: readonly Channel[];
  byName: ReadonlyMap<string, Channel>;
  health: ChannelHealth;
  /** Who serves a model now: the first provider with a channel for it (and the upstream ids those channels call), else local. */
  route(modelId: string): { provider: string; upstreamModels: readonly string[] };
  /** GET /v1/models: who can serve a model now (a channel not resting for it, or the local renderer). */
  availability(modelId: string): Promise<{ available: boolean; providers: string[] }>;
  statuses(): Promise<ChannelStatus[]>;
  /** Self-hosted servers' slots: who frees one wakes the tasks waiting for it. */
  slots: ReturnType<typeof slotSignals>;
}

/** The configured channels, their shared health, and the routing questions the API and the worker ask. */
export function buildUpstreams(f: Foundation): Upstreams {
  const { catalog } = f;
  // Result URLs an upstream hands back go through the same SSRF policy as user URLs.
  const slots = slotSignals({
    wakeWaiting: (models) => f.store.tasks.wakeWaiting(models),
    modelsOf: (c) => channelModels(c, catalog).map((m) => m.model),
    notify: () => f.store.db.notify(NOTIFY.tasks),
    onError: (e) => f.log.warn({ err: e }, 'waking the tasks that wait for a server slot failed; they are looked at again shortly'),
  });
  const built = buildChannels(f.config.upstreams, { policy: f.outbound, publicBase: f.publicUrl.get });
  // A cancelled job (the owner's cancel runs on whichever node served it) frees its server's slot.
  const channels = built.map((c): Channel => (c.slots === undefined || !c.adapter.cancel ? c : {
    ...c, adapter: { ...c.adapter, cancel: async (id) => { await c.adapter.cancel!(id); await slots.freed(c); } },
  }));
  const health = createChannelHealth(f.store.channelHealth, f.config.upstreams, f.now);
  return {
    channels, slots,
    byName: new Map(channels.map((c) => [c.name, c])),
    health,
    route(modelId) {
      const model = catalog.find(modelId);
      if (!model) return { provider: 'local', upstreamModels: [] };
      const candidates = candidatesFor(channels, model, catalog);
      // Channels that serve a model take its tasks; only a model no channel serves renders locally (when it lists `local`).
      if (candidates.length) return { provider: orderCandidates(candidates, model, () => 0)[0]!.channel.provider, upstreamModels: candidates.map((c) => c.upstreamModel) };
      return { provider: model.providers.includes('local') ? 'local' : model.providers[0]!, upstreamModels: [] };
    },
    async availability(modelId) {
      const model = catalog.find(modelId)!;
      const candidates = candidatesFor(channels, model, catalog);
      if (candidates.length === 0) return model.providers.includes('local') ? { available: true, providers: ['local'] } : { available: false, providers: [] };
      await health.refresh();
      const live = candidates.filter((c) => !health.restingUntil(c.channel.name, c.upstreamModel));
      return { available: live.length > 0, providers: [...new Set(live.map((c) => c.channel.provider))] };
    },
    statuses: async () => channelStatuses(channels, catalog, health, await f.store.tasks.upstreamInFlight(), f.now()),
  };
}
