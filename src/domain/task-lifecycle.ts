import type { FailureCode } from './failures.ts';
import { newEventId } from './ids.ts';
import type { Completion, Stores, Transactor } from './ports.ts';
import type { TaskRecord } from './records.ts';
import { endingOf } from './task-states.ts';

export interface LifecycleHooks {
  /** After the commit, with the ended task (e.g. drop its cached view, cancel its upstream job). */
  onEnded?: (row: TaskRecord) => void;
  /** The webhook body for an ended task (the task object as the API shows it). */
  eventPayload?: (row: TaskRecord, type: string, now: number) => Promise<string>;
}

/**
 * How a task ends (task-states.ts says what each ending does). Each ending
 * changes the task, its credits and the outbox in one transaction. The status
 * guard in the UPDATE decides the single winner of a race (cancel vs
 * completion, two workers), and the ledger's unique (task, kind) index makes
 * a second charge or refund impossible even if a guard were wrong.
 */
export function createLifecycle(store: Transactor, hooks: LifecycleHooks = {}) {
  /** Credits and the webhook event of an ending, in the transaction that ended the task. */
  async function settle(r: Stores, row: TaskRecord, now: number, code: string) {
    const ending = endingOf(row.status);
    if (ending.credits.kind === 'charge') await r.ledger.charge(row.key_id, row.id, now);
    else await r.ledger.refund(row.key_id, row.id, Number(row.credits_reserved), now, ending.credits.note(code));
    if (!row.callback_url || !hooks.eventPayload) return;
    await r.outbox.insert({
      id: newEventId(), task_id: row.id, key_id: row.key_id, type: ending.event, url: row.callback_url,
      payload: await hooks.eventPayload(row, ending.event, now), created_at: now,
    });
  }
  /** `change` makes the status move; undefined when someone else ended the task first (then nothing else happens). */
  async function end(now: number, code: string, change: (r: Stores) => Promise<TaskRecord | undefined>) {
    const row = await store.transaction(async (r) => {
      const ended = await change(r);
      if (ended) await settle(r, ended, now, code);
      return ended;
    });
    if (row) hooks.onEnded?.(row);
    return row;
  }
  return {
    complete: (id: string, workerId: string, now: number, c: Completion) =>
      end(now, 'succeeded', (r) => r.tasks.complete(id, workerId, now, c)),

    /** `code` from the one catalogue (failures.ts), so every code a task can end with is documented. */
    fail: (id: string, workerId: string, now: number, code: FailureCode, message: string) =>
      end(now, code, (r) => r.tasks.fail(id, workerId, now, code, message)),

    /** `keyId` null: a system cancel (off-peak expiry) rather than the owner's. */
    cancel: (id: string, keyId: string | null, now: number, code: 'cancelled' | 'off_peak_expired', message: string) =>
      end(now, code, (r) => r.tasks.cancel(id, keyId, now, code, message)),
  };
}

export type Lifecycle = ReturnType<typeof createLifecycle>;
