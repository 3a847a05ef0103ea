import { errors, isApiError } from './errors.ts';
import type { Actor, TaskService } from './task-service.ts';
import type { Blobs, TaskStore } from './ports.ts';

export interface TaskDeletionDeps {
  repo: Pick<TaskStore, 'find' | 'markDeleted'>;
  blobs: Pick<Blobs, 'deletePrefix'>;
  tasks: Pick<TaskService, 'get' | 'cancel' | 'invalidate'>;
  now(): number;
  /** Told when the files could not be removed: the task is deleted anyway (the files are orphaned; log it). */
  onBlobError?(taskId: string, err: unknown): void;
}

/**
 * Deleting a task for its key: cancel it if it is still running (refunding it
 * like any cancel), hide it from every read, then remove its files. The row
 * stays, since the ledger and the webhook log point at it.
 */
export function createTaskDeletion(d: TaskDeletionDeps) {
  return {
    async delete(actor: Actor, id: string): Promise<{ id: string }> {
      const task = await d.tasks.get(actor, id); // 404 when unknown, another key's, or already deleted
      if (task.status === 'queued' || task.status === 'processing') {
        try {
          await d.tasks.cancel(actor, id);
        } catch (e) {
          // It ended on its own in the meantime: nothing left to cancel.
          if (!(isApiError(e) && e.code === 'task_not_cancellable')) throw e;
        }
      }
      const won = await d.repo.markDeleted(id, actor.keyId, d.now());
      d.tasks.invalidate(id);
      if (!won) {
        // A concurrent delete got there first (→ 404), or the task is somehow still active.
        if (!(await d.repo.find(id, actor.keyId))) throw errors.notFound('task', id, 'task_id');
        throw errors.conflict('task_not_deletable', `Task ${id} is still running; cancel it, then delete it.`);
      }
      for (const prefix of [`outputs/${id}/`, `inputs/${id}/`]) {
        try {
          await d.blobs.deletePrefix(prefix);
        } catch (e) {
          d.onBlobError?.(id, e);
        }
      }
      return { id };
    },
  };
}

export type TaskDeletion = ReturnType<typeof createTaskDeletion>;
