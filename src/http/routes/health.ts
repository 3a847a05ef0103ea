import type { Route } from '../route.ts';

export interface ReadinessProbe {
  name: string;
  check(): Promise<{ ok: boolean; detail?: string }>;
}

export function healthzRoute(): Route {
  return {
    doc: { method: 'GET', url: '/healthz', tag: 'Operations', auth: false, summary: 'Liveness', responses: { 200: { description: 'Alive' } } },
    async handler() {
      return { status: 'ok' };
    },
  };
}

/** Readiness: the database answers and ffmpeg runs; 503 lists what is not ready. */
export function readyzRoute(probes: ReadinessProbe[]): Route {
  return {
    doc: {
      method: 'GET', url: '/readyz', tag: 'Operations', auth: false, summary: 'Readiness (database reachable, ffmpeg present)',
      responses: { 200: { description: 'Ready' }, 503: { description: 'Not ready; checks say why' } },
    },
    async handler(_req, reply) {
      const results = await Promise.all(probes.map(async (p) => {
        try {
          return [p.name, await p.check()] as const;
        } catch (e) {
          return [p.name, { ok: false, detail: (e as Error).message }] as const;
        }
      }));
      const ok = results.every(([, r]) => r.ok);
      reply.status(ok ? 200 : 503);
      return { status: ok ? 'ready' : 'not_ready', checks: Object.fromEntries(results) };
    },
  };
}
