import { failure, type UpstreamFailure } from '../../domain/failures.ts';
import { httpFailure, type CallFailed } from '../upstream/http-call.ts';

export const LABEL = 'Vidu';

/** Vidu's wait when a task failed for throttling: the answer carries no Retry-After (http-call's default for an unreadable one). */
const TASK_THROTTLE_MS = 10_000;

/** Moderation blocked the input (AuditSubmitIllegal, TaskPromptPolicyViolation) or the output (CreationPolicyViolation, refunded by Vidu). */
const CONTENT = new Set(['AuditSubmitIllegal', 'TaskPromptPolicyViolation', 'CreationPolicyViolation']);
/** The request itself: a field, or an image Vidu could not use. Final; Vidu's message is quoted. */
const REQUEST = new Set([
  'BadRequest', 'FieldLacking', 'FieldUnwanted', 'FieldItemCountOutOfRange', 'FieldInvalid',
  'ImageFormatInvalid', 'ImageDownloadFailure', 'ImageObjectsUndetected',
]);
const THROTTLED = new Set(['QuotaExceeded', 'TooManyRequests', 'SystemThrottling']);
const NOT_FOUND = new Set(['TaskNotFound', 'CreationNotFound', 'NotFound']);

/** Where a code was seen: a not-found means the task is gone only when we asked about a task. */
export type ViduPhase = 'submit' | 'task';

/**
 * The class of one of Vidu's codes (UPSTREAM.md §4, [VIDU-ERR]) — `reason`
 * of an HTTP error or `err_code` of a failed task, the same vocabulary —
 * or undefined for a code Vidu does not document.
 */
export function classifyViduCode(code: string, said: string, phase: ViduPhase, retryAfterMs = TASK_THROTTLE_MS): UpstreamFailure | undefined {
  if (CONTENT.has(code)) return failure('content_filtered', 'content', `${LABEL}'s moderation blocked the ${code === 'CreationPolicyViolation' ? 'generated video' : 'prompt or image'}${said}`);
  if (code === 'CreditInsufficient') return failure('upstream_quota', 'channel', `${LABEL}: the channel's account is out of credits${said}`);
  if (code === 'Unauthorized' || code === 'Forbidden') return failure('upstream_auth', 'channel', `${LABEL} refused the channel's credentials${said}`);
  if (code === 'ModelUnavailable') return failure('model_unavailable', 'model', `${LABEL} does not serve this model now${said}`);
  if (code === 'OperationInProcess' || code === 'InternalServiceFailure') return failure('upstream_unavailable', 'transient', `${LABEL} could not take the task now${said}`);
  if (THROTTLED.has(code)) return failure('upstream_unavailable', 'throttled', `${LABEL} is throttling requests${said}`, retryAfterMs);
  // Reelay's own cancel ends the task before any poll could see this, so a task
  // cancelled at Vidu was cancelled by someone else on the account (its console,
  // another client of the same key): the job is gone, not the request's fault.
  if (code === 'UserCancelled') return failure('upstream_lost_job', 'transient', `${LABEL}: the task was cancelled on the Vidu account${said}`);
  if (NOT_FOUND.has(code) && phase === 'task') return failure('upstream_lost_job', 'transient', `${LABEL} no longer knows the task${said}`);
  if (REQUEST.has(code) || code.startsWith('ImageCheck')) return failure('upstream_rejected', 'request', `${LABEL} refused the request${said}`);
  return undefined;
}

/** An HTTP error from Vidu: its general envelope {code, reason, message, metadata}, read before the status alone. */
export function viduHttpFailure(r: CallFailed, phase: ViduPhase): UpstreamFailure {
  const said = ` (HTTP ${r.status})${r.detail ? `: ${r.detail}` : ''}`;
  // The status is the surer signal for these three whatever the reason says.
  if (r.status === 401 || r.status === 403) return failure('upstream_auth', 'channel', `${LABEL} refused the channel's credentials${said}`);
  if (r.status === 429) return failure('upstream_unavailable', 'throttled', `${LABEL} is throttling requests${said}`, r.retryAfterMs ?? 1000);
  const reason = (r.body as { reason?: unknown } | null | undefined)?.reason;
  const known = r.status !== null && typeof reason === 'string' ? classifyViduCode(reason, said, phase, r.retryAfterMs) : undefined;
  if (known) return known;
  if (r.status === 404 && phase === 'task') return failure('upstream_lost_job', 'transient', `${LABEL} no longer knows the task${said}`);
  return httpFailure(r, LABEL);
}

/**
 * A task Vidu reports as failed. A code Vidu does not document is taken as
 * final for the request (quoted): failing over would spend another channel's
 * credits on a task that failed for a reason nobody can read.
 */
export function viduTaskFailure(errCode: unknown): UpstreamFailure {
  const code = typeof errCode === 'string' && /^[A-Za-z0-9_.-]{1,100}$/.test(errCode) ? errCode : '';
  const said = code ? ` (err_code ${code})` : '';
  return classifyViduCode(code, said, 'task')
    ?? failure('upstream_rejected', 'request', `${LABEL} failed the task${code ? said : ' without an err_code'}.`);
}
