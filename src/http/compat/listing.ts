import { errors } from '../../domain/errors.ts';
import { LIST_MAX, type Actor, type TaskService } from '../../domain/task-service.ts';
import type { TaskObject } from '../../domain/task-schemas.ts';

export interface TaskPage {
  data: TaskObject[];
  has_more: boolean;
  first_id: string | null;
  last_id: string | null;
}

/**
 * A key's tasks oldest first (OpenAI's `order=asc`), `after` = the last id of
 * the previous page. The task service lists newest first only, so this walks
 * the newest-first list down to the cursor, keeping just the last `limit + 1`
 * tasks seen: memory O(limit), time O(tasks newer than the cursor).
 * (An `order` option on the repository's list would make this one query.)
 */
export async function listOldestFirst(tasks: Pick<TaskService, 'list'>, actor: Actor, q: { limit: number; after?: string | undefined }): Promise<TaskPage> {
  const window: TaskObject[] = [];
  let cursorSeen = q.after === undefined;
  let after: string | undefined;
  scan: for (;;) {
    const page = await tasks.list(actor, { limit: LIST_MAX, after });
    for (const t of page.data) {
      if (t.id === q.after) { cursorSeen = true; break scan; }
      window.push(t);
      if (window.length > q.limit + 1) window.shift();
    }
    if (!page.has_more || !page.last_id) break;
    after = page.last_id;
  }
  if (!cursorSeen) throw errors.invalidField('after', `"after" must be the id of one of your tasks (got ${JSON.stringify(q.after)}).`);
  const oldestFirst = window.reverse();
  const data = oldestFirst.slice(0, q.limit);
  return { data, has_more: oldestFirst.length > q.limit, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}
