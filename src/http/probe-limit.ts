import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../domain/errors.ts';
import { keyBudget } from '../infra/key-budget.ts';
import { ErrorBody } from '../domain/task-schemas.ts';
import type { Route } from './route.ts';
import type { RefusalHold } from './refusal-hold.ts';

export interface ProbeLimit {
  /** The onRequest hook of the unauthenticated operations routes (/healthz, /readyz, /metrics). */
  gate(req: FastifyRequest, reply: FastifyReply): Promise<void>;
}

/**
 * The operations routes need no key, so the per-key limits cannot cover them:
 * each client address may call them `perSecond` times a second (a burst of
 * two seconds' worth), shared across the routes. Past that the answer is 429
 * rate_limited, held (refusal-hold.ts): a client looping without reading
 * Retry-After then costs the event loop one request per hold per connection,
 * not one per round trip. When the hold is full the connection is closed
 * without an answer. A load balancer or a scraper asks a few times a minute
 * and never meets any of this.
 */
export function createProbeLimit(o: { perSecond: number; hold: RefusalHold; now(): number; maxClients?: number }): ProbeLimit {
  // Two seconds' worth saved up at most (key-budget.ts, keyed by address).
  const budget = keyBudget(o.perSecond * 60, o.now, 2000, o.maxClients);
  const allowed = (client: string) => {
    if (budget.waitMs(client) > 0) return false;
    budget.spend(client, 1);
    return true;
  };

  return {
    async gate(req, reply) {
      if (allowed(req.ip)) return;
      if (await o.hold.wait() === 'full') {
        reply.hijack();
        req.raw.socket.destroy();
        return;
      }
      throw errors.rateLimited(`Too many requests to the operations routes from this address (limit ${o.perSecond} a second); retry after 1 s.`, 1);
    },
  };
}

/** An operations route behind the per-address probe limit, its 429 in the OpenAPI document. */
export function limitedProbe(r: Route, probes: ProbeLimit): Route {
  const tooMany = { description: 'More than REELAY_PROBES_PER_SECOND calls from this address; answered after REELAY_LIMIT_HOLD_MS (Retry-After)', schema: ErrorBody };
  return { ...r, onRequest: probes.gate, doc: { ...r.doc, responses: { ...r.doc.responses, 429: tooMany } } };
}
