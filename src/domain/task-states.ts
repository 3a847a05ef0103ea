/**
 * A task's life in one place: its states, the moves between them, and what
 * each ending does to credits, webhooks, files and the upstream job.
 *
 *   queued ──claim──▶ processing ──▶ succeeded
 *      │                 │  └──────▶ failed
 *      └─────cancel──────┴─────────▶ cancelled
 *
 * Who enforces what: the repository's UPDATEs are guarded by the status they
 * expect, so only the moves below can happen and a race has one winner
 * (src/infra/db/tasks-repo.ts); the lifecycle applies ENDINGS in the same
 * transaction as the status change (task-lifecycle.ts).
 */
export type TaskStatus = 'queued' | 'processing' | 'succeeded' | 'failed' | 'cancelled';
export type ActiveStatus = 'queued' | 'processing';
export type EndedStatus = Exclude<TaskStatus, ActiveStatus>;

export const ACTIVE_STATUSES: readonly ActiveStatus[] = ['queued', 'processing'];

/**
 * Every allowed move. processing → processing: the worker died and its lease
 * lapsed, or the poller gave an upstream job back to the queue (the upstream
 * lost it, or its channel is at fault); the task runs again. processing →
 * queued: a claim undone because every self-hosted server of the model is
 * full (the task waits in the queue for a free slot, no attempt counted). A
 * task fails only while processing (a worker or the poller holds it); a
 * queued one can only be claimed or cancelled. Ended states are final (API.md §5).
 */
export const TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  queued: ['processing', 'cancelled'],
  processing: ['processing', 'queued', 'succeeded', 'failed', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

export const canMove = (from: TaskStatus, to: TaskStatus): boolean => TRANSITIONS[from].includes(to);
export const isEnded = (s: TaskStatus): s is EndedStatus => TRANSITIONS[s].length === 0;

/** What happens when a task ends, beyond its status. */
export interface Ending {
  /**
   * The reservation taken at submit: made final (`charge`, no balance change),
   * or given back in full (`refund`, with this ledger note). Both are written in
   * the transaction that ends the task; the ledger allows one of each per task.
   */
  credits: { kind: 'charge' } | { kind: 'refund'; note(code: string): string };
  /** The webhook event written to the outbox in that same transaction (when the task has a callback_url). */
  event: 'video.succeeded' | 'video.failed' | 'video.cancelled';
  /**
   * Whether the task's output files are kept. A render that finishes after its
   * task failed or was cancelled has its files removed by the worker that made
   * them (src/worker/finish-output.ts, completeWithOutput).
   */
  keepsOutputs: boolean;
  /** Whether the task's upstream job, if any, is cancelled — best effort, after the commit (src/compose/services.ts). */
  cancelsUpstream: boolean;
}

/** The table the lifecycle reads: where the charge, the refunds and the events come from. */
export const ENDINGS: Readonly<Record<EndedStatus, Ending>> = {
  succeeded: { credits: { kind: 'charge' }, event: 'video.succeeded', keepsOutputs: true, cancelsUpstream: false },
  failed: {
    credits: { kind: 'refund', note: (code) => `task failed: ${code}` }, event: 'video.failed', keepsOutputs: false, cancelsUpstream: false,
  },
  cancelled: {
    credits: { kind: 'refund', note: (code) => `task ${code}` }, event: 'video.cancelled', keepsOutputs: false, cancelsUpstream: true,
  },
};

/** The ending of an ended status; an active one has none, and asking is a bug. */
export function endingOf(status: TaskStatus): Ending {
  if (!isEnded(status)) throw new Error(`task status "${status}" is not an ending`);
  return ENDINGS[status];
}
