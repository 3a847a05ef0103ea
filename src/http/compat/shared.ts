import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, errors } from '../../domain/errors.ts';
import type { Catalog } from '../../domain/catalog.ts';
import type { KeyService } from '../../domain/keys.ts';
import type { TaskService } from '../../domain/task-service.ts';
import type { TaskDeletion } from '../../domain/task-deletion.ts';
import type { Dimensions } from './views.ts';
import type { BlobStore } from '../../infra/blob/blob-store.ts';
import type { RateLimiter } from '../plugins/rate-limit.ts';
import type { SubmitSlots } from '../submit-slots.ts';
import type { UploadSpool } from '../upload-spool.ts';
import { resolveApiError } from '../error-handler.ts';

export interface CompatDeps {
  tasks: TaskService;
  keys: KeyService;
  blobs: BlobStore;
  catalog: Catalog;
  deletion: TaskDeletion;
  limiter: RateLimiter;
  bodyLimit: number;
  /** The process's submit slots, shared with the native submit route (create bodies carry base64 images). */
  submitSlots: SubmitSlots;
  /** Where multipart image parts are written as they arrive (the OpenAI surface's create takes them). */
  uploads: UploadSpool;
  /** The public base URL, known only after listen(): read it per request. */
  publicBase(): string;
}

/** What a surface plugin gets: the deps plus the pieces the surfaces share. */
export interface SurfaceDeps extends CompatDeps {
  submitGate: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  dimensions: Dimensions;
}

export function catalogDimensions(catalog: Catalog): Dimensions {
  return (size, aspectRatio) => (catalog.isResolution(size) ? catalog.dimensions(size, aspectRatio) : undefined);
}

/** Auth as a hook of the surface's scope; `readKey` finds the key where that surface's SDK sends it. */
export function addAuth(scope: FastifyInstance, keys: KeyService, limiter: RateLimiter, readKey: (req: FastifyRequest) => string | undefined, missing: string) {
  scope.addHook('onRequest', async (req) => {
    const key = readKey(req);
    if (key === undefined) return limiter.authFailed(req.ip, errors.unauthorized(missing));
    req.actor = await keys.authenticate(`Bearer ${key}`).catch((e: unknown) => limiter.authFailed(req.ip, e));
    await limiter.take(req.actor.keyId);
  });
}

/** The key from `Authorization: Bearer …`, if that header is there. */
export function bearerKey(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (h === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  // Malformed: hand authenticate() something that fails with its own message.
  return m ? m[1] : '';
}

export function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** A scope's error handler: any error becomes a catalogue error, rendered in the surface's envelope. */
export function setEnvelope(scope: FastifyInstance, bodyLimit: number, render: (e: ApiError) => unknown) {
  scope.setErrorHandler((err: FastifyError, req, reply) => {
    const api = resolveApiError(err, bodyLimit, req);
    return reply.status(api.status).headers(api.headers).send(render(api));
  });
}
