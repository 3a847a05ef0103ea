import type { BlobStore } from '../infra/blob/blob-store.ts';
import type { TasksRepo } from '../infra/db/tasks-repo.ts';
import { endingOf, isEnded, type TaskStatus } from '../domain/task-states.ts';

export interface EndedFilesDeps {
  tasks: Pick<TasksRepo, 'endedWithFiles' | 'forgetInputs'>;
  blobs: Pick<BlobStore, 'deletePrefix'>;
}

/**
 * What an ended task no longer needs, removed: its inputs (nothing reads them
 * once it has ended — a re-run after a crash happens while it is still
 * active, and extending a video reads the output), and the outputs of an
 * ending that keeps none (failed, cancelled). Without this a submit+cancel
 * loop filled the disk for free, since a cancel refunds everything.
 *
 * Files first, then the mark (`input_keys` emptied): a crash in between
 * leaves the task listed for the sweep below, and removing twice is harmless.
 * A render that finishes after its task ended removes its own outputs
 * (finish-output.ts, completeWithOutput).
 */
export async function removeEndedFiles(d: EndedFilesDeps, task: { id: string; status: TaskStatus }): Promise<void> {
  if (!isEnded(task.status)) return;
  await d.blobs.deletePrefix(`inputs/${task.id}/`);
  if (!endingOf(task.status).keepsOutputs) await d.blobs.deletePrefix(`outputs/${task.id}/`);
  await d.tasks.forgetInputs(task.id);
}

/** Leave the ending's own removal (just after its commit) a moment before the sweep repeats it. */
export const SWEEP_GRACE_MS = 60_000;
const BATCH = 100;

/**
 * Maintenance's pass over ended tasks whose files are still there, oldest
 * first, at most `max` per run (a large backlog — say, after an upgrade —
 * drains over several runs instead of holding one). Idempotent, so several
 * nodes may run it at once. Returns how many tasks were cleaned.
 */
export async function sweepEndedFiles(d: EndedFilesDeps, now: number, max = 500): Promise<number> {
  let cleaned = 0;
  for (let seen = 0; seen < max;) {
    const rows = await d.tasks.endedWithFiles(now - SWEEP_GRACE_MS, Math.min(BATCH, max - seen));
    seen += rows.length;
    for (const row of rows) {
      await removeEndedFiles(d, row);
      cleaned++;
    }
    if (rows.length < BATCH) break;
  }
  return cleaned;
}
