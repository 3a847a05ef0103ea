import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { errors } from '../../domain/errors.ts';
import { geminiFileIdFromPath, googleErrorBody, taskIdFromGeminiFileId, toGeminiOperation } from './views.ts';
import { actorOf } from '../plugins/auth.ts';
import { parseInput, registerRoute, type RouteDoc } from '../route.ts';
import { sendBlob } from '../send-blob.ts';
import { googleScope, submitGoogle } from './google-common.ts';
import { GoogleErrorBody, GoogleOperationSchema, GooglePredictRequest } from './wire-docs.ts';
import type { SurfaceDeps } from './shared.ts';

const ModelParams = z.object({ model: z.string().min(1).max(200) });
const OperationParams = z.object({ model: z.string().min(1).max(200), id: z.string().min(1).max(100) });
const FileParams = z.object({ id: z.string().describe('The file id in the video uri (the task id, hex)') });
const DownloadQuery = z.object({ alt: z.literal('media').optional().describe('As the SDK sends it; the MP4 either way') });

/** The scope's prefix: Gemini API paths are /v1beta/…; the docs below are relative to it. */
export const GEMINI_PREFIX = '/v1beta';

const common = { tag: 'Gemini API (Veo)', auth: 'google', errorSchema: GoogleErrorBody } as const;
const video = {
  200: { description: 'The MP4 (Range supported)', contentType: 'video/mp4' },
  206: { description: 'A byte range of it', contentType: 'video/mp4' },
};

/** What each route of this surface says of itself (registered below, and listed in /openapi.json). */
export const GEMINI_DOCS = {
  // `::` is a literal colon; the regex keeps the model param from swallowing it (find-my-way).
  create: {
    ...common, method: 'POST', url: '/models/:model(^[^:/]+)::predictLongRunning', params: ModelParams,
    summary: 'Start a video, as @google/genai does in Gemini mode (generateVideos); the operation name carries the task id',
    body: { schema: GooglePredictRequest, contentTypes: ['application/json'] },
    headers: { 'Idempotency-Key': 'Optional; the same key and body within 24 h returns the same operation' },
    responses: { 200: { description: 'The operation (done: false)', schema: GoogleOperationSchema } },
  },
  get: {
    ...common, method: 'GET', url: '/models/:model/operations/:id', params: OperationParams,
    summary: 'Poll an operation (getVideosOperation); once done, its video uri is the download below',
    responses: { 200: { description: 'The operation', schema: GoogleOperationSchema } },
  },
  download: {
    ...common, method: 'GET', url: '/files/:id(^[a-z0-9]+)::download', params: FileParams, query: DownloadQuery,
    summary: "Download a done operation's video (files.download, or the uri itself with ?alt=media)", responses: video,
  },
  downloadByUri: {
    ...common, method: 'GET', url: '/files/*', query: DownloadQuery,
    summary: 'The same download, at the path the SDK builds from a plain-http video uri (files/http://host/v1beta/files/<id>:download)',
    responses: video,
  },
} satisfies Record<string, RouteDoc>;

/**
 * The Gemini API's Veo surface (UPSTREAM.md §1–§2), registered under /v1beta:
 * what `@google/genai` 2.x sends in Gemini mode. Operation ids are task ids.
 */
export function geminiSurface(d: SurfaceDeps) {
  return async (scope: FastifyInstance) => {
    googleScope(scope, d);
    scope.setNotFoundHandler((req, reply) => {
      const e = errors.routeNotFound(req.method, req.url.split('?')[0] ?? '');
      reply.status(404).send(googleErrorBody(e));
    });

    registerRoute(scope, {
      doc: GEMINI_DOCS.create, onRequest: d.submitGate,
      async handler(req) {
        const { model } = parseInput(ModelParams, req.params);
        return toGeminiOperation(await submitGoogle(d, req, model), d.publicBase());
      },
    });

    registerRoute(scope, {
      doc: GEMINI_DOCS.get,
      async handler(req) {
        const { id } = parseInput(OperationParams, req.params);
        return toGeminiOperation(await d.tasks.get(actorOf(req), id), d.publicBase());
      },
    });

    // The video's uri: /v1beta/files/<hex task id>:download?alt=media. The wildcard takes the
    // path the SDK builds from an http:// uri (it appends the whole uri after files/).
    const download = async (req: FastifyRequest, reply: FastifyReply, path: string) => {
      const fileId = geminiFileIdFromPath(path);
      const taskId = fileId === undefined ? undefined : taskIdFromGeminiFileId(fileId);
      if (taskId === undefined) throw errors.notFound('file', fileId ?? path.slice(0, 100));
      const { key, info } = await d.tasks.content(actorOf(req), taskId, 'video');
      return sendBlob(req, reply, d.blobs, key, info, 3600);
    };
    registerRoute(scope, { doc: GEMINI_DOCS.download, handler: (req, reply) => download(req, reply, `${(req.params as { id: string }).id}:download`) });
    registerRoute(scope, { doc: GEMINI_DOCS.downloadByUri, handler: (req, reply) => download(req, reply, (req.params as { '*': string })['*']) });
  };
}
