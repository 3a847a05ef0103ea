import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Catalog } from './domain/catalog.ts';
import type { CreditService } from './domain/credits.ts';
import type { KeyService } from './domain/keys.ts';
import type { Lifecycle } from './domain/task-lifecycle.ts';
import type { TaskService } from './domain/task-service.ts';
import { createTaskViewCache } from './domain/task-view-cache.ts';
import type { WebhookService } from './domain/webhooks.ts';
import type { BlobStore } from './infra/blob/blob-store.ts';
import { createMetrics } from './infra/metrics/metrics.ts';
import type { Store } from './store.ts';
import type { Worker } from './worker/worker.ts';
import type { MaintenanceRun } from './worker/maintenance.ts';
import { buildBackground, buildDispatcher, buildMaintenance, type Background } from './compose/background.ts';
import { buildFoundation, type ReelayOverrides } from './compose/foundation.ts';
import { buildHttp, closeHttp } from './compose/http.ts';
import { buildLifecycle, buildServices } from './compose/services.ts';
import { buildUpstreams } from './compose/upstreams.ts';

export { VERSION } from './compose/http.ts';
export type { ReelayOverrides };

export interface Reelay {
  config: Config;
  store: Store;
  catalog: Catalog;
  blobs: BlobStore;
  http: FastifyInstance;
  worker: Worker | null;
  tasks: TaskService;
  keys: KeyService;
  credits: CreditService;
  webhooks: WebhookService;
  lifecycle: Lifecycle;
  log: Logger;
  /** This process's folder in the temp directory (renders, downloads, spooled uploads), removed by close(). */
  scratchDir: string;
  /** One pass of the periodic jobs (off-peak expiry, output purge, orphaned upstream jobs), for tests and operators. */
  runMaintenance(): Promise<MaintenanceRun>;
  /** Listen on the configured host/port; returns the base URL. */
  listen(): Promise<string>;
  /** Graceful: stop claiming, let renders finish (or hand them back) within the deadline, drain HTTP. */
  close(deadlineMs?: number): Promise<void>;
}

/**
 * The composition root, one entry per role (REELAY_ROLE): `api` serves HTTP
 * and writes tasks; `worker` adds the render worker, the upstream poller,
 * the webhook dispatcher and maintenance; `all` is both in one process.
 * Everything is built in dependency order and passed in; nothing connects at
 * import time.
 */
export async function createReelay(config: Config, o: ReelayOverrides = {}): Promise<Reelay> {
  return config.role === 'api' ? createApiNode(config, o) : createWorkerNode(config, o);
}

/** An API node: HTTP over the shared store; tasks are woken on worker nodes through the database. */
async function createApiNode(config: Config, o: ReelayOverrides): Promise<Reelay> {
  const f = await buildFoundation(config, o);
  const u = buildUpstreams(f);
  const metrics = metricsFor(f, u);
  const views = createTaskViewCache();
  const lifecycle = buildLifecycle(f, u, views, () => {});
  const services = buildServices(f, u, { lifecycle, views, worker: null, wakeDispatcher: () => {} });
  const maintenance = buildMaintenance(f, u, lifecycle, () => {});
  const http = await buildHttp(f, u, services, { metrics, pollSoon: () => {} });
  return node(f, { http, services, lifecycle, background: null, runMaintenance: () => maintenance.runOnce() });
}

/** A worker node (role worker or all): the API's routes plus every background loop. */
async function createWorkerNode(config: Config, o: ReelayOverrides): Promise<Reelay> {
  const f = await buildFoundation(config, o);
  const u = buildUpstreams(f);
  const metrics = metricsFor(f, u);
  const views = createTaskViewCache();
  const dispatcher = buildDispatcher(f, metrics);
  const lifecycle = buildLifecycle(f, u, views, () => dispatcher.wake());
  const background = buildBackground(f, u, { lifecycle, metrics, dispatcher, taskChanged: (id) => views.invalidate(id) });
  const services = buildServices(f, u, { lifecycle, views, worker: background.worker, wakeDispatcher: () => dispatcher.wake() });
  const http = await buildHttp(f, u, services, { metrics, pollSoon: () => background.poller?.wake() });
  return node(f, { http, services, lifecycle, background, runMaintenance: background.runMaintenance });
}

function metricsFor(f: Awaited<ReturnType<typeof buildFoundation>>, u: ReturnType<typeof buildUpstreams>) {
  return createMetrics(f.store.tasks, f.now, f.store.ledger, u.channels.length
    ? async () => (await u.statuses()).map((c) => ({ channel: c.name, state: c.state, modelsResting: c.models.filter((m) => m.resting_until).length }))
    : undefined);
}

function node(f: Awaited<ReturnType<typeof buildFoundation>>, p: {
  http: FastifyInstance; services: ReturnType<typeof buildServices>; lifecycle: Lifecycle; background: Background | null;
  runMaintenance: Reelay['runMaintenance'];
}): Reelay {
  const { config, store } = f;
  return {
    config, store, catalog: f.catalog, blobs: f.blobs, http: p.http, worker: p.background?.worker ?? null, ...p.services,
    lifecycle: p.lifecycle, log: f.log, scratchDir: f.scratch.root, runMaintenance: p.runMaintenance,
    async listen() {
      await p.http.listen({ host: config.host, port: config.port });
      const addr = p.http.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.port;
      f.publicUrl.listening(config.host, port);
      // A killed process's ffmpeg and scratch folders (renders, spooled uploads) go before this one starts rendering
      // (src/infra/scratch.ts); on API nodes too, whose uploads are spooled there.
      await f.scratch.start();
      await p.background?.start();
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      return `http://${host}:${port}`;
    },
    async close(deadlineMs = 10_000) {
      await p.background?.stop(deadlineMs);
      await closeHttp(p.http, deadlineMs);
      // After the worker, the poller and every request have let go of their files.
      await f.scratch.stop();
      await store.db.close();
    },
  };
}
