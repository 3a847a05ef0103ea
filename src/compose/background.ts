import type { Lifecycle } from '../domain/task-lifecycle.ts';
import { isInWindow } from '../domain/off-peak.ts';
import type { Metrics } from '../infra/metrics/metrics.ts';
import { localProvider } from '../providers/local/local-provider.ts';
import { createDispatcher, type Dispatcher } from '../webhooks/dispatcher.ts';
import { createMaintenance, type MaintenanceRun } from '../worker/maintenance.ts';
import { sweepEndedFiles } from '../worker/ended-files.ts';
import { createUpstreamPoller, type UpstreamPoller } from '../worker/upstream-poller.ts';
import { createWorker, type Worker } from '../worker/worker.ts';
import type { Foundation } from './foundation.ts';
import type { Upstreams } from './upstreams.ts';

/** Database notification channels that wake idle workers and dispatchers on other nodes. */
export const NOTIFY = { tasks: 'reelay_tasks', webhooks: 'reelay_webhooks' } as const;

/** Webhook deliveries go out from worker nodes; API-only nodes just write the outbox. */
export function buildDispatcher(f: Foundation, metrics: Metrics): Dispatcher {
  const { config } = f;
  return createDispatcher({
    outbox: f.store.outbox, keys: f.store.keys, now: f.now, log: f.log.child({ component: 'webhooks' }), ...f.outbound,
    timeoutMs: config.webhooks.timeoutMs, concurrency: config.webhooks.concurrency, pollMs: config.worker.pollMs,
    backoffScale: config.webhooks.backoffScale, onOutcome: (outcome) => metrics.webhookDeliveries.inc({ outcome }),
  });
}

/** Periodic jobs (off-peak expiry, output purge, orphaned upstream jobs, ended tasks' leftover files); run on worker nodes, callable anywhere. */
export function buildMaintenance(f: Foundation, u: Upstreams, lifecycle: Lifecycle, abort: (taskId: string) => void) {
  const { config } = f;
  return createMaintenance({
    tasks: f.store.tasks, lifecycle, now: f.now, abort, blobs: f.blobs, log: f.log.child({ component: 'maintenance' }),
    upstream: { knownChannels: u.channels.map((c) => c.name), maxWaitMs: config.upstreams.maxWaitMs, leaseMs: config.worker.leaseMs },
    sweepEndedFiles: (now) => sweepEndedFiles({ tasks: f.store.tasks, blobs: f.blobs }, now),
  });
}

export interface Background {
  worker: Worker;
  poller: UpstreamPoller | null;
  dispatcher: Dispatcher;
  runMaintenance(): Promise<MaintenanceRun>;
  start(): Promise<void>;
  stop(deadlineMs: number): Promise<void>;
}

/**
 * A worker node's loops: the render worker, the upstream poller (when any
 * channel is configured), the webhook dispatcher and maintenance, each woken
 * by the database's notifications from other nodes.
 */
export function buildBackground(f: Foundation, u: Upstreams, d: { lifecycle: Lifecycle; metrics: Metrics; dispatcher: Dispatcher; taskChanged(id: string): void }): Background {
  const { config, store, now, metrics } = { ...f, metrics: d.metrics };
  // Renders and downloads work under this process's own root, so a restarted worker can tell a dead one's leftovers.
  const { scratch } = f;
  const worker = createWorker({
    scratchDir: scratch.root,
    tasks: store.tasks, lifecycle: d.lifecycle, offPeakOpen: () => isInWindow(now(), config.offPeak), blobs: f.blobs, catalog: f.catalog,
    providers: { local: localProvider({ ffmpegPath: config.ffmpeg.ffmpeg, maxInputPixels: config.limits.imagePixels }) },
    ffmpeg: config.ffmpeg, concurrency: config.worker.concurrency, leaseMs: config.worker.leaseMs, maxAttempts: config.worker.maxAttempts,
    pollMs: config.worker.pollMs, outputTtlSeconds: config.outputTtlSeconds, now, log: f.log.child({ component: 'worker' }),
    onRendered: (s, outcome) => metrics.renderDuration.observe({ outcome }, s),
    onTaskChanged: d.taskChanged, channels: u.channels, health: u.health, upstreamTiming: config.upstreams,
    slots: u.slots, upstreamMaxWaitMs: config.upstreams.maxWaitMs,
  });
  const poller = u.channels.length === 0 ? null : createUpstreamPoller({
    scratchDir: scratch.root,
    tasks: store.tasks, lifecycle: d.lifecycle, blobs: f.blobs, ffmpeg: config.ffmpeg, channels: u.byName, health: u.health, now,
    outputTtlSeconds: config.outputTtlSeconds, timing: { ...config.upstreams, expectedMs: 60_000 },
    concurrency: config.upstreams.pollConcurrency, downloads: config.upstreams.downloads, leaseMs: config.worker.leaseMs,
    // Self-hosted servers are polled at their own (short) interval: the tick is never longer.
    tickMs: Math.min(250, config.upstreams.pollMs, ...u.channels.map((c) => c.timing?.pollMs ?? Infinity)),
    log: f.log.child({ component: 'upstream-poller' }), onTaskChanged: d.taskChanged, slots: u.slots,
    onRequeued: () => {
      worker.wake();
      void store.db.notify(NOTIFY.tasks).catch(() => {});
    },
    onPoll: (channel, outcome, s) => metrics.upstreamPolls.observe({ channel, outcome }, s),
    onJobEnded: (provider, outcome, s) => metrics.upstreamJobs.observe({ provider, outcome }, s),
  });
  const maintenance = buildMaintenance(f, u, d.lifecycle, (id) => worker.abort(id));
  const unlisten: (() => Promise<void>)[] = [];
  return {
    worker, poller, dispatcher: d.dispatcher,
    runMaintenance: () => maintenance.runOnce(),
    async start() {
      worker.start();
      poller?.start();
      // Tasks released from waiting for a server slot are claimed here at once.
      const offSlotWakes = u.slots.onWake(() => worker.wake());
      unlisten.push(async () => { offSlotWakes(); });
      d.dispatcher.start();
      unlisten.push(await store.db.listen(NOTIFY.tasks, () => worker.wake()));
      unlisten.push(await store.db.listen(NOTIFY.webhooks, () => d.dispatcher.wake()));
      maintenance.start(config.maintenanceIntervalMs);
    },
    async stop(deadlineMs) {
      await maintenance.stop();
      await Promise.all(unlisten.splice(0).map((un) => un()));
      await Promise.all([worker.stop(deadlineMs), poller?.stop(deadlineMs), d.dispatcher.stop()]);
    },
  };
}
