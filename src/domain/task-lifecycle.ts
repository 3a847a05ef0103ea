import type { Store } from '../store.ts';
import type { Completion } from '../infra/db/tasks-repo.ts';
import type { TaskRow } from '../infra/db/schema.ts';

/**
 * How a task ends. Each ending changes the task and its credits in one
 * transaction: success charges the reservation, anything else refunds it in
 * full. The status guard in the UPDATE decides the single winner of a race
 * (cancel vs completion, two workers), and the ledger's unique (task, kind)
 * index makes a second charge or refund impossible even if a guard were wrong.
 */
export function createLifecycle(store: Store, hooks: { onEnded?: (row: TaskRow) => void } = {}) {
  async function ended(row: TaskRow | undefined): Promise<TaskRow | undefined> {
    if (row) hooks.onEnded?.(row);
    return row;
  }
  return {
    complete: (id: string, workerId: string, now: number, c: Completion) =>
      store.transaction(async (r) => {
        const row = await r.tasks.complete(id, workerId, now, c);
        if (row) await r.ledger.charge(row.key_id, row.id, now);
        return row;
      }).then(ended),

    fail: (id: string, workerId: string, now: number, code: string, message: string) =>
      store.transaction(async (r) => {
        const row = await r.tasks.fail(id, workerId, now, code, message);
        if (row) await r.ledger.refund(row.key_id, row.id, Number(row.credits_reserved), now, `task failed: ${code}`);
        return row;
      }).then(ended),

    /** `keyId` null: a system cancel (off-peak expiry) rather than the owner's. */
    cancel: (id: string, keyId: string | null, now: number, code: string, message: string) =>
      store.transaction(async (r) => {
        const row = await r.tasks.cancel(id, keyId, now, code, message);
        if (row) await r.ledger.refund(row.key_id, row.id, Number(row.credits_reserved), now, `task ${code}`);
        return row;
      }).then(ended),
  };
}

export type Lifecycle = ReturnType<typeof createLifecycle>;
