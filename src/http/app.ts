import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';
import type { Logger } from 'pino';
import { installErrorHandling } from './error-handler.ts';
import { authenticated } from './plugins/auth.ts';
import { registerRoute, type Route } from './route.ts';
import type { Metrics } from '../infra/metrics/metrics.ts';

export interface HttpAppOptions {
  logger: Logger;
  bodyLimit: number;
  metrics: Metrics;
  authenticate: Parameters<typeof authenticated>[0];
  publicRoutes: Route[];
  privateRoutes: Route[];
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The HTTP adapter: framework wiring only; every decision is made by the routes' services. */
export async function buildHttpApp(o: HttpAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: o.logger as FastifyBaseLogger,
    bodyLimit: o.bodyLimit,
    // A caller's request id is kept (so logs join up across services); otherwise we mint one.
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && REQUEST_ID.test(h) ? h : randomUUID();
    },
    requestTimeout: 120_000,
    connectionTimeout: 0,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 200 },
  });
  app.decorateRequest('actor', null);
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    o.metrics.httpRequests.inc({ route, method: req.method, status: String(reply.statusCode) });
    o.metrics.httpDuration.observe({ route, method: req.method }, reply.elapsedTime / 1000);
  });
  installErrorHandling(app, o.bodyLimit);
  await app.register(multipart, {
    limits: { fileSize: o.bodyLimit, files: 4, fields: 40, parts: 50, fieldSize: 1024 * 1024 },
  });
  for (const r of o.publicRoutes) registerRoute(app, r);
  await app.register(authenticated(o.authenticate, (scope) => {
    for (const r of o.privateRoutes) registerRoute(scope, r);
  }));
  return app;
}
