import { failure, type UpstreamFailure } from '../../domain/failures.ts';
import { httpFailure, redact, retryAfterMs, type CallFailed } from '../upstream/http-call.ts';

export const LABEL = 'Vertex AI';

/** Which call failed: a 404 means a different thing on each. */
export type Stage = 'create' | 'poll' | 'check';

interface GoogleError { code?: unknown; message?: unknown; status?: unknown; details?: unknown }

/** Google's envelope, `{"error":{…}}`, unwrapped from the one-element array some front ends send (UPSTREAM.md §1.2). */
export function googleError(body: unknown): GoogleError | undefined {
  const b = Array.isArray(body) ? body[0] : body;
  const e = (b as { error?: unknown } | null | undefined)?.error;
  return e !== null && typeof e === 'object' && !Array.isArray(e) ? e as GoogleError : undefined;
}

const reasons = (e: GoogleError | undefined): string[] => (Array.isArray(e?.details) ? e.details : [])
  .map((d: unknown) => (d as { reason?: unknown } | null)?.reason)
  .filter((r): r is string => typeof r === 'string');

/**
 * A failed HTTP call to Vertex, classed by UPSTREAM.md §3 (after the 401
 * retry, which the caller does). What is not Vertex-specific falls back to
 * httpFailure: 429 throttled, 5xx/408/transport transient, other 4xx — a 400
 * naming a field, `resolution` or `personGeneration` included — the request.
 */
export function vertexCallFailure(r: CallFailed, stage: Stage, where: { model?: string; location: string }): UpstreamFailure {
  const e = googleError(r.body);
  const status = typeof e?.status === 'string' && /^[A-Z_]{1,40}$/.test(e.status) ? ` ${e.status}` : '';
  const said = r.detail ? `: ${r.detail}` : '';
  // Billing off is the channel's account, whatever status carries it.
  if (reasons(e).includes('BILLING_DISABLED')) return failure('upstream_quota', 'channel', `${LABEL}: billing is disabled for the channel's project (HTTP ${r.status}${status})${said}`);
  if (r.status === 401) return failure('upstream_auth', 'channel', `${LABEL} refused the channel's access token (HTTP 401${status})${said}`);
  if (r.status === 403) return failure('upstream_auth', 'channel', `${LABEL} denied the channel access (HTTP 403${status})${said}`);
  if (r.status === 404 && stage === 'poll') return failure('upstream_lost_job', 'transient', `${LABEL} no longer knows this operation (HTTP 404${status})${said}`);
  if (r.status === 404) {
    const model = where.model ? ` ${where.model}` : ' this model';
    return failure('model_unavailable', 'model', `${LABEL} does not serve${model} in ${where.location} (HTTP 404${status}): it is retired or not offered in this location${said}`);
  }
  return httpFailure(r, LABEL);
}

/** google.rpc.Code → fault, for `done:true` with `error` (UPSTREAM.md §3). */
const BY_RPC_CODE: Record<number, [UpstreamFailure['code'], UpstreamFailure['fault']]> = {
  3: ['upstream_rejected', 'request'], // INVALID_ARGUMENT
  9: ['upstream_rejected', 'request'], // FAILED_PRECONDITION
  11: ['upstream_rejected', 'request'], // OUT_OF_RANGE
  7: ['upstream_auth', 'channel'], // PERMISSION_DENIED
  16: ['upstream_auth', 'channel'], // UNAUTHENTICATED
  8: ['upstream_unavailable', 'throttled'], // RESOURCE_EXHAUSTED
};

/**
 * Vertex words a refused prompt or image as a usage-guidelines violation with
 * "Support codes" under INVALID_ARGUMENT. Not in UPSTREAM.md: both classes
 * end the task, this only names the cause right.
 */
const MODERATION = /usage guidelines|responsible ai|safety (filter|polic)|support codes?:/i;

/** A finished operation's `error` ({code, message} or, defensively, a bare string) as a failure. */
export function operationFailure(error: unknown): UpstreamFailure {
  const e = typeof error === 'string' ? { message: error } : (error ?? {}) as { code?: unknown; message?: unknown };
  const message = typeof e.message === 'string' && e.message ? redact(e.message, []) : 'the operation failed without a message';
  const code = typeof e.code === 'number' ? e.code : undefined;
  const text = `${LABEL}: ${message}${code === undefined ? '' : ` (google.rpc code ${code})`}`;
  if ((code === 3 || code === undefined) && MODERATION.test(message)) return failure('content_filtered', 'content', text);
  const known = code === undefined ? undefined : BY_RPC_CODE[code];
  if (known?.[1] === 'throttled') return failure(known[0], known[1], text, retryAfterMs(undefined));
  if (known) return failure(known[0], known[1], text);
  // UNAVAILABLE (14), INTERNAL (13), DEADLINE_EXCEEDED (4), UNKNOWN, NOT_FOUND, no code: nothing says the
  // request is at fault; another try or channel may work.
  return failure('upstream_unavailable', 'transient', text);
}
