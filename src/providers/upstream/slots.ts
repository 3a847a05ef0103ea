import type { Channel } from './channels.ts';

/**
 * Wakes the tasks that wait in the queue for a self-hosted server's slot.
 * Whoever frees a slot (a job the server reports done, a job that failed,
 * was lost or cancelled, a submit that failed) says so; the waiting tasks of
 * the models that server serves become claimable at once, and the workers
 * are woken — in this process directly, on other nodes through the database.
 */
export interface SlotSignals {
  /** A slot on this channel freed (a no-op for channels without slots). */
  freed(channel: Channel): Promise<void>;
  /** Release these models' waiting tasks now. */
  wakeModels(models: readonly string[]): Promise<void>;
}

export interface SlotSignalDeps {
  /** Clears the wait of these models' waiting tasks; how many there were. */
  wakeWaiting(models: readonly string[]): Promise<number>;
  /** The public models a channel serves. */
  modelsOf(channel: Channel): readonly string[];
  /** Tell every worker process (NOTIFY on PostgreSQL). */
  notify(): Promise<void>;
  onError(e: unknown): void;
}

export function slotSignals(d: SlotSignalDeps) {
  const local = new Set<() => void>();
  async function wakeModels(models: readonly string[]): Promise<void> {
    if (models.length === 0) return;
    try {
      // Nobody waiting: nobody to wake (a task that never waited is claimable anyway).
      if ((await d.wakeWaiting(models)) === 0) return;
      for (const fn of local) fn();
      await d.notify();
    } catch (e) {
      // The waiting tasks are looked at again at their recheck time anyway.
      d.onError(e);
    }
  }
  return {
    wakeModels,
    freed: (channel: Channel) => (channel.slots === undefined ? Promise.resolve() : wakeModels(d.modelsOf(channel))),
    /** Run `fn` (wake this process's worker) whenever waiting tasks were released. */
    onWake(fn: () => void): () => void {
      local.add(fn);
      return () => local.delete(fn);
    },
  } satisfies SlotSignals & { onWake(fn: () => void): () => void };
}
