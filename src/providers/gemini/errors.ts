import { failure, type UpstreamFailure } from '../../domain/failures.ts';
import { httpFailure, redact, retryAfterMs, type CallFailed } from '../upstream/http-call.ts';

/**
 * Where an error was met decides what a "not found" or a plain 400 means
 * (UPSTREAM.md §1.2, §1.3):
 * - create: a 404 / "is no longer available" is the model not served here;
 * - poll: a GET carries only the job's id, so a 404 or a 400 ("Invalid
 *   interaction name") means the upstream no longer knows the job;
 * - result: the error a finished operation or interaction carries.
 */
export type Stage = 'create' | 'poll' | 'result';

/** One Google error, read from either envelope: google.rpc (numeric code + status) or Interactions (string code). */
export interface GoogleError {
  /** Upper-case canonical status: INVALID_ARGUMENT, NOT_FOUND, … ('' when none). */
  status: string;
  message: string;
  /** ErrorInfo reasons, e.g. API_KEY_INVALID. */
  reasons: string[];
  /** RetryInfo.retryDelay in ms, when present. */
  retryDelayMs?: number;
}

const GRPC = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];
/** Interactions' own spellings of the same statuses. */
const ALIASES: Record<string, string> = { INVALID_REQUEST: 'INVALID_ARGUMENT', RATE_LIMIT_EXCEEDED: 'RESOURCE_EXHAUSTED' };

/**
 * Reads an error value: a body (`{error:{…}}`, possibly wrapped in a
 * one-element array), an `error` object itself, or a bare string.
 * `numericCode` says what a number in `code` is: an HTTP status in an HTTP
 * error body (ignored: the real status is known), a gRPC code in a finished
 * operation's `error`.
 */
export function readGoogleError(value: unknown, numericCode: 'http' | 'grpc'): GoogleError {
  let v = Array.isArray(value) ? value[0] : value;
  if (v && typeof v === 'object' && 'error' in v) v = (v as { error: unknown }).error;
  if (typeof v === 'string') return { status: '', message: v, reasons: [] };
  const e = (v ?? {}) as { code?: unknown; status?: unknown; message?: unknown; details?: unknown };
  let status = typeof e.status === 'string' ? e.status.toUpperCase() : '';
  if (!status && typeof e.code === 'string') status = e.code.toUpperCase();
  if (!status && typeof e.code === 'number' && numericCode === 'grpc') status = GRPC[e.code] ?? '';
  status = ALIASES[status] ?? status;
  const details = Array.isArray(e.details) ? e.details as { reason?: unknown; retryDelay?: unknown }[] : [];
  const reasons = details.map((d) => d?.reason).filter((r): r is string => typeof r === 'string');
  const delay = details.map((d) => d?.retryDelay).find((d): d is string => typeof d === 'string' && /^\d+(\.\d+)?s$/.test(d));
  return {
    status, message: typeof e.message === 'string' ? e.message : '', reasons,
    ...(delay ? { retryDelayMs: Math.round(Number.parseFloat(delay) * 1000) } : {}),
  };
}

/** The channel's key was refused: Google answers this with a 400, not 401/403 (§1.2). */
export const isKeyInvalid = (e: GoogleError) => e.reasons.includes('API_KEY_INVALID') || /API key not valid|API Key not found/i.test(e.message);

const MODEL_GONE = /is no longer available|is not found/i;
/** [U] one user got a 400 naming personGeneration on image-to-video: it will fail again anywhere, never retry it. */
const PERSON_GENERATION = /personGeneration/i;

