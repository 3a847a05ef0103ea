import { errors, isApiError } from '../../domain/errors.ts';
import { keyBudget } from '../../infra/key-budget.ts';
import type { RefusalHold } from '../refusal-hold.ts';

/**
 * Failed authentications one client address may have answered at once, per
 * second (two seconds' worth saved up); past that its 401s are held too. A
 * client that gets its key wrong a few times never notices; one cycling
 * through made-up keys was answered as fast as it asked, each a database
 * lookup, and there is no key to charge that to.
 */
const AUTH_FAILURES_PER_SECOND = 10;

/**
 * Per-key request budget as a token bucket, in this process's memory: each
 * API node enforces it on the traffic it sees (documented; a shared limiter
 * would cost a database round trip per poll). A key saves up at most a
 * quarter minute's worth: with a whole minute's (1200) a key's first burst of
 * 100-task list pages took a third of the event loop for 14 s.
 */
export function createRateLimiter(perMinute: number, now: () => number, hold?: RefusalHold) {
  const authFailures = keyBudget(AUTH_FAILURES_PER_SECOND * 60, now, 2000);
  // A quarter minute saved up, but never less than one request, or a tiny limit would refuse everything.
  const requests = keyBudget(perMinute, now, Math.max(15_000, 60_000 / perMinute));
  return {
    /** Resolves when the key may go on; rejects with the 429 (after the hold) when it may not. */
    take(keyId: string): Promise<void> {
      const waitMs = requests.waitFor(keyId, 1);
      if (waitMs > 0) {
        const wait = Math.ceil(waitMs / 1000);
        const refusal = errors.rateLimited(`Too many requests for this key (limit ${perMinute} per minute); retry after ${wait} s.`, wait);
        // Held (refusal-hold.ts): a key looping past its limit was answered ~3 500 times a second.
        return hold ? hold.wait().then(() => { throw refusal; }) : Promise.reject(refusal);
      }
      requests.spend(keyId, 1);
      return Promise.resolve();
    },
    /** Rejects with `refusal`; a 401 after the hold when `client` (an address) has failed to authenticate too often. */
    async authFailed(client: string, refusal: unknown): Promise<never> {
      if (!isApiError(refusal) || refusal.status !== 401) throw refusal; // a database outage is not the client's doing
      const over = authFailures.waitMs(client) > 0;
      authFailures.spend(client, 1);
      if (over && hold) await hold.wait();
      throw refusal;
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
