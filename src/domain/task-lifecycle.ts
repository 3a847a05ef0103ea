import type { Store } from '../store.ts';
import type { Completion } from '../infra/db/tasks-repo.ts';
import type { TaskRow } from '../infra/db/schema.ts';
import { newEventId } from '../infra/db/outbox-repo.ts';
import type { Repos } from '../store.ts';

const EVENT_TYPES = { succeeded: 'video.succeeded', failed: 'video.failed', cancelled: 'video.cancelled' } as const;

export interface LifecycleHooks {
  onEnded?: (row: TaskRow) => void;
  /** The webhook body for an ended task (the task object as the API shows it). */
  eventPayload?: (row: TaskRow, type: string, now: number) => Promise<string>;
}

/**
 * How a task ends. Each ending changes the task and its credits in one
 * transaction: success charges the reservation, anything else refunds it in
 * full. The status guard in the UPDATE decides the single winner of a race
 * (cancel vs completion, two workers), and the ledger's unique (task, kind)
 * index makes a second charge or refund impossible even if a guard were wrong.
 */
export function createLifecycle(store: Store, hooks: LifecycleHooks = {}) {
  async function ended(row: TaskRow | undefined): Promise<TaskRow | undefined> {
    if (row) hooks.onEnded?.(row);
    return row;
  }
  /** The webhook event joins the same transaction as the status change (the outbox pattern). */
  async function enqueueEvent(r: Repos, row: TaskRow, now: number) {
    if (!row.callback_url || !hooks.eventPayload) return;
    const type = EVENT_TYPES[row.status as keyof typeof EVENT_TYPES];
    if (!type) return;
    await r.outbox.insert({
      id: newEventId(), task_id: row.id, key_id: row.key_id, type, url: row.callback_url,
      payload: await hooks.eventPayload(row, type, now), created_at: now,
    });
  }
  return {
    complete: (id: string, workerId: string, now: number, c: Completion) =>
      store.transaction(async (r) => {
        const row = await r.tasks.complete(id, workerId, now, c);
        if (row) {
          await r.ledger.charge(row.key_id, row.id, now);
          await enqueueEvent(r, row, now);
        }
        return row;
      }).then(ended),

    fail: (id: string, workerId: string, now: number, code: string, message: string) =>
      store.transaction(async (r) => {
        const row = await r.tasks.fail(id, workerId, now, code, message);
        if (row) {
          await r.ledger.refund(row.key_id, row.id, Number(row.credits_reserved), now, `task failed: ${code}`);
          await enqueueEvent(r, row, now);
        }
        return row;
      }).then(ended),

    /** `keyId` null: a system cancel (off-peak expiry) rather than the owner's. */
    cancel: (id: string, keyId: string | null, now: number, code: string, message: string) =>
      store.transaction(async (r) => {
        const row = await r.tasks.cancel(id, keyId, now, code, message);
        if (row) {
          await r.ledger.refund(row.key_id, row.id, Number(row.credits_reserved), now, `task ${code}`);
          await enqueueEvent(r, row, now);
        }
        return row;
      }).then(ended),
  };
}

export type Lifecycle = ReturnType<typeof createLifecycle>;
