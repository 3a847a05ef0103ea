/**
 * The one catalogue of the codes a task can end with (`error.code` of a
 * failed or cancelled task). Worker, poller, maintenance and providers take
 * their codes from here, and docs/api.md lists them. `fault` says whose
 * problem it is, which decides what happens next:
 *
 * - request   — the upstream refused what the user asked for: final, the task fails.
 * - content   — moderation blocked the input or the output: final (content_filtered).
 * - channel   — this channel cannot serve anything now (credentials refused, account
 *               out of credit, billing off): rest the channel, try the next one.
 * - model     — this channel does not serve this model (404, ModelUnavailable):
 *               rest channel × model, try the next one.
 * - transient — 5xx, timeout, network, an unreadable answer: retry or try the next;
 *               repeated on one channel, it rests.
 * - throttled — 429: pause the channel for the upstream's Retry-After, try the next.
 * - internal  — ours (disk, ffmpeg, a bug): the task fails, logged.
 */
export type Fault = 'request' | 'content' | 'channel' | 'model' | 'transient' | 'throttled' | 'internal';

interface FailureInfo {
  /** Who is at fault when this code ends a task. */
  readonly fault: Fault | 'user' | 'system';
  /** One line for docs/api.md. */
  readonly meaning: string;
}

export const FAILURE_CODES = {
  cancelled: { fault: 'user', meaning: 'The owner cancelled the task.' },
  off_peak_expired: { fault: 'system', meaning: 'An off-peak task did not finish within 48 h of creation; cancelled and refunded.' },
  upstream_rejected: { fault: 'request', meaning: 'The upstream model refused this request (a field or combination it does not accept); its message is quoted.' },
  content_filtered: { fault: 'content', meaning: 'The upstream\'s safety filters blocked the prompt, an image or the generated video.' },
  upstream_unavailable: { fault: 'channel', meaning: 'No upstream channel could take or finish the task (credentials refused, account out of credit, service down). The service\'s problem, not the request\'s; retry later.' },
  model_unavailable: { fault: 'model', meaning: 'No configured channel serves this model right now (retired or not enabled upstream). The service\'s problem, not the request\'s.' },
  upstream_auth: { fault: 'channel', meaning: 'A channel\'s credentials were refused (recorded on the channel; a task ends with upstream_unavailable).' },
  upstream_quota: { fault: 'channel', meaning: 'A channel\'s account is out of credit or its billing is off (recorded on the channel).' },
  upstream_timeout: { fault: 'transient', meaning: 'The upstream did not answer in time, or the job did not finish within REELAY_UPSTREAM_MAX_WAIT_MS.' },
  upstream_invalid_response: { fault: 'transient', meaning: 'The upstream answered with something Reelay could not read or refuses to fetch.' },
  upstream_lost_job: { fault: 'transient', meaning: 'The upstream forgot the job (a restart) and it could not be submitted again.' },
  provider_unavailable: { fault: 'system', meaning: 'No provider is configured for the task\'s model (or its channel was removed).' },
  extend_source_unavailable: { fault: 'user', meaning: 'The task being extended was deleted, or its video expired, before this task ran; refunded.' },
  render_failed: { fault: 'internal', meaning: 'The local renderer failed on this input.' },
  ffmpeg_unavailable: { fault: 'internal', meaning: 'ffmpeg could not be started on the worker.' },
  invalid_output: { fault: 'internal', meaning: 'The produced video could not be read back (empty or corrupt).' },
  storage_full: { fault: 'internal', meaning: 'The server ran out of disk space while storing the video.' },
  internal_error: { fault: 'internal', meaning: 'An internal error; it was logged.' },
} as const satisfies Record<string, FailureInfo>;

export type FailureCode = keyof typeof FAILURE_CODES;

export const isFailureCode = (code: string): code is FailureCode => Object.hasOwn(FAILURE_CODES, code);

/** A failed upstream call, as an adapter reports it: never an exception, never a secret in the message. */
export interface UpstreamFailure {
  readonly code: FailureCode;
  readonly fault: Exclude<Fault, 'internal'>;
  /** Safe to show the user and to record on the channel: the upstream's own words (redacted), no internals. */
  readonly message: string;
  /** throttled: how long the upstream asked us to wait (its Retry-After). */
  readonly retryAfterMs?: number;
}

export const failure = (code: FailureCode, fault: UpstreamFailure['fault'], message: string, retryAfterMs?: number): UpstreamFailure =>
  retryAfterMs === undefined ? { code, fault, message } : { code, fault, message, retryAfterMs };

/** Faults that say nothing about the request: another channel may well succeed. */
export const movesToNextChannel = (f: UpstreamFailure) => f.fault === 'channel' || f.fault === 'model' || f.fault === 'transient' || f.fault === 'throttled';
