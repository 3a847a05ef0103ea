import { failure, type UpstreamFailure } from '../../domain/failures.ts';
import { invalidResponse } from '../upstream/http-call.ts';
import type { PollOutcome, ResultVideo, SubmitOutcome } from '../upstream/upstream-provider.ts';
import { jobFailure } from './errors.ts';

export interface RecordContext {
  label: string;
  /** The server's /v1 base: a finished job's bytes are at {base}/videos/{id}/content. */
  base: string;
  secrets: readonly string[];
}

/**
 * A job the create call answered as already finished (Dynamo's NvVideosResponse
 * comes back `completed` with `data[0].url` when the video is done): its id
 * carries the result, so polling it costs no call.
 */
export const DONE_PREFIX = 'done:';

/** Job ids as the servers make them (video_gen_<hex>, uuids, request ids); anything else is not an id we send back in a path. */
const ID = /^[A-Za-z0-9_.:-]{1,200}$/;

/**
 * Where a completed job's video is: Dynamo's `data[0].url` (or inline
 * `b64_json`), else the standard `GET /videos/{id}/content` (vLLM-Omni, SGLang).
 * A URL Reelay cannot fetch (a server-local file://) is the operator's setup,
 * said plainly.
 */
function videoOf(record: Record<string, unknown>, id: string, ctx: RecordContext): { ok: true; video: ResultVideo } | { ok: false; failure: UpstreamFailure } {
  const first = Array.isArray(record.data) ? (record.data[0] as { url?: unknown; b64_json?: unknown } | undefined) : undefined;
  if (typeof first?.url === 'string' && first.url) {
    if (/^https?:\/\//i.test(first.url)) return { ok: true, video: { kind: 'url', url: first.url } };
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(first.url)?.[1] ?? 'a relative';
    return { ok: false, failure: failure('upstream_invalid_response', 'request', `${ctx.label} put the video at ${scheme} URL Reelay cannot fetch; have the server publish its media over HTTP.`) };
  }
  if (typeof first?.b64_json === 'string' && first.b64_json) return { ok: true, video: { kind: 'bytes', data: Buffer.from(first.b64_json, 'base64') } };
  return { ok: true, video: { kind: 'url', url: `${ctx.base}/videos/${encodeURIComponent(id)}/content` } };
}

const progressOf = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? Math.max(0, Math.min(100, Math.round(v))) : undefined);

/**
 * A job record → where the job is (UPSTREAM.md §6.2). vLLM-Omni goes
 * queued → in_progress → completed | failed with `progress`; SGLang
 * queued → completed | failed (no in_progress seen [U]); any other state a
 * server adds is taken as still running. `deleted`/`cancelled`: someone else
 * removed the job on the server, so it is lost, not failed.
 */
export function readRecord(record: Record<string, unknown>, id: string, ctx: RecordContext): PollOutcome {
  const status = record.status;
  if (typeof status !== 'string') return { state: 'failed', failure: invalidResponse(ctx.label, 'a job status') };
  switch (status) {
    case 'completed': {
      const v = videoOf(record, id, ctx);
      return v.ok ? { state: 'done', video: v.video } : { state: 'failed', failure: v.failure };
    }
    case 'failed':
      return { state: 'failed', failure: jobFailure(ctx.label, record.error, ctx.secrets) };
    case 'deleted':
    case 'cancelled':
      return { state: 'failed', failure: failure('upstream_lost_job', 'transient', `${ctx.label}: the job was removed on the server (${status}).`) };
    default: {
      const progress = progressOf(record.progress);
      return progress === undefined ? { state: 'running' } : { state: 'running', progress };
    }
  }
}

/**
 * The create call's answer → the id to poll. A record already `completed`
 * (Dynamo answering once the video is done) becomes a DONE_PREFIX id; a
 * record already `failed` is the job's failure.
 */
export function acceptRecord(record: Record<string, unknown>, ctx: RecordContext): SubmitOutcome {
  const id = record.id;
  if (typeof id !== 'string' || !ID.test(id)) return { ok: false, failure: invalidResponse(ctx.label, 'a job id') };
  if (record.status === 'failed') return { ok: false, failure: jobFailure(ctx.label, record.error, ctx.secrets) };
  if (record.status !== 'completed') return { ok: true, id };
  const v = videoOf(record, id, ctx);
  if (!v.ok) return v;
  // Bytes cannot ride in an id; Reelay asks for response_format "url", so a server that inlines the video anyway is misconfigured.
  if (v.video.kind === 'bytes') return { ok: false, failure: failure('upstream_invalid_response', 'request', `${ctx.label} answered with the video inline although Reelay asked for a URL (response_format "url").`) };
  return { ok: true, id: `${DONE_PREFIX}${v.video.url}` };
}
