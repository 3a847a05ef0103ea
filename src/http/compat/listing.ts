import type { Actor, TaskService } from '../../domain/task-service.ts';
import type { TaskObject } from '../../domain/task-schemas.ts';

export interface TaskPage {
  data: TaskObject[];
  has_more: boolean;
  first_id: string | null;
  last_id: string | null;
}

/**
 * A key's tasks oldest first (OpenAI's `order=asc`), `after` = the last id of
 * the previous page: one indexed query, whatever the key's task count (it
 * used to walk the newest-first list down to the cursor, reading every task).
 */
export async function listOldestFirst(tasks: Pick<TaskService, 'list'>, actor: Actor, q: { limit: number; after?: string | undefined }): Promise<TaskPage> {
  const page = await tasks.list(actor, { limit: q.limit, after: q.after, order: 'asc' });
  return { data: page.data, has_more: page.has_more, first_id: page.first_id, last_id: page.last_id };
}
