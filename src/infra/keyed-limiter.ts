/**
 * At most `n` of the wrapped async calls run at once, and at most `perKey`
 * of them for any one key. Waiting calls start in arrival order, except that
 * a call whose key already holds its share lets later calls of other keys go
 * first: one key's burst cannot take every slot, nor queue the others behind it.
 */
export function keyedLimiter(n: number, perKey: number) {
  let active = 0;
  const byKey = new Map<string, number>();
  const waiting: { key: string; go: () => void }[] = [];
  const mayStart = (key: string) => active < n && (byKey.get(key) ?? 0) < perKey;

  function take(key: string) {
    active++;
    byKey.set(key, (byKey.get(key) ?? 0) + 1);
  }
  function give(key: string) {
    active--;
    const left = (byKey.get(key) ?? 1) - 1;
    if (left > 0) byKey.set(key, left);
    else byKey.delete(key);
    for (let i = 0; i < waiting.length && active < n;) {
      const w = waiting[i]!;
      if (!mayStart(w.key)) { i++; continue; }
      waiting.splice(i, 1);
      take(w.key);
      w.go();
    }
  }

  return async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    if (mayStart(key)) take(key);
    else await new Promise<void>((go) => waiting.push({ key, go }));
    try {
      return await fn();
    } finally {
      give(key);
    }
  };
}
