import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';
import type { Logger } from 'pino';
import { clientErrorHandler, frameworkErrorHandler, installErrorHandling } from './error-handler.ts';
import { installJsonParser } from './json-body.ts';
import { errors } from '../domain/errors.ts';
import { authenticated } from './plugins/auth.ts';
import { registerRoute, type Route } from './route.ts';
import type { Metrics } from '../infra/metrics/metrics.ts';
import type { RateLimiter } from './plugins/rate-limit.ts';

export interface HttpAppOptions {
  logger: Logger;
  bodyLimit: number;
  /**
   * How long a client may take to send a whole request (headers and body);
   * a peer that stalls (slowloris) is answered 408 and dropped after it.
   * Default 120 s: enough for a 20 MB body on a 1.4 Mbit/s uplink.
   */
  requestTimeoutMs?: number;
  metrics: Metrics;
  authenticate: Parameters<typeof authenticated>[0];
  limiter: RateLimiter;
  publicRoutes: Route[];
  privateRoutes: Route[];
  /** Registered in their own scope with their own auth (the admin token). */
  adminPlugin?: (scope: FastifyInstance) => Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The HTTP adapter: framework wiring only; every decision is made by the routes' services. */
export async function buildHttpApp(o: HttpAppOptions): Promise<FastifyInstance> {
  const requestTimeout = o.requestTimeoutMs ?? 120_000;
  const app = Fastify({
    loggerInstance: o.logger as FastifyBaseLogger,
    bodyLimit: o.bodyLimit,
    // A caller's request id is kept (so logs join up across services); otherwise we mint one.
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && REQUEST_ID.test(h) ? h : randomUUID();
    },
    requestTimeout,
    http: {
      // Node enforces requestTimeout by sweeping connections on this interval (default 30 s, i.e. up
      // to 30 s late); sweep often enough that a stalled request is dropped close to its deadline.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(requestTimeout / 4))),
      headersTimeout: Math.min(60_000, requestTimeout),
    },
    // No idle-socket timeout: a submit may legitimately be silent while it fetches its image URL.
    connectionTimeout: 0,
    // Router and connection-level errors in the §10 envelope too (see error-handler.ts).
    frameworkErrors: frameworkErrorHandler(o.bodyLimit),
    clientErrorHandler: clientErrorHandler(o.logger),
    // We answer requests that arrive while closing ourselves, in our error envelope (see the onRequest hook).
    return503OnClosing: false,
    routerOptions: { maxParamLength: 200 },
  });
  app.decorateRequest('actor', null);
  let closing = false;
  app.addHook('preClose', async () => { closing = true; });
  // Callback-style hooks: these run on every poll, and skipping a promise per hook is measurable there.
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    if (!closing) return done();
    reply.header('connection', 'close');
    done(errors.unavailable('This server is shutting down; retry the request (another instance will answer).', 1));
  });
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    o.metrics.httpRequests.inc({ route, method: req.method, status: String(reply.statusCode) });
    o.metrics.httpDuration.observe({ route, method: req.method }, reply.elapsedTime / 1000);
    done();
  });
  installErrorHandling(app, o.bodyLimit);
  installJsonParser(app);
  await app.register(multipart, {
    // Text parts may carry base64 images, so they get the whole body budget (the total is capped in submit-body).
    // Start and last frame plus up to 7 reference images (Vidu's reference models), and room for no more.
    limits: { fileSize: o.bodyLimit, files: 9, fields: 40, parts: 50, fieldSize: o.bodyLimit },
  });
  for (const r of o.publicRoutes) registerRoute(app, r);
  await app.register(authenticated(o.authenticate, o.limiter, (scope) => {
    for (const r of o.privateRoutes) registerRoute(scope, r);
  }));
  if (o.adminPlugin) await app.register(o.adminPlugin);
  return app;
}
