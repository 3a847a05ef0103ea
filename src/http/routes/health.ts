import { z } from 'zod';
import type { Readiness } from '../readiness.ts';
import type { Route } from '../route.ts';

const Alive = z.object({ status: z.literal('ok') });
const Ready = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.record(z.string(), z.object({ ok: z.boolean(), detail: z.string().optional() })).describe('database, disk, ffmpeg: each ok or not, and why'),
});

export function healthzRoute(): Route {
  return {
    doc: { method: 'GET', url: '/healthz', tag: 'Operations', auth: false, summary: 'Liveness', responses: { 200: { description: 'Alive', schema: Alive } } },
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
      responses: { 200: { description: 'Ready', schema: Ready }, 503: { description: 'Not ready; checks say why', schema: Ready } },
    },
    async handler(_req, reply) {
      const checks = await readiness.results();
      const ok = Object.values(checks).every((r) => r.ok);
      reply.status(ok ? 200 : 503);
      return { status: ok ? 'ready' : 'not_ready', checks };
    },
  };
}
