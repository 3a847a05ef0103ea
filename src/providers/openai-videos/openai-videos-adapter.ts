import { failure } from '../../domain/failures.ts';
import { callJson, type CallResult } from '../upstream/http-call.ts';
import { downloadFromUpstream, type DownloadLimits, type OutboundPolicy } from '../upstream/download.ts';
import type { ModelParams, OpenAiVideosDialect } from '../upstream/openai-videos-config.ts';
import type { ChannelCheck, PollOutcome, SubmitOutcome, UpstreamAdapter, UpstreamJob } from '../upstream/upstream-provider.ts';
import { cropToAspect } from '../vidu/frame-image.ts';
import { LABELS, pollFailure, serverErrorMessage, submitFailure } from './errors.ts';
import { acceptRecord, DONE_PREFIX, readRecord, type RecordContext } from './job-record.ts';
import { formData } from './multipart.ts';
import { createRequest } from './request-mapping.ts';

export interface OpenAiVideosOptions {
  /** The server's /v1 base (videosBaseUrl). */
  baseUrl: string;
  apiKey: string | undefined;
  dialect: OpenAiVideosDialect;
  /** Per public model id: the operator's defaults for the server's knobs. */
  params: Readonly<Record<string, ModelParams>>;
  /** Polls, cancels, the check: a local server answers these at once. */
  requestTimeoutMs: number;
  /** The create call: Dynamo may answer it only when the video is done, so it gets as long as a job may take. */
  createTimeoutMs: number;
  download: DownloadLimits;
  policy: OutboundPolicy;
}

/** A cancel runs after the task's own signal aborted: it gets a short budget of its own. */
const CANCEL_TIMEOUT_MS = 10_000;

/**
 * A self-hosted OpenAI-style /v1/videos server (UPSTREAM.md §6.2): vLLM-Omni,
 * SGLang Diffusion or NVIDIA Dynamo, one adapter with a dialect switch for
 * the create body. Create `POST /videos`, poll `GET /videos/{id}`, result
 * `GET /videos/{id}/content` (or Dynamo's `data[0].url`), cancel `DELETE /videos/{id}`.
 * How many jobs a server gets at once is Reelay's business (channel slots), not the adapter's.
 */
