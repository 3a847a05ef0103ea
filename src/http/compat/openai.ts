import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { errors } from '../../domain/errors.ts';
import type { TaskObject } from '../../domain/task-schemas.ts';
import { LIST_MAX } from '../../domain/task-service.ts';
import { fromOpenAIRequest, OPENAI_FIELDS, renameFields } from './requests.ts';
import { openAIErrorBody, toOpenAIVideo, type OpenAIList } from './views.ts';
import { listOldestFirst } from './listing.ts';
import { actorOf } from '../plugins/auth.ts';
import { parseInput, registerRoute, type RouteDoc } from '../route.ts';
import { sendBlob } from '../send-blob.ts';
import { readSubmitBody } from '../submit-body.ts';
import { addAuth, bearerKey, firstHeader, setEnvelope, type SurfaceDeps } from './shared.ts';
import { OpenAICreateRequest, OpenAIDeleted, OpenAIListSchema, OpenAIVideoSchema } from './wire-docs.ts';

const VideoParams = z.object({ id: z.string().min(1).max(100) });
const ContentQuery = z.object({ variant: z.enum(['video', 'thumbnail']).default('video') });
const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(LIST_MAX).default(20),
  after: z.string().min(1).max(100).optional(),
  order: z.enum(['asc', 'desc']).default('desc'),
});

const common = { tag: 'OpenAI Videos', auth: 'apiKey' } as const;
const video = { 200: { description: 'The video object', schema: OpenAIVideoSchema } };

/** What each route of this surface says of itself (registered below, and listed in /openapi.json). */
export const OPENAI_DOCS = {
  create: {
    ...common, method: 'POST', url: '/v1/videos',
    summary: 'Create a video, as the openai SDK does (videos.create) with baseURL <reelay>/v1',
    body: { schema: OpenAICreateRequest, contentTypes: ['multipart/form-data', 'application/json'] },
    headers: { 'Idempotency-Key': 'Sent by the SDK with every POST; the same key and body within 24 h returns the same video' },
    responses: video,
  },
  list: {
    ...common, method: 'GET', url: '/v1/videos', query: ListQuery,
    summary: "The key's videos (newest first, or order=asc)", responses: { 200: { description: 'A page of videos', schema: OpenAIListSchema } },
  },
  get: { ...common, method: 'GET', url: '/v1/videos/:id', params: VideoParams, summary: 'Retrieve a video (poll it)', responses: video },
  content: {
    ...common, method: 'GET', url: '/v1/videos/:id/content', params: VideoParams, query: ContentQuery,
    summary: 'Download the MP4 (Range supported), or variant=thumbnail for a JPEG; spritesheet is not available',
    responses: { 200: { description: 'The MP4 (or the JPEG)', contentType: 'video/mp4' }, 206: { description: 'A byte range of it', contentType: 'video/mp4' } },
  },
  delete: {
    ...common, method: 'DELETE', url: '/v1/videos/:id', params: VideoParams,
    summary: 'Delete a video and its files (a running task is cancelled and refunded first)',
    responses: { 200: { description: 'Deleted', schema: OpenAIDeleted } },
  },
} satisfies Record<string, RouteDoc>;

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

    registerRoute(scope, { doc: OPENAI_DOCS.create, onRequest: d.submitGate, async handler(req) {
      const { body, files, release } = await readSubmitBody(req, d.bodyLimit, d.uploads);
      try {
        // The SDK sends an Idempotency-Key with every POST, so its retries never make a second video.
        const task = await d.tasks.submit(actorOf(req), fromOpenAIRequest(body), {
          files, idempotencyKey: firstHeader(req.headers['idempotency-key']),
        });
        return view(task);
      } catch (e) {
        throw renameFields(e, OPENAI_FIELDS);
      } finally {
        await release();
      }
    } });

    registerRoute(scope, { doc: OPENAI_DOCS.list, async handler(req): Promise<OpenAIList> {
      const q = parseInput(ListQuery, req.query);
      const actor = actorOf(req);
      const page = q.order === 'asc'
        ? await listOldestFirst(d.tasks, actor, { limit: q.limit, after: q.after })
        : await d.tasks.list(actor, { limit: q.limit, after: q.after });
      return { object: 'list', data: page.data.map(view), has_more: page.has_more, first_id: page.first_id, last_id: page.last_id };
    } });

    registerRoute(scope, { doc: OPENAI_DOCS.get, async handler(req) {
      const { id } = parseInput(VideoParams, req.params);
      return view(await d.tasks.get(actorOf(req), id));
    } });

    registerRoute(scope, { doc: OPENAI_DOCS.content, async handler(req, reply) {
      const { id } = parseInput(VideoParams, req.params);
      const raw = (req.query ?? {}) as Record<string, unknown>;
      if (raw.variant === 'spritesheet') {
        throw errors.invalidField('variant', '"variant" spritesheet is not available; use video or thumbnail.', 'unsupported_variant');
      }
      const { variant } = parseInput(ContentQuery, req.query);
      const { key, info } = await d.tasks.content(actorOf(req), id, variant);
      return sendBlob(req, reply, d.blobs, key, info, 3600);
    } });

    registerRoute(scope, { doc: OPENAI_DOCS.delete, async handler(req) {
      const { id } = parseInput(VideoParams, req.params);
      await d.deletion.delete(actorOf(req), id);
      return { id, object: 'video.deleted' as const, deleted: true };
    } });
  };
}
