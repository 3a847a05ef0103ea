import { statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildHttpApp } from '../http/app.ts';
import { registerCompat } from '../http/compat/index.ts';
import { createRateLimiter } from '../http/plugins/rate-limit.ts';
import { createReadiness, diskSpaceProbe, type ReadinessProbe, type WatchedDir } from '../http/readiness.ts';
import { createSubmitSlots } from '../http/submit-slots.ts';
import { createUploadSpool } from '../http/upload-spool.ts';
import { createProbeLimit, limitedProbe } from '../http/probe-limit.ts';
import { createRefusalHold } from '../http/refusal-hold.ts';
import type { Route } from '../http/route.ts';
import { adminChannelsRoute } from '../http/routes/admin-channels.ts';
import { adminRoutes, adminScope } from '../http/routes/admin.ts';
import { consoleRoutes } from '../http/routes/console.ts';
import { creditsRoute } from '../http/routes/credits.ts';
import { filesRoute } from '../http/routes/files.ts';
import { cancelRoute } from '../http/routes/generations/cancel.ts';
import { contentRoute } from '../http/routes/generations/content.ts';
import { getRoute } from '../http/routes/generations/get.ts';
import { listRoute } from '../http/routes/generations/list.ts';
import { submitRoute } from '../http/routes/generations/submit.ts';
import { healthzRoute, readyzRoute } from '../http/routes/health.ts';
import { metricsRoute } from '../http/routes/metrics.ts';
import { modelsRoute } from '../http/routes/models.ts';
import { openapiRoutes } from '../http/routes/openapi.ts';
import { upstreamCallbackRoutes } from '../http/routes/upstream-callbacks.ts';
import { webhookRoutes } from '../http/routes/webhooks.ts';
import { createTaskDeletion } from '../domain/task-deletion.ts';
import { checkFfmpeg } from '../infra/ffmpeg/tools.ts';
import type { Metrics } from '../infra/metrics/metrics.ts';
import { nonceMemory } from '../providers/vidu/callback.ts';
import type { Foundation } from './foundation.ts';
import type { Services } from './services.ts';
import type { Upstreams } from './upstreams.ts';

export const VERSION = '0.1.0';

/** Every route of every surface: the native API, operations, the admin API, callbacks, and the SDK-compatible surfaces. */
export async function buildHttp(f: Foundation, u: Upstreams, s: Services, d: { metrics: Metrics; pollSoon(taskId: string): void }): Promise<FastifyInstance> {
  const { config, store, now } = f;
  // One set of submit slots for every surface: the native submit and the drop-in ones draw from the same memory.
  const submitSlots = createSubmitSlots(config.maxConcurrentSubmits, s.admission);
  // Multipart image parts are written here as they arrive, in this process's scratch root (swept after a crash).
  const uploads = createUploadSpool(join(f.scratch.root, 'uploads'));
  // Refusals past a rate limit (per key, or per address on the operations routes) are held, so a client looping
  // without reading Retry-After is slowed instead of answered as fast as it asks.
  const hold = createRefusalHold(config.limitHoldMs);
  const probes = createProbeLimit({ perSecond: config.probesPerSecond, hold, now });
  const privateRoutes: Route[] = [
    submitRoute(s.tasks, config.limits.bodyBytes, submitSlots, uploads), listRoute(s.tasks), getRoute(s.tasks), cancelRoute(s.tasks),
    contentRoute(s.tasks, f.blobs), modelsRoute(f.catalog, (id) => u.route(id).provider, u.availability), creditsRoute(s.credits), ...webhookRoutes(s.webhooks),
  ];
  const admin = [...adminRoutes(s.keys, s.credits), adminChannelsRoute(u.statuses)];
  const publicRoutes: Route[] = [
    filesRoute(f.blobs, f.signer, () => Math.floor(now() / 1000)),
    ...[healthzRoute(), readyzRoute(createReadiness(readinessProbes(f), now)), metricsRoute(d.metrics)].map((r) => limitedProbe(r, probes)),
    ...consoleRoutes(),
    ...upstreamCallbackRoutes({
      viduTokens: new Map(config.upstreams.channels.flatMap((c) => (c.provider === 'vidu' ? [[c.name, c.apiKey] as const] : []))),
      publicBase: f.publicUrl.get, now, seenNonce: nonceMemory(now),
      pollSoon: async (id) => {
        if (await store.tasks.pollSoon(id, now())) d.pollSoon(id);
      },
    }),
  ];
  publicRoutes.push(...openapiRoutes(() => [...privateRoutes, ...publicRoutes, ...admin].map((r) => r.doc), VERSION));

  // One per-key request budget for every surface (native and SDK-compatible).
  const limiter = createRateLimiter(config.rateLimitPerMinute, now, hold);
  const http = await buildHttpApp({
    logger: f.log, bodyLimit: config.limits.bodyBytes, requestTimeoutMs: config.requestTimeoutMs, metrics: d.metrics, authenticate: s.keys,
    publicRoutes, privateRoutes, limiter, adminPlugin: adminScope(config.adminToken, admin),
  });
  // The official SDKs' surfaces (Gemini API, Vertex AI, OpenAI Videos) over the same task service.
  await registerCompat(http, {
    tasks: s.tasks, keys: s.keys, blobs: f.blobs, catalog: f.catalog, limiter,
    deletion: createTaskDeletion({ repo: store.tasks, blobs: f.blobs, tasks: s.tasks, now, onBlobError: (taskId, err) => f.log.warn({ err, taskId }, 'deleted task: files not removed') }),
    bodyLimit: config.limits.bodyBytes, submitSlots, uploads, publicBase: f.publicUrl.get,
  });
  // Held 429s would keep close() waiting for their hold.
  http.addHook('preClose', async () => hold.releaseAll());
  return http;
}

