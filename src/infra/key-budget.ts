/**
 * A per-key budget of some costly unit (here: image megapixels decoded at
 * submit), refilled continuously at `perMinute`, holding at most `burstMs`
 * worth. A key may spend into debt by one item (its cost is known only once
 * the image header is read); while in debt its next items are refused, so a
 * key that submits large images in a loop pays with waiting, not with every
 * other key's CPU.
 */
export function keyBudget(perMinute: number, now: () => number, burstMs = 60_000, maxKeys = 100_000) {
  const perMs = perMinute / 60_000;
  const capacity = perMs * burstMs;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const current = (key: string) => {
    const t = now();
    const b = buckets.get(key) ?? { tokens: capacity, at: t };
    b.tokens = Math.min(capacity, b.tokens + (t - b.at) * perMs);
    b.at = t;
    if (!buckets.has(key)) {
      if (buckets.size >= maxKeys) buckets.clear();
      buckets.set(key, b);
    }
    return b;
  };
  return {
    /** 0 when the key may spend now; else how many ms until it may. */
    waitMs(key: string): number {
      const b = current(key);
      return b.tokens > 0 ? 0 : Math.ceil(-b.tokens / perMs) + 1;
    },
    /** 0 when the key holds `amount` now (no debt); else how many ms until it will. */
    waitFor(key: string, amount: number): number {
      const b = current(key);
      return b.tokens >= amount ? 0 : Math.ceil((amount - b.tokens) / perMs);
    },
    spend(key: string, amount: number): void {
      current(key).tokens -= amount;
    },
  };
}
