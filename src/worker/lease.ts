import type { TasksRepo } from '../infra/db/tasks-repo.ts';

/**
 * Renews a task's lease every third of its length while work is in hand, so
 * slow work is never taken over. `onLost` runs when renewal finds the lease
 * gone (the task was cancelled, or another worker took over). Returns the stop.
 */
export function keepLease(o: {
  tasks: Pick<TasksRepo, 'renewLease'>; taskId: string; ownerId: string; leaseMs: number; now(): number;
  onLost(): void; onError?(e: unknown): void;
}): () => void {
  const timer = setInterval(() => {
    o.tasks.renewLease(o.taskId, o.ownerId, o.now() + o.leaseMs).then((ok) => { if (!ok) o.onLost(); }, (e) => o.onError?.(e));
  }, Math.max(100, Math.floor(o.leaseMs / 3)));
  return () => clearInterval(timer);
}
