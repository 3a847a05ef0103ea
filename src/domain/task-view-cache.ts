/**
 * Polls are the hot path: a task's serialised object is reused for this long.
 * Changes made in this process invalidate it at once; a change made by a
 * worker in another process shows up within this bound.
 */
export const TASK_CACHE_MS = 1000;
/** Bounds memory: past this many entries the cache starts over. */
const MAX_ENTRIES = 50_000;

/** Serialised task views by id, for the key that owns them; shared by the task service and whatever changes tasks. */
export function createTaskViewCache(ttlMs = TASK_CACHE_MS) {
  const cache = new Map<string, { keyId: string; json: string; until: number }>();
  return {
    get(id: string, keyId: string, now: number): string | undefined {
      const hit = cache.get(id);
      return hit && hit.until > now && hit.keyId === keyId ? hit.json : undefined;
    },
    set(id: string, keyId: string, json: string, now: number): void {
      if (cache.size >= MAX_ENTRIES) cache.clear();
      cache.set(id, { keyId, json, until: now + ttlMs });
    },
    /** The task changed here (claimed, progressed, ended, cancelled): drop its view. */
    invalidate(id: string): void {
      cache.delete(id);
    },
  };
}

export type TaskViewCache = ReturnType<typeof createTaskViewCache>;
