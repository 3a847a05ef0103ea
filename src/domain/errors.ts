/**
 * The one error catalogue. Domain code throws these; the HTTP error handler
 * renders them as `{"error":{type,code,message,param}}` (API.md §10). Keeping
 * status and code together here means a status can't drift from its meaning.
 */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'insufficient_credits_error'
  | 'not_found_error'
  | 'conflict_error'
  | 'rate_limit_error'
  | 'api_error';

export class ApiError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  readonly code: string;
  readonly param: string | null;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    type: ErrorType,
    code: string,
    message: string,
    opts: { param?: string | null; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ApiError';
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = opts.param ?? null;
    this.headers = opts.headers ?? {};
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}

const invalid = (code: string, message: string, param: string | null = null) =>
  new ApiError(400, 'invalid_request_error', code, message, { param });

export const errors = {
  invalid,
  missingField: (param: string) => invalid(`missing_${param}`, `"${param}" is required.`, param),
  invalidField: (param: string, message: string, code = `invalid_${param}`) => invalid(code, message, param),
  invalidJson: (detail: string) => invalid('invalid_json', `The request body is not valid JSON: ${detail}`),
  unauthorized: (message = 'Missing API key: send "Authorization: Bearer <API key>".') =>
    new ApiError(401, 'authentication_error', 'invalid_api_key', message),
  forbiddenLink: (message: string) => new ApiError(403, 'invalid_request_error', 'invalid_signature', message),
  notFound: (what: string, id: string, param: string | null = null) =>
    new ApiError(404, 'not_found_error', `${what}_not_found`, `No ${what} found with id "${id}".`, { param }),
  routeNotFound: (method: string, url: string) =>
    new ApiError(404, 'not_found_error', 'route_not_found', `No route ${method} ${url}.`),
  conflict: (code: string, message: string) => new ApiError(409, 'conflict_error', code, message),
  bodyTooLarge: (limitBytes: number) =>
    new ApiError(413, 'invalid_request_error', 'body_too_large',
      `The request body exceeds the ${Math.round(limitBytes / 1024 / 1024)} MB limit.`),
  unsupportedMediaType: (got: string | undefined, allowed: string[]) =>
    new ApiError(415, 'invalid_request_error', 'unsupported_media_type',
      `Content-Type ${got ? `"${got}"` : '(none)'} is not supported here; use ${allowed.join(' or ')}.`),
  insufficientCredits: (price: number, balance: number) =>
    new ApiError(402, 'insufficient_credits_error', 'insufficient_credits',
      `This task costs ${price} credits but the key's balance is ${balance}. Ask an admin to grant credits, or choose fewer seconds, a lower size, or off_peak.`),
  tooManyActiveTasks: (limit: number) =>
    new ApiError(429, 'rate_limit_error', 'too_many_active_tasks',
      `This key already has ${limit} tasks queued or processing; wait for one to finish (or cancel one) and retry.`,
      { headers: { 'retry-after': '5' } }),
  serverBusy: (limit: number) =>
    new ApiError(429, 'rate_limit_error', 'server_busy',
      `This server is already reading ${limit} submissions; retry in a moment.`, { headers: { 'retry-after': '1' } }),
  rateLimited: (message: string, retryAfterSeconds: number) =>
    new ApiError(429, 'rate_limit_error', 'rate_limited', message,
      { headers: { 'retry-after': String(retryAfterSeconds) } }),
  internal: (cause?: unknown) =>
    new ApiError(500, 'api_error', 'internal_error', 'An internal error occurred. It has been logged; please retry.', { cause }),
  unavailable: (message: string, retryAfterSeconds = 5) =>
    new ApiError(503, 'api_error', 'service_unavailable', message, { headers: { 'retry-after': String(retryAfterSeconds) } }),
  /** extend_task_id names a task of this key whose video cannot be continued (yet, or any more). */
  extendSourceNotReady: (id: string, why: string) =>
    new ApiError(409, 'conflict_error', 'extend_source_not_ready', `Task ${id} cannot be extended: ${why}`, { param: 'extend_task_id' }),
  contentExpired: (id: string) =>
    new ApiError(404, 'not_found_error', 'content_expired', `The output of task ${id} has expired and is no longer stored.`, { param: 'task_id' }),
};
