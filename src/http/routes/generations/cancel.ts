import { parseInput, type Route } from '../../route.ts';
import { actorOf } from '../../plugins/auth.ts';
import { ErrorBody, TaskObject } from '../../../domain/task-schemas.ts';
import type { TaskService } from '../../../domain/task-service.ts';
import { TaskParams } from './get.ts';

export function cancelRoute(tasks: TaskService): Route {
  return {
    doc: {
      method: 'POST', url: '/v1/video/generations/:task_id/cancel', tag: 'Video generations', auth: 'apiKey',
      summary: 'Cancel a queued or processing task', params: TaskParams,
      responses: {
        200: { description: 'The cancelled task', schema: TaskObject },
        404: { description: 'Unknown or not yours', schema: ErrorBody },
        409: { description: 'The task has already ended', schema: ErrorBody },
      },
    },
    async handler(req) {
      const { task_id } = parseInput(TaskParams, req.params);
      return tasks.cancel(actorOf(req), task_id);
    },
  };
}
