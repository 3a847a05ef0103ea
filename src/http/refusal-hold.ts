/**
 * A client past a rate limit that loops without reading Retry-After would
 * otherwise be answered as fast as it asks: thousands of 429s a second, each
 * costing the event loop a request. Holding each refusal for a while slows
 * such a client to one request per hold per connection. At most `maxHeld`
 * refusals wait at once (a socket each); past that they are answered at once.
 */
export interface RefusalHold {
  /** Resolves after the hold ('held'), or at once: 'off' when the hold is 0, 'full' when `maxHeld` refusals already wait. */
  wait(): Promise<'held' | 'off' | 'full'>;
  /** Ends every hold now (the server is closing). */
  releaseAll(): void;
}

export function createRefusalHold(holdMs: number, maxHeld = 256): RefusalHold {
  const held = new Set<() => void>();
  return {
    async wait() {
      if (holdMs <= 0) return 'off';
      if (held.size >= maxHeld) return 'full';
      await new Promise<void>((resolve) => {
        const done = () => { clearTimeout(timer); held.delete(done); resolve(); };
        const timer = setTimeout(done, holdMs);
        held.add(done);
      });
      return 'held';
    },
    releaseAll() {
      for (const done of [...held]) done();
    },
  };
}
