import { errors } from '../../domain/errors.ts';

/**
 * Per-key request budget as a token bucket, in this process's memory: each
 * API node enforces it on the traffic it sees (documented; a shared limiter
 * would cost a database round trip per poll). A key saves up at most a
 * quarter minute's worth: with a whole minute's (1200) a key's first burst of
 * 100-task list pages took a third of the event loop for 14 s.
 */
export function createRateLimiter(perMinute: number, now: () => number) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const rate = perMinute / 60_000; // tokens per ms
  // Never below one request, or a tiny limit would refuse everything.
  const capacity = Math.max(1, perMinute / 4);
  return {
    take(keyId: string): void {
      const t = now();
      let b = buckets.get(keyId);
      if (!b) {
        if (buckets.size > 100_000) buckets.clear(); // bound memory under key churn
        b = { tokens: capacity, at: t };
        buckets.set(keyId, b);
      }
      b.tokens = Math.min(capacity, b.tokens + (t - b.at) * rate);
      b.at = t;
      if (b.tokens < 1) {
        const wait = Math.ceil((1 - b.tokens) / rate / 1000);
        throw errors.rateLimited(`Too many requests for this key (limit ${perMinute} per minute); retry after ${wait} s.`, wait);
      }
      b.tokens -= 1;
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