export function openAiVideosAdapter(o: OpenAiVideosOptions): UpstreamAdapter {
  const base = o.baseUrl.replace(/\/+$/, '');
  const label = LABELS[o.dialect];
  const secrets = o.apiKey ? [o.apiKey] : [];
  const auth: Record<string, string> = o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {};
  const ctx: RecordContext = { label, base, secrets };
  const origin = new URL(base).origin;
  const host = new URL(base).hostname;
  const call = (method: 'GET' | 'POST' | 'DELETE', path: string, signal: AbortSignal, extra: { json?: unknown; body?: Buffer; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<CallResult> => callJson({
    method, url: `${base}${path}`, signal, label, secrets, errorMessage: serverErrorMessage, timeoutMs: extra.timeoutMs ?? o.requestTimeoutMs,
    headers: { ...auth, ...extra.headers }, ...(extra.json !== undefined ? { json: extra.json } : {}), ...(extra.body ? { body: extra.body } : {}),
  });
  const jobPath = (id: string) => `/videos/${encodeURIComponent(id)}`;

  async function submit(job: UpstreamJob, signal: AbortSignal): Promise<SubmitOutcome> {
    let image: Buffer | undefined;
    try {
      // Open I2V models stretch the start frame to the output size: frame it to the task's aspect first, as the local renderer does.
      image = job.images[0] ? await cropToAspect(job.images[0], job.width, job.height) : undefined;
    } catch {
      return { ok: false, failure: failure('upstream_rejected', 'request', `${label}: the start image could not be read.`) };
    }
    signal.throwIfAborted();
    const req = createRequest(o.dialect, job, o.params[job.model.id] ?? {}, image);
    const timeoutMs = o.createTimeoutMs;
    let r: CallResult;
    if (req.body.kind === 'json') r = await call('POST', '/videos', signal, { json: req.body.json, timeoutMs });
    else {
      const form = formData(req.body.fields, req.body.files);
      r = await call('POST', '/videos', signal, { body: form.body, headers: { 'content-type': form.contentType }, timeoutMs });
    }
    if (!r.ok) return { ok: false, failure: submitFailure(r, label) };
    const accepted = acceptRecord(r.body, ctx);
    // The seed an operator's default chose is what the video was made with: the task's metadata says so.
    return accepted.ok && req.seed !== job.seed ? { ...accepted, facts: { seed: req.seed } } : accepted;
  }

  async function poll(id: string, signal: AbortSignal): Promise<PollOutcome> {
    if (id.startsWith(DONE_PREFIX)) return { state: 'done', video: { kind: 'url', url: id.slice(DONE_PREFIX.length) } };
    const r = await call('GET', jobPath(id), signal);
    if (!r.ok) return { state: 'failed', failure: pollFailure(r, label) };
    return readRecord(r.body, id, ctx);
  }

  async function check(upstreamModels: readonly string[], signal: AbortSignal): Promise<ChannelCheck> {
    // /models is vLLM's and Dynamo's standard listing; a server without it is still checked for reach and key by listing jobs.
    const listed = await call('GET', '/models', signal);
    const ids = listed.ok && Array.isArray(listed.body.data) ? (listed.body.data as { id?: unknown }[]).map((m) => m.id).filter((x) => typeof x === 'string') : null;
    const probe = listed.ok || (listed.status !== 404 && listed.status !== 405) ? listed : await call('GET', '/videos?limit=1', signal);
    if (!probe.ok) {
      const refused = probe.status === 401 || probe.status === 403;
      const detail = refused ? `${label} refused the channel's API key (HTTP ${probe.status})` : `${label} could not be checked: ${probe.detail || `HTTP ${probe.status}`}`;
      return { credentials: { ok: false, detail }, models: upstreamModels.map((upstreamModel) => ({ upstreamModel, ok: null, detail: 'not checked: the server did not answer' })) };
    }
    const models = upstreamModels.map((upstreamModel) => (ids === null
      ? { upstreamModel, ok: null, detail: `${label} lists no models here; the name is checked by the first job` }
      : ids.includes(upstreamModel) ? { upstreamModel, ok: true, detail: `${label} serves ${upstreamModel}` }
        : { upstreamModel, ok: false, detail: `${label} serves ${ids.join(', ') || 'no model'}, not ${upstreamModel}` }));
    return { credentials: { ok: true, detail: `${label} answered${o.apiKey ? ' and accepted the API key' : ''}` }, models };
  }

  return {
    name: 'openai-videos',
    submit,
    poll,
    check,
    async cancel(id) {
      if (id.startsWith(DONE_PREFIX)) return;
      // vLLM-Omni deletes the job; SGLang forgets it but cannot stop a running one; Dynamo's DELETE is [U]. Best effort either way.
      try {
        await call('DELETE', jobPath(id), new AbortController().signal, { timeoutMs: Math.min(o.requestTimeoutMs, CANCEL_TIMEOUT_MS) });
      } catch { /* only our own (never aborted) signal could throw */ }
    },
    download(url, path, signal) {
      return downloadFromUpstream(url, {
        ...o.download, path, signal, label, policy: o.policy, headers: { ...auth, accept: 'application/binary' }, trustedOrigin: origin,
        // Another port of the host the operator configured (Dynamo's media server) is the operator's too.
        trusts: (u) => u.hostname === host && (u.protocol === 'http:' || u.protocol === 'https:'),
        // SGLang answers 404 "Generation is still in-progress" until the file exists: poll again, the job decides.
        statusError: (status) => (status === 404 ? failure('upstream_unavailable', 'transient', `${label}: the video is not there yet (HTTP 404).`) : undefined),
      });
    },
  };
}
