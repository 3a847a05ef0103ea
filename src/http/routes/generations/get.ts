import { z } from 'zod';
import { parseInput, type Route } from '../../route.ts';
import { actorOf } from '../../plugins/auth.ts';
import { ErrorBody, TaskObject } from '../../../domain/task-schemas.ts';
import type { TaskService } from '../../../domain/task-service.ts';

export const TaskParams = z.object({ task_id: z.string().min(1).max(100) });

export function getRoute(tasks: TaskService): Route {
  return {
    doc: {
      method: 'GET', url: '/v1/video/generations/:task_id', tag: 'Video generations', auth: 'apiKey',
      summary: 'Get a task (poll it every few seconds)', params: TaskParams,
      responses: { 200: { description: 'The task', schema: TaskObject }, 404: { description: 'Unknown or not yours', schema: ErrorBody } },
    },
    async handler(req, reply) {
      const { task_id } = parseInput(TaskParams, req.params);
      reply.type('application/json; charset=utf-8');
      return tasks.getJson(actorOf(req), task_id);
    },
  };
}
