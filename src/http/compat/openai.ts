import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { errors } from '../../domain/errors.ts';
import type { TaskObject } from '../../domain/task-schemas.ts';
import { LIST_MAX } from '../../domain/task-service.ts';
import { fromOpenAIRequest, OPENAI_FIELDS, renameFields } from './requests.ts';
import { openAIErrorBody, toOpenAIVideo, type OpenAIList } from './views.ts';
import { listOldestFirst } from './listing.ts';
import { actorOf } from '../plugins/auth.ts';
import { parseInput } from '../route.ts';
import { sendBlob } from '../send-blob.ts';
import { readSubmitBody } from '../submit-body.ts';
import { addAuth, bearerKey, firstHeader, setEnvelope, type SurfaceDeps } from './shared.ts';

const VideoParams = z.object({ id: z.string().min(1).max(100) });
const ContentQuery = z.object({ variant: z.enum(['video', 'thumbnail']).default('video') });
const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(LIST_MAX).default(20),
  after: z.string().min(1).max(100).optional(),
  order: z.enum(['asc', 'desc']).default('desc'),
});

/**
 * OpenAI's Videos API (UPSTREAM.md §6) for the `openai` package with
 * `baseURL: <reelay>/v1`. Video ids are task ids; errors keep Reelay's
 * envelope, which is already OpenAI's shape.
 */
export function openAISurface(d: SurfaceDeps) {
  return async (scope: FastifyInstance) => {
    addAuth(scope, d.keys, d.limiter, bearerKey, 'Missing API key: send "Authorization: Bearer <Reelay API key>".');
    setEnvelope(scope, d.bodyLimit, openAIErrorBody);
    const view = (t: TaskObject) => toOpenAIVideo(t, d.dimensions);

    scope.post('/v1/videos', { onRequest: d.submitGate }, async (req) => {
      const { body, files } = await readSubmitBody(req, d.bodyLimit);
      try {
        // The SDK sends an Idempotency-Key with every POST, so its retries never make a second video.
        const task = await d.tasks.submit(actorOf(req), fromOpenAIRequest(body), {
          files, idempotencyKey: firstHeader(req.headers['idempotency-key']),
        });
        return view(task);
      } catch (e) {
        throw renameFields(e, OPENAI_FIELDS);
      }
    });

    scope.get('/v1/videos', async (req): Promise<OpenAIList> => {
      const q = parseInput(ListQuery, req.query);
      const actor = actorOf(req);
      const page = q.order === 'asc'
        ? await listOldestFirst(d.tasks, actor, { limit: q.limit, after: q.after })
        : await d.tasks.list(actor, { limit: q.limit, after: q.after });
      return { object: 'list', data: page.data.map(view), has_more: page.has_more, first_id: page.first_id, last_id: page.last_id };
    });

    scope.get('/v1/videos/:id', async (req) => {
      const { id } = parseInput(VideoParams, req.params);
      return view(await d.tasks.get(actorOf(req), id));
    });

    scope.get('/v1/videos/:id/content', async (req, reply) => {
      const { id } = parseInput(VideoParams, req.params);
      const raw = (req.query ?? {}) as Record<string, unknown>;
      if (raw.variant === 'spritesheet') {
        throw errors.invalidField('variant', '"variant" spritesheet is not available; use video or thumbnail.', 'unsupported_variant');
      }
      const { variant } = parseInput(ContentQuery, req.query);
      const { key, info } = await d.tasks.content(actorOf(req), id, variant);
      return sendBlob(req, reply, d.blobs, key, info, 3600);
    });

    scope.delete('/v1/videos/:id', async (req) => {
      const { id } = parseInput(VideoParams, req.params);
      await d.deletion.delete(actorOf(req), id);
      return { id, object: 'video.deleted' as const, deleted: true };
    });
  };
}
