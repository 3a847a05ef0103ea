import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { errors } from '../../domain/errors.ts';
import { geminiFileIdFromPath, googleErrorBody, taskIdFromGeminiFileId, toGeminiOperation } from './views.ts';
import { actorOf } from '../plugins/auth.ts';
import { parseInput } from '../route.ts';
import { sendBlob } from '../send-blob.ts';
import { googleScope, submitGoogle } from './google-common.ts';
import type { SurfaceDeps } from './shared.ts';

const ModelParams = z.object({ model: z.string().min(1).max(200) });
const OperationParams = z.object({ model: z.string().min(1).max(200), id: z.string().min(1).max(100) });

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

    // `::` is a literal colon; the regex keeps the model param from swallowing it (find-my-way).
    scope.post('/models/:model(^[^:/]+)::predictLongRunning', { onRequest: d.submitGate }, async (req) => {
      const { model } = parseInput(ModelParams, req.params);
      return toGeminiOperation(await submitGoogle(d, req, model), d.publicBase());
    });

    scope.get('/models/:model/operations/:id', async (req) => {
      const { id } = parseInput(OperationParams, req.params);
      return toGeminiOperation(await d.tasks.get(actorOf(req), id), d.publicBase());
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
    scope.get('/files/:id(^[a-z0-9]+)::download', (req, reply) => download(req, reply, `${(req.params as { id: string }).id}:download`));
    scope.get('/files/*', (req, reply) => download(req, reply, (req.params as { '*': string })['*']));
  };
}
