import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { KeyService } from '../../domain/keys.ts';
import type { Actor } from '../../domain/task-service.ts';
import type { RateLimiter } from './rate-limit.ts';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
  }
}

/** Auth as a scope: every route registered inside `authenticated` requires a valid key. */
export function authenticated(keys: KeyService, limiter: RateLimiter, register: (scope: FastifyInstance) => void) {
  return async (scope: FastifyInstance) => {
    scope.addHook('onRequest', async (req) => {
      req.actor = await keys.authenticate(req.headers.authorization).catch((e: unknown) => limiter.authFailed(req.ip, e));
      await limiter.take(req.actor.keyId);
    });
    register(scope);
  };
}

export function actorOf(req: FastifyRequest): Actor {
  if (!req.actor) throw new Error('route registered outside the authenticated scope');
  return req.actor;
}
