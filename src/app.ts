import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { limiter } from './infra/limiter.ts';
import { pino, type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { openStore, type Store } from './store.ts';
import { loadCatalog, type Catalog } from './domain/catalog.ts';
import { createKeyService, type KeyService } from './domain/keys.ts';
import { createTaskService, type TaskService } from './domain/task-service.ts';
import { localBlobStore } from './infra/blob/local-blob-store.ts';
import { s3BlobStore } from './infra/blob/s3-blob-store.ts';
import type { BlobStore } from './infra/blob/blob-store.ts';
import { linkSigner } from './infra/blob/signed-links.ts';
import { checkFfmpeg } from './infra/ffmpeg/tools.ts';
import { imageFetcher } from './infra/images/fetch-image.ts';
import { inspectImage } from './infra/images/inspect-image.ts';
import { createMetrics } from './infra/metrics/metrics.ts';
import type { LookupFn } from './infra/net/safe-fetch.ts';
import { localProvider } from './providers/local/local-provider.ts';
import type { VideoProvider } from './providers/provider.ts';
import { buildChannels } from './providers/upstreams.ts';
import { candidatesFor, orderCandidates } from './providers/upstream/channels.ts';
import { createChannelHealth } from './providers/upstream/channel-health.ts';
import { channelStatuses } from './providers/upstream/channel-report.ts';
import { adminChannelsRoute } from './http/routes/admin-channels.ts';
import { nonceMemory } from './providers/vidu/callback.ts';
import { createUpstreamPoller } from './worker/upstream-poller.ts';
import { upstreamCallbackRoutes } from './http/routes/upstream-callbacks.ts';
import { createWorker, type Worker } from './worker/worker.ts';
import { createMaintenance } from './worker/maintenance.ts';
import { createLifecycle, type Lifecycle } from './domain/task-lifecycle.ts';
import { createCreditService, type CreditService } from './domain/credits.ts';
import { isInWindow } from './domain/off-peak.ts';
import { createRateLimiter } from './http/plugins/rate-limit.ts';
import { creditsRoute } from './http/routes/credits.ts';
import { adminRoutes, adminScope } from './http/routes/admin.ts';
import { webhookRoutes } from './http/routes/webhooks.ts';
import { createWebhookService, type WebhookService } from './domain/webhooks.ts';
import { createDispatcher } from './webhooks/dispatcher.ts';
import { assertPublicTarget } from './infra/net/check-target.ts';
import { UnsafeUrlError } from './infra/net/safe-fetch.ts';
import { toTaskObject } from './domain/task-view.ts';
import { errors } from './domain/errors.ts';
import { buildHttpApp } from './http/app.ts';
import type { Route } from './http/route.ts';
import { submitRoute } from './http/routes/generations/submit.ts';
import { getRoute } from './http/routes/generations/get.ts';
import { listRoute } from './http/routes/generations/list.ts';
import { cancelRoute } from './http/routes/generations/cancel.ts';
import { contentRoute } from './http/routes/generations/content.ts';
import { filesRoute } from './http/routes/files.ts';
import { modelsRoute } from './http/routes/models.ts';
import { healthzRoute, readyzRoute } from './http/routes/health.ts';
import { metricsRoute } from './http/routes/metrics.ts';
import { openapiRoutes } from './http/routes/openapi.ts';
import { consoleRoutes } from './http/routes/console.ts';
import { registerCompat } from './http/compat/index.ts';
import { createTaskDeletion } from './domain/task-deletion.ts';

export const VERSION = '0.1.0';
const CHANNEL_TASKS = 'reelay_tasks';
const CHANNEL_WEBHOOKS = 'reelay_webhooks';

export interface ReelayOverrides {
  logger?: Logger;
  now?: () => number;
  /** Injected DNS for image and callback URLs (tests). */
  lookup?: LookupFn;
  /** TEST SEAM ONLY: which addresses count as public for outbound calls (see safeFetch). */
  isAllowedAddress?: (ip: string) => boolean;
  /** TEST SEAM ONLY: wrap the blob store (fault injection, e.g. a full disk). */
  wrapBlobs?: (blobs: BlobStore) => BlobStore;
}

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
  /** One pass of the periodic jobs (off-peak expiry), for tests and operators. */
  runMaintenance(): Promise<{ offPeakExpired: number; outputsPurged: number }>;
  /** Listen on the configured host/port; returns the base URL. */
  listen(): Promise<string>;
  /** Graceful: stop claiming, let renders finish (or hand them back) within the deadline, drain HTTP. */
  close(deadlineMs?: number): Promise<void>;
}

