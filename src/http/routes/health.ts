import type { Readiness } from '../readiness.ts';
import type { Route } from '../route.ts';

export function healthzRoute(): Route {
  return {
    doc: { method: 'GET', url: '/healthz', tag: 'Operations', auth: false, summary: 'Liveness', responses: { 200: { description: 'Alive' } } },
    async handler() {
      return { status: 'ok' };
    },
  };
}

/** Readiness: the database is readable and intact, the disks have room, ffmpeg runs; 503 lists what is not ready. */
export function readyzRoute(readiness: Readiness): Route {
  return {
    doc: {
      method: 'GET', url: '/readyz', tag: 'Operations', auth: false,
      summary: 'Readiness (database readable and intact, free disk space, ffmpeg present); results are cached for a few seconds',
      responses: { 200: { description: 'Ready' }, 503: { description: 'Not ready; checks say why' } },
    },
    async handler(_req, reply) {
      const checks = await readiness.results();
      const ok = Object.values(checks).every((r) => r.ok);
      reply.status(ok ? 200 : 503);
      return { status: ok ? 'ready' : 'not_ready', checks };
    },
  };
}
