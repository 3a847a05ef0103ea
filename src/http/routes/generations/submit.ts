import type { Route } from '../../route.ts';
import { actorOf } from '../../plugins/auth.ts';
import { readSubmitBody } from '../../submit-body.ts';
import { ErrorBody, SubmitRequest, TaskObject } from '../../../domain/task-schemas.ts';
import type { TaskService } from '../../../domain/task-service.ts';
import type { SubmitSlots } from '../../submit-slots.ts';
import type { UploadSpool } from '../../upload-spool.ts';

export function submitRoute(tasks: TaskService, bodyLimit: number, slots: SubmitSlots, uploads: UploadSpool): Route {
  return {
    // Submit bodies are up to 20 MB; JSON ones are held in memory while images are checked (multipart image
    // parts go to files): the process's shared submit slots (fair between keys) cap how many are read at once.
    onRequest: slots.gate,
    doc: {
      method: 'POST', url: '/v1/video/generations', tag: 'Video generations', auth: 'apiKey',
      summary: 'Submit an image-to-video task',
      body: { schema: SubmitRequest, contentTypes: ['application/json', 'multipart/form-data'] },
      headers: { 'Idempotency-Key': 'Optional; the same key and body within 24 h returns the same task' },
      responses: {
        200: { description: 'The queued task', schema: TaskObject },
        400: { description: 'A field is invalid', schema: ErrorBody },
        402: { description: 'The price is more than the balance', schema: ErrorBody },
        409: { description: 'Idempotency-Key reused with a different body', schema: ErrorBody },
        429: { description: 'Rate limit, too many tasks in flight, or too many submits being read at once by this server or this key (Retry-After)', schema: ErrorBody },
        413: { description: 'Body over 20 MB', schema: ErrorBody },
        415: { description: 'Not JSON or multipart', schema: ErrorBody },
      },
    },
    async handler(req) {
      const { body, files, release } = await readSubmitBody(req, bodyLimit, uploads);
      const key = req.headers['idempotency-key'];
      try {
        return await tasks.submit(actorOf(req), body, { files, idempotencyKey: Array.isArray(key) ? key[0] : key });
      } finally {
        // Whatever the outcome: a stored image was moved away already, anything else goes now.
        await release();
      }
    },
  };
}