/** The composition root: builds every dependency from the config, connects nothing at import time. */
export async function createReelay(config: Config, o: ReelayOverrides = {}): Promise<Reelay> {
  const log = o.logger ?? pino({
    level: config.logLevel,
    redact: ['req.headers.authorization', 'req.headers["x-goog-api-key"]'],
    // Public links carry their signature in the query string: keep it out of the logs.
    serializers: { req: (req: { method?: string; url?: string; id?: string }) => ({ id: req.id, method: req.method, url: req.url?.replace(/([?&]sig=)[^&]*/g, '$1[redacted]') }) },
  });
  const now = o.now ?? Date.now;
  const store = await openStore(config);
  const catalog = loadCatalog(config.catalogFile ? JSON.parse(await readFile(config.catalogFile, 'utf8')) : undefined);
  const baseBlobs: BlobStore = config.blobStore.kind === 's3'
    ? s3BlobStore({ ...config.blobStore, now })
    : localBlobStore(config.blobDir);
  const blobs = o.wrapBlobs ? o.wrapBlobs(baseBlobs) : baseBlobs;
  const secret = config.urlSigningSecret ?? await store.meta.getOrInit('url_signing_secret', () => randomBytes(32).toString('base64url'));

  // The public base is known only after listen() when PORT=0 (tests): links read it lazily.
  let publicBase = config.publicUrl ?? `http://${config.host}:${config.port}`;
  const signer = linkSigner(secret, '');
  const links = {
    blobUrl: async (key: string, exp: number) => (await blobs.publicUrl(key, exp)) ?? `${publicBase}${signer.blobUrl(key, exp)}`,
  };

  const providers: Record<string, VideoProvider> = {
    local: localProvider({ ffmpegPath: config.ffmpeg.ffmpeg, maxInputPixels: config.limits.imagePixels }),
  };
  // Result URLs an upstream hands back go through the same SSRF policy as user URLs.
  const channels = buildChannels(config.upstreams, {
    policy: {
      allowPrivate: config.allowPrivateUrls,
      ...(o.lookup ? { lookup: o.lookup } : {}),
      ...(o.isAllowedAddress ? { isAllowedAddress: o.isAllowedAddress } : {}),
    },
    publicBase: () => publicBase,
  });
  const channelsByName = new Map(channels.map((c) => [c.name, c]));
  const health = createChannelHealth(store.channelHealth, config.upstreams, now);
  // Channels that serve a model take its tasks; only a model no channel serves renders locally (when it lists `local`).
  const route = (modelId: string) => {
    const model = catalog.find(modelId);
    if (!model) return { provider: 'local', upstreamModels: [] };
    const candidates = candidatesFor(channels, model, catalog);
    if (candidates.length) return { provider: orderCandidates(candidates, model, () => 0)[0]!.channel.provider, upstreamModels: candidates.map((c) => c.upstreamModel) };
    return { provider: model.providers.includes('local') ? 'local' : model.providers[0]!, upstreamModels: [] };
  };
  /** GET /v1/models: who can serve a model now (a channel not resting for it, or the local renderer). */
  const availability = async (modelId: string) => {
    const model = catalog.find(modelId)!;
    const candidates = candidatesFor(channels, model, catalog);
    if (candidates.length === 0) return model.providers.includes('local') ? { available: true, providers: ['local'] } : { available: false, providers: [] };
    await health.refresh();
    const live = candidates.filter((c) => !health.restingUntil(c.channel.name, c.upstreamModel));
    return { available: live.length > 0, providers: [...new Set(live.map((c) => c.channel.provider))] };
  };
  const statuses = async () => channelStatuses(channels, catalog, health, await store.tasks.upstreamInFlight(), now());
  const metrics = createMetrics(store.tasks, now, store.ledger, channels.length
    ? async () => (await statuses()).map((c) => ({ channel: c.name, state: c.state, modelsResting: c.models.filter((m) => m.resting_until).length }))
    : undefined);

  // Every ending (worker, cancel, expiry) drops the cached view of that task.
  let taskChanged = (_id: string) => {};
  const lifecycle = createLifecycle(store, {
    onEnded: (row) => {
      taskChanged(row.id);
      // A cancelled task's upstream job is no longer wanted (best effort; the poller also tries on its next look).
      const ch = row.status === 'cancelled' && row.upstream_id ? channelsByName.get(row.upstream_channel ?? '') : undefined;
      if (ch?.adapter.cancel) {
        void ch.adapter.cancel(row.upstream_id!).catch((e) => log.warn({ err: e, taskId: row.id }, 'upstream cancel failed'));
      }
      if (row.callback_url) {
        dispatcher?.wake();
        void store.db.notify(CHANNEL_WEBHOOKS).catch(() => {});
      }
    },
    eventPayload: async (row, type, at) => JSON.stringify({ type, timestamp: new Date(at).toISOString(), data: await toTaskObject(row, links) }),
  });
  const outbound = {
    allowPrivate: config.allowPrivateUrls,
    ...(o.lookup ? { lookup: o.lookup } : {}),
    ...(o.isAllowedAddress ? { isAllowedAddress: o.isAllowedAddress } : {}),
  };
  // Webhooks go out from worker nodes; API-only nodes just write the outbox.
  const dispatcher = config.role === 'api' ? null : createDispatcher({
    outbox: store.outbox, keys: store.keys, now, log: log.child({ component: 'webhooks' }), ...outbound,
    timeoutMs: config.webhooks.timeoutMs, concurrency: config.webhooks.concurrency, pollMs: config.worker.pollMs,
    backoffScale: config.webhooks.backoffScale, onOutcome: (outcome) => metrics.webhookDeliveries.inc({ outcome }),
  });
  const worker = config.role === 'api' ? null : createWorker({
    tasks: store.tasks, lifecycle, offPeakOpen: () => isInWindow(now(), config.offPeak), blobs, catalog, providers, ffmpeg: config.ffmpeg,
    concurrency: config.worker.concurrency, leaseMs: config.worker.leaseMs, maxAttempts: config.worker.maxAttempts,
    pollMs: config.worker.pollMs, outputTtlSeconds: config.outputTtlSeconds, now, log: log.child({ component: 'worker' }),
    onRendered: (s, outcome) => metrics.renderDuration.observe({ outcome }, s),
    onTaskChanged: (id) => taskChanged(id),
    channels, health, upstreamTiming: config.upstreams,
  });
  const poller = config.role === 'api' || channels.length === 0 ? null : createUpstreamPoller({
    tasks: store.tasks, lifecycle, blobs, ffmpeg: config.ffmpeg, channels: channelsByName, health, now, outputTtlSeconds: config.outputTtlSeconds,
    timing: { ...config.upstreams, expectedMs: 60_000 },
    concurrency: config.upstreams.pollConcurrency, downloads: config.upstreams.downloads, leaseMs: config.worker.leaseMs,
    tickMs: Math.min(250, config.upstreams.pollMs), log: log.child({ component: 'upstream-poller' }),
    onTaskChanged: (id) => taskChanged(id),
    onRequeued: () => {
      worker?.wake();
      void store.db.notify(CHANNEL_TASKS).catch(() => {});
    },
    onPoll: (channel, outcome, s) => metrics.upstreamPolls.observe({ channel, outcome }, s),
    onJobEnded: (provider, outcome, s) => metrics.upstreamJobs.observe({ provider, outcome }, s),
  });

  const maintenance = createMaintenance({
    tasks: store.tasks, lifecycle, now, abort: (id) => worker?.abort(id), blobs, log: log.child({ component: 'maintenance' }),
    upstream: { knownChannels: channels.map((c) => c.name), maxWaitMs: config.upstreams.maxWaitMs, leaseMs: config.worker.leaseMs },
  });
  const decodeSlots = limiter(Math.max(2, cpus().length));
  const keys = createKeyService(store.keys, now);
  const credits = createCreditService(store, now);
  const webhooks = createWebhookService(store, now, () => dispatcher?.wake());
  const tasks = createTaskService({
    catalog, store, lifecycle, maxActiveTasksPerKey: config.maxActiveTasksPerKey,
    blobs, links, route, now, allowPrivateUrls: config.allowPrivateUrls,
    fetchImage: imageFetcher({ ...outbound, timeoutMs: config.imageFetchTimeoutMs, maxBytes: config.limits.imageBytes }),
    checkCallbackUrl: async (url) => {
      try {
        await assertPublicTarget(url, { ...outbound, label: 'callback_url' });
      } catch (e) {
        if (e instanceof UnsafeUrlError) throw errors.invalidField('callback_url', `"callback_url": ${e.message}.`);
        throw e;
      }
    },
    // Decoding is the memory-heavy part of a submit: a burst of large images queues here instead of all decoding at once.
    inspectImage: (data, param) => decodeSlots(() => inspectImage(data, param, config.limits)),
    onQueued: () => {
      worker?.wake();
      // Other worker processes (PostgreSQL) wake on this instead of their next poll.
      void store.db.notify(CHANNEL_TASKS).catch((e) => log.warn({ err: e }, 'notify failed; workers will poll'));
    },
    onCancelled: (id) => worker?.abort(id),
  });

  taskChanged = (id) => tasks.invalidate(id);

  const privateRoutes: Route[] = [
    submitRoute(tasks, config.limits.bodyBytes, config.maxConcurrentSubmits), listRoute(tasks), getRoute(tasks), cancelRoute(tasks),
    contentRoute(tasks, blobs), modelsRoute(catalog, (id) => route(id).provider, availability), creditsRoute(credits), ...webhookRoutes(webhooks),
  ];
  const admin = [...adminRoutes(keys, credits), adminChannelsRoute(statuses)];
  const publicRoutes: Route[] = [
    filesRoute(blobs, signer, () => Math.floor(now() / 1000)),
    healthzRoute(),
    readyzRoute([
      { name: 'database', check: async () => { await store.db.ping(); return { ok: true }; } },
      { name: 'ffmpeg', check: async () => { const r = await checkFfmpeg(config.ffmpeg); return { ok: r.ok, detail: r.ok ? r.version : r.error } as { ok: boolean; detail?: string }; } },
    ]),
    metricsRoute(metrics),
    ...consoleRoutes(),
    ...upstreamCallbackRoutes({
      viduTokens: new Map(config.upstreams.channels.flatMap((c) => (c.provider === 'vidu' ? [[c.name, c.apiKey] as const] : []))),
      publicBase: () => publicBase, now, seenNonce: nonceMemory(now),
      pollSoon: async (id) => {
        if (await store.tasks.pollSoon(id, now())) poller?.wake();
      },
    }),
  ];
  publicRoutes.push(...openapiRoutes(() => [...privateRoutes, ...publicRoutes, ...admin].map((r) => r.doc), VERSION));

  // One per-key request budget for every surface (native and SDK-compatible).
  const rateLimiter = createRateLimiter(config.rateLimitPerMinute, now);
  const http = await buildHttpApp({
    logger: log, bodyLimit: config.limits.bodyBytes, requestTimeoutMs: config.requestTimeoutMs, metrics, authenticate: keys, publicRoutes, privateRoutes,
    limiter: rateLimiter, adminPlugin: adminScope(config.adminToken, admin),
  });
  // The official SDKs' surfaces (Gemini API, Vertex AI, OpenAI Videos) over the same task service.
  await registerCompat(http, {
    tasks, keys, blobs, catalog, limiter: rateLimiter,
    deletion: createTaskDeletion({ repo: store.tasks, blobs, tasks, now, onBlobError: (taskId, err) => log.warn({ err, taskId }, 'deleted task: files not removed') }),
    bodyLimit: config.limits.bodyBytes, maxConcurrentSubmits: config.maxConcurrentSubmits, publicBase: () => publicBase,
  });

  const unlisten: (() => Promise<void>)[] = [];
  return {
    config, store, catalog, blobs, http, worker, tasks, keys, credits, webhooks, lifecycle, log,
    runMaintenance: () => maintenance.runOnce(),
    async listen() {
      await http.listen({ host: config.host, port: config.port });
      const addr = http.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.port;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      if (!config.publicUrl) publicBase = `http://${host}:${port}`;
      worker?.start();
      poller?.start();
      dispatcher?.start();
      if (worker) unlisten.push(await store.db.listen(CHANNEL_TASKS, () => worker.wake()));
      if (dispatcher) unlisten.push(await store.db.listen(CHANNEL_WEBHOOKS, () => dispatcher.wake()));
      if (worker) maintenance.start(config.maintenanceIntervalMs);
      return `http://${host}:${port}`;
    },
    async close(deadlineMs = 10_000) {
      maintenance.stop();
      await Promise.all(unlisten.splice(0).map((u) => u()));
      await Promise.all([worker?.stop(deadlineMs), poller?.stop(deadlineMs), dispatcher?.stop()]);
      // server.close() reaps only connections idle at that instant; a keep-alive
      // socket finishing its last response a moment later would otherwise hold
      // shutdown for the whole keep-alive timeout. Keep reaping, then force.
      const closing = http.close();
      const reaper = setInterval(() => http.server.closeIdleConnections(), 50);
      const force = setTimeout(() => http.server.closeAllConnections(), deadlineMs);
      try {
        await closing;
      } finally {
        clearInterval(reaper);
        clearTimeout(force);
      }
      await store.db.close();
    },
  };
}
