import { z } from 'zod';
import { parseInput, type Route } from '../../route.ts';
import { actorOf } from '../../plugins/auth.ts';
import { ErrorBody, TaskList, TaskStatusSchema } from '../../../domain/task-schemas.ts';
import { LIST_MAX, type TaskService } from '../../../domain/task-service.ts';

const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(LIST_MAX).default(20).describe(`1–${LIST_MAX}, default 20`),
  after: z.string().max(100).optional().describe('Cursor: the last id of the previous page'),
  status: TaskStatusSchema.optional(),
});

export function listRoute(tasks: TaskService): Route {
  return {
    doc: {
      method: 'GET', url: '/v1/video/generations', tag: 'Video generations', auth: 'apiKey',
      summary: "List the key's tasks, newest first", query: ListQuery,
      responses: { 200: { description: 'A page of tasks', schema: TaskList }, 400: { description: 'Bad query', schema: ErrorBody } },
    },
    async handler(req) {
      const q = parseInput(ListQuery, req.query);
      return tasks.list(actorOf(req), q);
    },
  };
}
