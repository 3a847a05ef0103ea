/**
 * A rate limit of `perSecond` calls with bursts up to `burst` (GCRA: one
 * number of state, fair in arrival order). `pause` holds every caller back
 * until a moment, e.g. an upstream's 429 Retry-After.
 */
export function rateBucket(perSecond: number, burst = Math.max(1, Math.ceil(perSecond / 10)), now: () => number = Date.now) {
  const interval = 1000 / perSecond;
  const tolerance = interval * (burst - 1);
  // Theoretical arrival time of the next call.
  let tat = 0;
  let pausedUntil = 0;
  return {
    /** How long a call made now would wait. */
    waitMs(): number {
      return Math.max(0, Math.max(tat - tolerance, pausedUntil) - now());
    },
    /** How many calls could start within `withinMs` from now (what is worth claiming work for). */
    available(withinMs: number): number {
      const t = now();
      const first = Math.max(t, tat - tolerance, pausedUntil);
      if (first > t + withinMs) return 0;
      return Math.floor((t + withinMs - first) / interval) + 1;
    },
    /** Reserve the next slot and wait for it. */
    async take(signal?: AbortSignal): Promise<void> {
      const t = now();
      const at = Math.max(t, tat - tolerance, pausedUntil);
      tat = Math.max(tat, at) + interval;
      if (at > t) await delay(at - t, signal);
    },
    pause(ms: number): void {
      pausedUntil = Math.max(pausedUntil, now() + ms);
    },
  };
}

export type RateBucket = ReturnType<typeof rateBucket>;

export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => { clearTimeout(timer); reject(signal!.reason); };
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
