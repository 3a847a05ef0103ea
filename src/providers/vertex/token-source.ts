import type { UpstreamFailure } from '../../domain/failures.ts';

/**
 * Why no token could be had (the token endpoint refused the key, was down or
 * answered nonsense), already classed; the adapter returns its failure as an
 * outcome. The message is safe to show: no key material, no assertion.
 */
export class TokenError extends Error {
  readonly failure: UpstreamFailure;
  constructor(failure: UpstreamFailure) {
    super(failure.message);
    this.name = 'TokenError';
    this.failure = failure;
  }
}

/** Where the Vertex adapter gets the Bearer token for each call. */
export interface TokenSource {
  /** Rejects with a TokenError when no token can be had, or with the signal's reason when it aborted. */
  token(signal: AbortSignal): Promise<string>;
  /** The upstream refused this token (revoked early, clock skew): forget it, so the next call fetches another. */
  invalidate?(token: string): void;
}

/** A token the operator minted (e.g. `gcloud auth print-access-token`); it is never refreshed. */
export function staticTokenSource(token: string): TokenSource {
  return { token: async (signal) => { signal.throwIfAborted(); return token; } };
}

export interface FetchedToken {
  token: string;
  /** Lifetime the issuer announced (`expires_in`), in ms. */
  lifetimeMs: number;
}

/**
 * Caches what `fetch` returns until `marginMs` before it expires, so a poll
 * never goes out with a token that lapses in flight. Concurrent callers
 * share one refresh: a poller waking thousands of jobs must not mint
 * thousands of tokens. A failed refresh is not remembered; the next call
 * tries again.
 */
export function cachingTokenSource(
  fetch: (signal: AbortSignal) => Promise<FetchedToken>,
  o: { marginMs: number; now?: () => number },
): TokenSource {
  const now = o.now ?? Date.now;
  let cached: { token: string; refreshAt: number } | null = null;
  let inflight: Promise<string> | null = null;

  const refresh = async (): Promise<string> => {
    // Measured before the request: the token's clock started no later than this.
    const started = now();
    // The refresh is shared, so no single caller's signal may cancel it; the
    // fetch bounds itself with its own timeout.
    const t = await fetch(new AbortController().signal);
    cached = { token: t.token, refreshAt: started + t.lifetimeMs - o.marginMs };
    return t.token;
  };

  return {
    async token(signal) {
      signal.throwIfAborted();
      if (cached && now() < cached.refreshAt) return cached.token;
      if (!inflight) {
        inflight = refresh().finally(() => { inflight = null; });
        // Every waiter may have gone (cancelled); the rejection is still handled.
        inflight.catch(() => {});
      }
      return untilAborted(inflight, signal);
    },
    invalidate(token) {
      if (cached?.token === token) cached = null;
    },
  };
}

/** Waits for `p`, but lets this caller leave early when its own signal fires. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
