import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { errors } from '../../domain/errors.ts';
import { taskIdFromOperationName, toVertexOperation, vertexOperationName } from './views.ts';
import { actorOf } from '../plugins/auth.ts';
import { parseInput, registerRoute, type RouteDoc } from '../route.ts';
import { googleScope, requireJson, submitGoogle } from './google-common.ts';
import type { SurfaceDeps } from './shared.ts';
import { INLINE_VIDEO, streamVertexOperation } from './inline-video.ts';
import { GoogleErrorBody, GoogleOperationSchema, GooglePredictRequest } from './wire-docs.ts';

const VERSIONS = ['v1', 'v1beta1'] as const;
/** With a project and location (standard mode), or without (express mode, what a custom baseUrl gets). */
const SCOPES = ['/projects/:project/locations/:location', ''] as const;

const Params = z.object({
  model: z.string().min(1).max(200),
  project: z.string().min(1).max(200).optional(),
  location: z.string().min(1).max(100).optional(),
});
const FetchBody = z.object({ operationName: z.string().min(1).max(1000).describe('The name predictLongRunning returned (…/operations/<id>)') });

function scopeOf(req: FastifyRequest) {
  const p = parseInput(Params, req.params);
  return { model: p.model, scope: p.project && p.location ? `projects/${p.project}/locations/${p.location}` : null };
}

/** Each route of this surface (both API versions, with and without a project), as it is registered and listed in /openapi.json. */
export function vertexDocs(): { kind: 'predict' | 'fetch'; doc: RouteDoc }[] {
  const common = { tag: 'Vertex AI (Veo)', auth: 'google', errorSchema: GoogleErrorBody, params: Params, method: 'POST' } as const;
  return VERSIONS.flatMap((version) => SCOPES.flatMap((prefix) => {
    // `::` is a literal colon; the regex keeps the model param from swallowing it (find-my-way).
    const base = `/${version}${prefix}/publishers/google/models/:model(^[^:/]+)`;
    const mode = prefix ? 'project-scoped' : 'express mode';
    return [
      {
        kind: 'predict' as const,
        doc: {
          ...common, url: `${base}::predictLongRunning`,
          summary: `Start a video, as @google/genai does in Vertex mode (${version}, ${mode}); the operation name carries the task id`,
          body: { schema: GooglePredictRequest, contentTypes: ['application/json'] },
          headers: { 'Idempotency-Key': 'Optional; the same key and body within 24 h returns the same operation' },
          responses: { 200: { description: 'The operation (done: false)', schema: GoogleOperationSchema } },
        },
      },
      {
        kind: 'fetch' as const,
        doc: {
          ...common, url: `${base}::fetchPredictOperation`,
          summary: `Poll an operation (${version}, ${mode}); once succeeded it carries the MP4 inline, base64 (streamed)`,
          body: { schema: FetchBody, contentTypes: ['application/json'] },
          responses: { 200: { description: 'The operation', schema: GoogleOperationSchema } },
        },
      },
    ];
  }));
}

/**
 * Vertex AI's Veo surface (UPSTREAM.md §3): what `@google/genai` 3.x sends in
 * Vertex mode. A done operation carries the MP4 inline, base64 (Vertex's
 * answer when no storageUri is given), streamed (inline-video.ts).
 */
export function vertexSurface(d: SurfaceDeps) {
  const predict = async (req: FastifyRequest) => {
    const { model, scope: where } = scopeOf(req);
    const task = await submitGoogle(d, req, model);
    return toVertexOperation(task, vertexOperationName(where, task.model, task.id), null);
  };
  const fetchOperation = async (req: FastifyRequest, reply: FastifyReply) => {
    scopeOf(req); // validates the path; the operation name in the body says which task
    requireJson(req);
    const { operationName } = parseInput(FetchBody, req.body, 'body');
    const id = taskIdFromOperationName(operationName);
    if (!id) {
      throw errors.invalidField('operationName', `"operationName" must be an operation name ending in /operations/<id> (got ${JSON.stringify(operationName.slice(0, 100))}).`);
    }
    const actor = actorOf(req);
    const task = await d.tasks.get(actor, id);
    if (task.status !== 'succeeded') return toVertexOperation(task, operationName, null);
    // Streamed, never loaded: a 4k clip held whole (and again as base64) per poll exhausted memory.
    const { key } = await d.tasks.content(actor, id, 'video');
    const body = streamVertexOperation(toVertexOperation(task, operationName, INLINE_VIDEO), d.blobs.read(key));
    return reply.type('application/json; charset=utf-8').send(body);
  };
  return async (scope: FastifyInstance) => {
    googleScope(scope, d);
    for (const { kind, doc } of vertexDocs()) {
      registerRoute(scope, kind === 'predict' ? { doc, onRequest: d.submitGate, handler: predict } : { doc, handler: fetchOperation });
    }

    // Anything else under Vertex's paths (another verb, method or publisher) is a 404 in Google's
    // envelope, as on /v1beta; the root not-found handler would answer in Reelay's own.
    const notFound = (req: FastifyRequest) => {
      throw errors.routeNotFound(req.method, req.url.split('?')[0] ?? '');
    };
    for (const path of ['/v1beta1/*', '/v1/projects/*', '/v1/publishers/*']) scope.all(path, notFound);
  };
}
