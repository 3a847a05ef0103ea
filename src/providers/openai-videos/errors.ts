import { failure, type UpstreamFailure } from '../../domain/failures.ts';
import { httpFailure, redact, type CallFailed } from '../upstream/http-call.ts';
import type { OpenAiVideosDialect } from '../upstream/openai-videos-config.ts';

/** Names the server in messages users and operators see (never its address: that is the operator's business). */
export const LABELS: Record<OpenAiVideosDialect, string> = { 'vllm-omni': 'vLLM-Omni', sglang: 'SGLang Diffusion', dynamo: 'NVIDIA Dynamo' };

/**
 * The server's own words from an error body, whichever shape it answers in:
 * OpenAI's `{"error":{"message"}}` (vLLM's server), FastAPI's `{"detail": "…"}`
 * or its validation list `{"detail":[{"loc","msg"}]}` (SGLang), a bare
 * `{"error": "…"}` or `{"message": "…"}` (Dynamo's job record says `error` as a string).
 */
export function serverErrorMessage(body: unknown): string | undefined {
  const b = body as Record<string, unknown> | null | undefined;
  if (!b || typeof b !== 'object') return undefined;
  const e = b.error as { message?: unknown } | string | undefined;
  if (typeof e === 'string') return e;
  if (e && typeof e === 'object' && typeof e.message === 'string') return e.message;
  if (typeof b.detail === 'string') return b.detail;
  if (Array.isArray(b.detail)) {
    const items = b.detail.flatMap((d: { loc?: unknown; msg?: unknown }) => {
      if (typeof d?.msg !== 'string') return [];
      return [Array.isArray(d.loc) ? `${d.loc.join('.')}: ${d.msg}` : d.msg];
    });
    return items.length ? items.join('; ') : undefined;
  }
  return typeof b.message === 'string' ? b.message : undefined;
}

/**
 * A refused create. 503 is the server saying it is busy (its one GPU runs
 * someone else's job): a throttle, so the task waits rather than fails. 400
 * and 422 name a field of the request (quoted, final); the rest by status.
 */
export function submitFailure(r: CallFailed, label: string): UpstreamFailure {
  const said = r.detail ? `: ${r.detail}` : '';
  if (r.status === 503) return failure('upstream_unavailable', 'throttled', `${label} is busy (HTTP 503)${said}`, r.retryAfterMs);
  if (r.status === 400 || r.status === 422) return failure('upstream_rejected', 'request', `${label} refused the request (HTTP ${r.status})${said}`);
  return httpFailure(r, label);
}

/** A failed poll. 404: the server no longer knows the job (they keep no durable queue and forget jobs when they restart). */
export function pollFailure(r: CallFailed, label: string): UpstreamFailure {
  const said = r.detail ? `: ${r.detail}` : '';
  if (r.status === 404) return failure('upstream_lost_job', 'transient', `${label} no longer knows the job (HTTP 404${said}); it may have restarted.`);
  return httpFailure(r, label);
}

/**
 * A job the server reports failed. Its message is quoted and the failure is
 * final: another server would spend minutes of GPU on the same request for
 * a reason nobody here can read.
 */
export function jobFailure(label: string, error: unknown, secrets: readonly string[]): UpstreamFailure {
  const said = redact(serverErrorMessage({ error }) ?? '', secrets);
  return failure('upstream_rejected', 'request', `${label} failed the job${said ? `: ${said}` : ' without saying why'}.`);
}
