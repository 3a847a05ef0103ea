import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface QueueStats {
  countByStatus(): Promise<Record<string, number>>;
  oldestQueuedAt(): Promise<number | null>;
  upstreamBacklog(now: number): Promise<{ inFlight: number; oldestDueAt: number | null }>;
}

export interface LedgerStats {
  /** Sum of credit entries by kind (grant, reserve, charge, refund, adjust) across all keys. */
  totalsByKind(): Promise<Record<string, number>>;
}

/** One registry per app instance (no global default registry, so tests can build many apps). */
/** Each channel's health for the channel-state gauge (read at scrape time). */
export type ChannelStates = () => Promise<{ channel: string; state: 'healthy' | 'resting' | 'degraded'; modelsResting: number }[]>;

export function createMetrics(queue: QueueStats, now: () => number, ledger?: LedgerStats, channelStates?: ChannelStates) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'reelay_process_' });

  const httpRequests = new Counter({
    name: 'reelay_http_requests_total', help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'] as const, registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'reelay_http_request_duration_seconds', help: 'HTTP request latency by route',
    labelNames: ['route', 'method'] as const, registers: [registry],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  const renderDuration = new Histogram({
    name: 'reelay_render_duration_seconds', help: 'Wall time from claim to end of a task, by outcome',
    labelNames: ['outcome'] as const, registers: [registry], buckets: [1, 2, 5, 10, 20, 40, 80, 160, 320, 640],
  });
  new Gauge({
    name: 'reelay_tasks', help: 'Tasks by status', labelNames: ['status'] as const, registers: [registry],
    async collect() {
      const counts = await queue.countByStatus();
      this.reset();
      for (const s of ['queued', 'processing', 'succeeded', 'failed', 'cancelled']) this.set({ status: s }, counts[s] ?? 0);
    },
  });
  new Gauge({
    name: 'reelay_queue_oldest_age_seconds', help: 'Age of the oldest queued task (0 when none)', registers: [registry],
    async collect() {
      const t = await queue.oldestQueuedAt();
      this.set(t == null ? 0 : Math.max(0, (now() - t) / 1000));
    },
  });

  if (ledger) {
    new Gauge({
      name: 'reelay_credits_total', help: 'Sum of credit ledger entries by kind (reserve and refund are signed)',
      labelNames: ['kind'] as const, registers: [registry],
      async collect() {
        const totals = await ledger.totalsByKind();
        this.reset();
        for (const k of ['grant', 'adjust', 'reserve', 'charge', 'refund']) this.set({ kind: k }, totals[k] ?? 0);
      },
    });
  }
  const webhookDeliveries = new Counter({
    name: 'reelay_webhook_deliveries_total', help: 'Webhook delivery attempts by outcome (delivered, retry, failed)',
    labelNames: ['outcome'] as const, registers: [registry],
  });

  // Two gauges read the same query: one query per scrape, shared while it runs.
  let backlogQuery: ReturnType<QueueStats['upstreamBacklog']> | null = null;
  const backlog = () => (backlogQuery ??= queue.upstreamBacklog(now()).finally(() => { backlogQuery = null; }));
  const upstreamPolls = new Histogram({
    name: 'reelay_upstream_poll_duration_seconds', help: 'One poll of an upstream job, by channel and outcome (pending, done, failed, error, throttled)',
    labelNames: ['channel', 'outcome'] as const, registers: [registry], buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  });
  const upstreamJobs = new Histogram({
    name: 'reelay_upstream_job_duration_seconds', help: 'Upstream submit to the task ending (download included), by provider and outcome',
    labelNames: ['provider', 'outcome'] as const, registers: [registry], buckets: [5, 10, 20, 30, 60, 120, 240, 480, 900, 1800, 3600],
  });
  new Gauge({
    name: 'reelay_upstream_in_flight', help: 'Tasks whose upstream job is being polled', registers: [registry],
    async collect() { this.set((await backlog()).inFlight); },
  });
  new Gauge({
    name: 'reelay_upstream_poll_lag_seconds', help: 'How overdue the most overdue upstream poll is (0 when none): the poller keeping up',
    registers: [registry],
    async collect() {
      const t = (await backlog()).oldestDueAt;
      this.set(t == null ? 0 : Math.max(0, (now() - t) / 1000));
    },
  });

  if (channelStates) {
    // One series per channel × state, 1 for the state it is in: alert on reelay_channel_state{state="resting"} == 1.
    new Gauge({
      name: 'reelay_channel_state', help: 'Upstream channel health: 1 for the state each channel is in (healthy, degraded: some models rest, resting)',
      labelNames: ['channel', 'state'] as const, registers: [registry],
      async collect() {
        this.reset();
        for (const c of await channelStates()) for (const st of ['healthy', 'degraded', 'resting'] as const) this.set({ channel: c.channel, state: st }, c.state === st ? 1 : 0);
      },
    });
  }

  return { registry, httpRequests, httpDuration, renderDuration, webhookDeliveries, upstreamPolls, upstreamJobs };
}

export type Metrics = ReturnType<typeof createMetrics>;