/** Readiness checks refresh at most this often, however many ask (a load balancer, 200 probes at once). */
const READY_REFRESH_MS = 5000;
/** `ffmpeg -version` spawns two processes; the binary rarely changes under a running server. */
const FFMPEG_REFRESH_MS = 60_000;
/**
 * SQLite's check opens the file in a new thread and reads every page
 * (quick_check), so it costs in proportion to the file: the /readyz that
 * refreshed it waited 63–65 ms in the hostile bench (20 000 tasks). Every 5 s,
 * a /readyz poller (a load balancer, or anyone: it needs no key) had that
 * compete with the event loop and every key's image checks twelve times a
 * minute. Once a minute, and never more than 1 % of the time.
 */
const SQLITE_CHECK_REFRESH_MS = 60_000;
const SQLITE_CHECK_MAX_SHARE = 0.01;

function readinessProbes(f: Foundation): ReadinessProbe[] {
  const { config, store } = f;
  const dirs: WatchedDir[] = [];
  if (!config.databaseUrl || config.blobStore.kind === 'local') dirs.push({ what: 'the data directory', path: config.dataDir });
  // Renders, upstream downloads and (on every node) multipart uploads are written to the system's temporary directory first.
  dirs.push({ what: 'the scratch directory', path: tmpdir() });
  return [
    {
      name: 'database', check: () => store.db.check(),
      ...(config.databaseUrl ? { everyMs: READY_REFRESH_MS } : { everyMs: SQLITE_CHECK_REFRESH_MS, maxShare: SQLITE_CHECK_MAX_SHARE }),
    },
    diskSpaceProbe(dirs, config.minFreeDiskBytes, READY_REFRESH_MS, (p) => statfs(p)),
    {
      name: 'ffmpeg', everyMs: FFMPEG_REFRESH_MS,
      check: async () => {
        const r = await checkFfmpeg(config.ffmpeg);
        return r.ok ? { ok: true, ...(r.version ? { detail: r.version } : {}) } : { ok: false, ...(r.error ? { detail: r.error } : {}) };
      },
    },
  ];
}

/** Graceful HTTP shutdown: server.close() reaps only connections idle at that instant, so keep reaping, then force. */
export async function closeHttp(http: FastifyInstance, deadlineMs: number): Promise<void> {
  const closing = http.close();
  const reaper = setInterval(() => http.server.closeIdleConnections(), 50);
  const force = setTimeout(() => http.server.closeAllConnections(), deadlineMs);
  try {
    await closing;
  } finally {
    clearInterval(reaper);
    clearTimeout(force);
  }
}
