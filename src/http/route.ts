import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { errors } from '../domain/errors.ts';

export interface ResponseDoc {
  description: string;
  schema?: z.ZodType;
  /** Non-JSON bodies (video/mp4, text/html, …). */
  contentType?: string;
}

/**
 * Who may call a route, as the OpenAPI document states it (the check itself is
 * the auth hook of the route's Fastify scope):
 * - `false`: anyone (operations, the console, signed links);
 * - `apiKey`: `Authorization: Bearer <API key>`;
 * - `admin`: `Authorization: Bearer <REELAY_ADMIN_TOKEN>`, the operator's token (not an API key);
 * - `google`: `x-goog-api-key: <API key>` as the Google SDKs send it (a Bearer API key works too);
 * - `viduSignature`: Vidu's HMAC-signed callback (not for API clients).
 */
export type RouteAuth = false | 'apiKey' | 'admin' | 'google' | 'viduSignature';

/** What a route says about itself: used to register it and to write the OpenAPI document. */
export interface RouteDoc {
  method: 'GET' | 'POST' | 'DELETE';
  /** Fastify syntax (`:task_id`, `:model(^[^:/]+)`, `::` for a literal colon); the OpenAPI writer turns it into `{task_id}`. */
  url: string;
  summary: string;
  tag: string;
  auth: RouteAuth;
  /** The error envelope of the route's surface (default: Reelay's, API.md §10). */
  errorSchema?: z.ZodType;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: { schema: z.ZodType; contentTypes: string[] };
  headers?: Record<string, string>;
  responses: Record<number, ResponseDoc>;
}

/** For compile-time checks that an answer's documented schema is exactly the type a handler returns. */
export type SameShape<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

export interface Route {
  doc: RouteDoc;
  handler(req: FastifyRequest, reply: FastifyReply): Promise<unknown>;
  /** Runs before the body is read (e.g. to refuse work the server cannot take on right now). */
  onRequest?(req: FastifyRequest, reply: FastifyReply): Promise<void>;
}

export function registerRoute(app: FastifyInstance, route: Route): void {
  app.route({ method: route.doc.method, url: route.doc.url, handler: route.handler, ...(route.onRequest ? { onRequest: route.onRequest } : {}) });
}

/** Parse params/query/body with a route's schema; a failure names the parameter (API.md §10). */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, root: 'query' | 'body' = 'query'): z.infer<S> {
  if (root === 'body' && value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw errors.invalid('invalid_body', 'The request body must be a JSON object.');
  }
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const param = String(issue.path[0] ?? root);
  throw errors.invalidField(param, `"${param}": ${issue.message}.`);
}
