import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors } from '../../domain/errors.ts';
import { fromGoogleRequest, GOOGLE_FIELDS, googleVideoBytes, renameFields, type SubmitBody } from './requests.ts';
import { taskOfVideoBytes } from './source-video.ts';
import type { Catalog } from '../../domain/catalog.ts';
import { googleErrorBody } from './views.ts';
import type { TaskObject } from '../../domain/task-schemas.ts';
import { actorOf } from '../plugins/auth.ts';
import { addAuth, bearerKey, firstHeader, setEnvelope, type SurfaceDeps } from './shared.ts';

/** Auth and error envelope shared by the Gemini API and Vertex AI scopes. */
export function googleScope(scope: FastifyInstance, d: SurfaceDeps) {
  // Both SDKs send x-goog-api-key (Vertex express mode too); a Bearer token works as well.
  addAuth(scope, d.keys, d.limiter, (req) => firstHeader(req.headers['x-goog-api-key'])?.trim() ?? bearerKey(req),
    'Missing API key: send "x-goog-api-key: <Reelay API key>" (or "Authorization: Bearer <Reelay API key>").');
  setEnvelope(scope, d.bodyLimit, googleErrorBody);
}

/** Both Google APIs take JSON bodies only (the SDKs always send application/json). */
export function requireJson(req: FastifyRequest): void {
  const ct = (req.headers['content-type'] ?? '').toLowerCase();
  if (!ct.startsWith('application/json')) throw errors.unsupportedMediaType(req.headers['content-type'], ['application/json']);
}

/**
 * Google's docs require durationSeconds 8 with a video to extend, and the
 * extension then adds its own length (Veo 3.1: 7 s). Where the model's
 * extension cannot add 8, that 8 is Google's required value, not a length.
 */
function extensionSeconds(body: SubmitBody, catalog: Catalog): void {
  const ext = catalog.find(String(body.model))?.extension;
  const eight = body.seconds === 8 || (typeof body.seconds === 'string' && body.seconds.trim() === '8');
  if (body.extend_task_id !== undefined && ext && eight && !ext.seconds.includes(8)) delete body.seconds;
}

/** `…:predictLongRunning` on either surface: translate, then the ordinary task submit. */
export async function submitGoogle(d: SurfaceDeps, req: FastifyRequest, model: string): Promise<TaskObject> {
  requireJson(req);
  try {
    const body = fromGoogleRequest(model, req.body);
    const bytes = googleVideoBytes(req.body);
    if (bytes !== undefined) body.extend_task_id = await taskOfVideoBytes(d, actorOf(req), bytes, 'instances[0].video');
    extensionSeconds(body, d.catalog);
    return await d.tasks.submit(actorOf(req), body, { idempotencyKey: firstHeader(req.headers['idempotency-key']) });
  } catch (e) {
    throw renameFields(e, GOOGLE_FIELDS);
  }
}
