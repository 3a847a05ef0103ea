import { googleErrorBody } from './compat/views.ts';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ApiError, errors, isApiError } from '../domain/errors.ts';
import { closeAfterAnswer } from './lingering-close.ts';

/** The Google SDK surfaces (Gemini API, Vertex AI): their clients parse Google's error envelope, not §10. */
const GOOGLE_PATHS = /^\/(v1beta|v1beta1)\/|^\/v1\/(projects|publishers)\//;

/** Fastify's own client errors, translated into the catalogue. */
function fromFastify(err: FastifyError, bodyLimit: number, contentType: string | undefined, accepts: string[]): ApiError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
      return errors.bodyTooLarge(bodyLimit);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType(contentType, accepts);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.invalid('invalid_json', 'The request body is empty; send a JSON object.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return errors.invalidJson('it could not be parsed');
    case 'FST_FILES_LIMIT':
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return errors.invalid('too_many_parts', 'The multipart body has too many parts; send the fields, at most two frames and the reference images (9 files in all).');
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return errors.invalid('invalid_multipart', 'The multipart body is malformed.');
    // Raised by the router before any route or hook runs (see frameworkErrorHandler).
    case 'FST_ERR_BAD_URL':
      return new ApiError(400, 'invalid_request_error', 'invalid_request', 'The URL path is not valid (malformed percent-encoding).');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ApiError(414, 'invalid_request_error', 'invalid_request', 'A path parameter of this URL is too long.');
  }
  if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
    return errors.invalidJson(err instanceof SyntaxError ? 'it could not be parsed' : 'the Content-Length does not match the body');
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    // Other framework-level client errors: keep the status, never echo internals.
    return new ApiError(err.statusCode, 'invalid_request_error', 'invalid_request', 'The request could not be processed as sent.');
  }
  return undefined;
}

const envelope = (api: ApiError) => ({ error: { type: api.type, code: api.code, message: api.message, param: api.param } });

// A database that is momentarily busy (SQLite lock held past REELAY_SQLITE_BUSY_TIMEOUT_MS, PostgreSQL
// serialization/lock/connection failures) is worth a retry, not a 500.
const DB_TRANSIENT = new Set([
  'SQLITE_BUSY', 'SQLITE_BUSY_RECOVERY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_TIMEOUT', 'SQLITE_LOCKED',
  '40001', '40P01', '55P03', '57P01', '08000', '08003', '08006', 'ECONNREFUSED',
]);
// Out of room where we write (the disk under SQLite or the blobs, a quota, PostgreSQL's disk_full):
// the service's problem, and it may pass once an operator frees space.
const STORAGE_FULL = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL', '53100']);

/** The first code in the error and its causes that `set` holds (infrastructure errors often arrive wrapped). */
function codeIn(err: unknown, set: ReadonlySet<string>): string | undefined {
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = String((e as { code?: unknown }).code ?? '');
    if (set.has(code)) return code;
  }
  return undefined;
}

const storageFull = () => new ApiError(503, 'api_error', 'storage_full',
  'The server is out of storage space and cannot take this request; retry later.', { headers: { 'retry-after': '60' } });

/**
 * Any thrown value → a catalogue error, logged as it deserves. Every surface
 * (the native API and the SDK-compatible ones) resolves errors here and only
 * differs in the envelope it renders.
 */
export function resolveApiError(err: FastifyError, bodyLimit: number, req: FastifyRequest): ApiError {
  // The Google surfaces take JSON only; the native API and the OpenAI surface also take multipart.
  const accepts = GOOGLE_PATHS.test(req.url) ? ['application/json'] : ['application/json', 'multipart/form-data'];
  const api = isApiError(err) ? err : fromFastify(err, bodyLimit, req.headers['content-type'], accepts);
  if (api) {
    if (api.status >= 500) req.log.error({ err: api.cause ?? api }, api.message);
    return api;
  }
  if (codeIn(err, DB_TRANSIENT)) {
    req.log.warn({ err }, 'database busy');
    return errors.unavailable('The database is busy right now; retry the request in a moment.', 1);
  }
  if (codeIn(err, STORAGE_FULL)) {
    req.log.error({ err }, 'storage full');
    return storageFull();
  }
  req.log.error({ err }, 'unhandled error');
  return errors.internal(err);
}

/** Past this much unread body, a refused request's connection is closed rather than read to its end. */
const UNREAD_BODY_TO_CLOSE = 64 * 1024;

/**
 * A request refused before its body was read (a limit, a budget, a bad key)
 * would otherwise have its body read to the end and thrown away, so the
 * connection can serve the next request: up to 20 MB per refusal, and a key
 * looping refused uploads cost the event loop ~140 MB/s of buffers to collect.
 * Closing instead is what HTTP allows; the answer still reaches the client
 * (Node's http client, undici's fetch and curl all read it first) as long
 * as the close lingers until the client has read it (lingering-close.ts).
 */
function unreadBodyIsLarge(req: FastifyRequest): boolean {
  if (req.raw.complete) return false;
  const declared = Number(req.headers['content-length'] ?? NaN);
  return Number.isFinite(declared) ? declared > UNREAD_BODY_TO_CLOSE : req.headers['transfer-encoding'] !== undefined;
}

function render(err: FastifyError, bodyLimit: number, req: FastifyRequest, reply: FastifyReply) {
  const api = resolveApiError(err, bodyLimit, req);
  const body = GOOGLE_PATHS.test(req.url) ? googleErrorBody(api) : envelope(api);
  if (unreadBodyIsLarge(req)) {
    reply.header('connection', 'close');
    closeAfterAnswer(req.raw);
  }
  return reply.status(api.status).headers(api.headers).send(body);
}

/**
 * Fastify's `frameworkErrors`: errors the router raises before any hook runs
 * (malformed percent-encoding, an over-long path parameter). Without it they
 * answer in Fastify's own JSON shape, not §10, and without x-request-id.
 */
export function frameworkErrorHandler(bodyLimit: number) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    reply.header('x-request-id', req.id);
    render(err, bodyLimit, req, reply);
  };
}

/**
 * Node's 'clientError' (unparsable HTTP, headers too large, a request body not
 * received within requestTimeout — e.g. a slowloris peer): answer in the §10
 * envelope (code `invalid_request`, status kept) and drop the connection.
 */
export function clientErrorHandler(log: Logger) {
  return (err: Error & { code?: string }, socket: Socket): void => {
    // A reset peer is gone: nothing to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, message] = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'The request was not received in time; send it again without pausing.']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'The request headers are too large.']
        : [400, 'The request is not valid HTTP.'];
    log.debug({ err }, 'client error');
    // As Node itself does: never write into a response that has already started on this socket.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      const body = JSON.stringify(envelope(new ApiError(status, 'invalid_request_error', 'invalid_request', message)));
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n`
        + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    }
    socket.destroy(err);
  };
}

export function installErrorHandling(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((err: FastifyError, req, reply) => render(err, bodyLimit, req, reply));
  app.setNotFoundHandler((req, reply) => {
    const e = errors.routeNotFound(req.method, req.url.split('?')[0] ?? '');
    reply.status(404).send({ error: { type: e.type, code: e.code, message: e.message, param: null } });
  });
}
