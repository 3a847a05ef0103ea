/**
 * Errors thrown by the Reelay SDK. An API error carries the fields of the
 * error JSON (API.md §10) plus the request id, so a failing call can be found
 * in the server's logs.
 */
export class ReelayError extends Error {
  /** HTTP status; 0 when no response arrived (see ReelayConnectionError). */
  readonly status: number;
  readonly type: string;
  readonly code: string;
  readonly param: string | null;
  /** The server's `x-request-id` for this call, when it answered. */
  readonly requestId: string | null;
  /** Seconds the server asked us to wait (429/503), when it said. */
  readonly retryAfter: number | null;

  constructor(
    message: string,
    f: { status: number; type: string; code: string; param?: string | null; requestId?: string | null; retryAfter?: number | null },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ReelayError';
    this.status = f.status;
    this.type = f.type;
    this.code = f.code;
    this.param = f.param ?? null;
    this.requestId = f.requestId ?? null;
    this.retryAfter = f.retryAfter ?? null;
  }
}

/** The server could not be reached (refused, reset, DNS, per-request timeout). */
export class ReelayConnectionError extends ReelayError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { status: 0, type: 'connection_error', code: 'connection_error' }, options);
    this.name = 'ReelayConnectionError';
  }
}

/** `waitUntilDone` ran out of time; `task` is the last state seen (the task keeps running on the server). */
export class ReelayTimeoutError extends Error {
  readonly task: unknown;
  constructor(message: string, task: unknown) {
    super(message);
    this.name = 'TimeoutError';
    this.task = task;
  }
}

export function isReelayError(e: unknown): e is ReelayError {
  return e instanceof ReelayError;
}

/** The standard AbortError for an aborted signal: its own reason when that already is one. */
export function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error && r.name === 'AbortError') return r;
  return new DOMException('The operation was aborted.', 'AbortError');
}