/** A failed create/poll call → its class. */
export function classifyCall(r: CallFailed, stage: Stage, label: string): UpstreamFailure {
  if (r.status === null) return httpFailure(r, label);
  const e = readGoogleError(r.body, 'http');
  const detail = r.detail ? `: ${r.detail}` : '';
  if (isKeyInvalid(e)) return failure('upstream_auth', 'channel', `${label} refused the channel's API key (HTTP ${r.status})${detail}`);
  const s = e.status;
  if (s === 'FAILED_PRECONDITION') return quota(label, `HTTP ${r.status}${detail}`);
  if (r.status === 401 || r.status === 403 || s === 'PERMISSION_DENIED' || s === 'UNAUTHENTICATED') {
    return failure('upstream_auth', 'channel', `${label} refused the channel's credentials (HTTP ${r.status})${detail}`);
  }
  if (r.status === 429 || s === 'RESOURCE_EXHAUSTED') {
    const wait = Math.max(r.retryAfterMs ?? 1000, e.retryDelayMs === undefined ? 0 : retryAfterMs(String(Math.ceil(e.retryDelayMs / 1000))));
    return failure('upstream_unavailable', 'throttled', `${label} is throttling requests (HTTP ${r.status})${detail}`, wait);
  }
  if (r.status >= 500 || r.status === 408) return httpFailure(r, label);
  const notFound = r.status === 404 || s === 'NOT_FOUND';
  if (stage === 'create' && !PERSON_GENERATION.test(e.message) && (notFound || MODEL_GONE.test(e.message))) {
    return failure('model_unavailable', 'model', `${label} does not serve this model (HTTP ${r.status})${detail}`);
  }
  if (stage !== 'create') return lostJob(label, `HTTP ${r.status}${detail}`);
  return failure('upstream_rejected', 'request', `${label} rejected the request (HTTP ${r.status})${detail}`);
}

/**
 * The error a finished Veo operation (`done` + `error`) or a `failed`
 * interaction (`error` / `errors[0]`) carries. Its message comes from a 2xx
 * body, which callJson did not redact: do it here.
 */
export function classifyJobError(err: unknown, label: string, secrets: readonly string[]): UpstreamFailure {
  const e = readGoogleError(err, 'grpc');
  const msg = redact(e.message || 'the job failed without a message', secrets);
  if (isKeyInvalid(e)) return failure('upstream_auth', 'channel', `${label} refused the channel's API key: ${msg}`);
  if (PERSON_GENERATION.test(e.message)) return failure('upstream_rejected', 'request', `${label} rejected the request: ${msg}`);
  switch (e.status) {
    case 'FAILED_PRECONDITION': return quota(label, msg);
    case 'PERMISSION_DENIED': case 'UNAUTHENTICATED':
      return failure('upstream_auth', 'channel', `${label} refused the channel's credentials: ${msg}`);
    case 'RESOURCE_EXHAUSTED': return failure('upstream_unavailable', 'throttled', `${label} is out of capacity: ${msg}`, e.retryDelayMs ?? 1000);
    case 'NOT_FOUND': case 'CANCELLED': return lostJob(label, msg);
    case 'INVALID_ARGUMENT': case 'OUT_OF_RANGE': case 'ALREADY_EXISTS': case 'UNIMPLEMENTED':
      return failure('upstream_rejected', 'request', `${label} rejected the request: ${msg}`);
    default:
      // INTERNAL, UNAVAILABLE, DEADLINE_EXCEEDED, UNKNOWN, ABORTED, DATA_LOSS and anything unrecognised: nothing says the request was at fault.
      return failure('upstream_unavailable', 'transient', `${label}: the job failed: ${msg}`);
  }
}

/** Billing off, a region without access, a spent budget: this channel cannot run jobs now; another might. */
export const quota = (label: string, detail: string) =>
  failure('upstream_quota', 'channel', `${label} cannot run jobs on this channel's account (billing, region or budget): ${detail}`);

export const lostJob = (label: string, detail: string) =>
  failure('upstream_lost_job', 'transient', `${label} no longer knows this job: ${detail}`);

/**
 * Interactions: "a safety refusal can be … a create-time 400" (§1.3), with no
 * documented code of its own, so it is recognised by its words. Both readings
 * end the task; this only picks the truer code.
 */
export function asContentBlock(f: UpstreamFailure): UpstreamFailure {
  return f.fault === 'request' && /\bsafety\b|responsible ai|\bblocked\b/i.test(f.message) ? failure('content_filtered', 'content', f.message) : f;
}

/** A 400 that names a field: the service's own word on a [U] field (response_modalities, seed). */
export function namesField(r: CallFailed, field: string): boolean {
  if (r.status !== 400) return false;
  const e = readGoogleError(r.body, 'http');
  const named = new RegExp(`\\b${field}\\b`);
  return !isKeyInvalid(e) && e.status !== 'FAILED_PRECONDITION' && (named.test(e.message) || named.test(r.detail));
}
