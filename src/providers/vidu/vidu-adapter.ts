import { failure } from '../../domain/failures.ts';
import { callJson, invalidResponse, viduErrorMessage, type CallResult } from '../upstream/http-call.ts';
import { downloadUntrusted, type DownloadLimits, type OutboundPolicy } from '../upstream/download.ts';
import type { ChannelCheck, PollOutcome, SubmitOutcome, UpstreamAdapter, UpstreamJob } from '../upstream/upstream-provider.ts';
import { viduRequest, type ViduEndpoint } from './request-mapping.ts';
import { viduEndpoint, viduImages } from './endpoint-plan.ts';
import { fitImages } from './body-fit.ts';
import { LABEL, viduHttpFailure, viduTaskFailure } from './errors.ts';

export interface ViduOptions {
  apiKey: string;
  baseUrl: string;
  requestTimeoutMs: number;
  download: DownloadLimits;
  policy: OutboundPolicy;
  /** Vidu calls this URL on each state change (a faster path than polling); absent, it is polling only. */
  callbackUrl?: (taskId: string) => string;
}

/** Task ids are long decimal numbers; this one cannot exist, so asking for it costs nothing and creates nothing. */
const PROBE_TASK = '0';
/** A cancel is sent after the task's own signal aborted: it gets a short budget of its own. */
const CANCEL_TIMEOUT_MS = 10_000;
const NO_MODEL_CHECK = 'Vidu offers no way to check a model without generating a video';

interface Creations { state?: unknown; err_code?: unknown; creations?: { url?: unknown }[] }

/**
 * Vidu's enterprise API (UPSTREAM.md §4): create with /img2video, /start-end2video
 * (start and end image) or /reference2video (reference images), poll
 * /tasks/{id}/creations, cancel /tasks/{id}/cancel. No extension.
 */
export function viduAdapter(o: ViduOptions): UpstreamAdapter {
  const base = o.baseUrl.replace(/\/+$/, '');
  const call = (method: 'GET' | 'POST', path: string, signal: AbortSignal, body?: string, timeoutMs = o.requestTimeoutMs): Promise<CallResult> => callJson({
    method, url: `${base}${path}`, signal, label: LABEL, timeoutMs, secrets: [o.apiKey], errorMessage: viduErrorMessage,
    headers: { authorization: `Token ${o.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body }),
  });
  const taskPath = (id: string) => `/tasks/${encodeURIComponent(id)}`;

  async function submit(job: UpstreamJob, signal: AbortSignal): Promise<SubmitOutcome> {
    const plan = viduEndpoint(job);
    if ('problem' in plan) return { ok: false, failure: failure('upstream_rejected', 'request', `${plan.problem}.`) };
    const body = await buildBody(job, plan.endpoint);
    signal.throwIfAborted();
    if (!body.ok) return { ok: false, failure: failure('upstream_rejected', 'request', `${LABEL}: ${body.reason}.`) };
    const r = await call('POST', `/${plan.endpoint}`, signal, body.json);
    if (!r.ok) return { ok: false, failure: viduHttpFailure(r, 'submit') };
    const raw = r.body.task_id;
    const id = typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : raw;
    if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(id)) return { ok: false, failure: invalidResponse(LABEL, 'a task_id') };
    return { ok: true, id };
  }

  async function buildBody(job: UpstreamJob, endpoint: ViduEndpoint) {
    let images: Buffer[];
    try {
      images = await viduImages(job, endpoint);
    } catch {
      // Inputs were checked at submit; an image sharp cannot read here is still the request's.
      return { ok: false as const, reason: `${job.images.length + (job.referenceImages?.length ?? 0) > 1 ? 'an image' : 'the start image'} could not be read` };
    }
    try {
      return await fitImages(images, (uris) => viduRequest(job, uris, o.callbackUrl?.(job.taskId), endpoint));
    } catch {
      return { ok: false as const, reason: 'an image could not be re-encoded to fit Vidu\'s 20 MB request limit' };
    }
  }

  async function poll(id: string, signal: AbortSignal): Promise<PollOutcome> {
    const r = await call('GET', `${taskPath(id)}/creations`, signal);
    if (!r.ok) return { state: 'failed', failure: viduHttpFailure(r, 'task') };
    const t = r.body as Creations;
    if (t.state === 'success') {
      const url = t.creations?.[0]?.url;
      if (typeof url !== 'string' || !url) return { state: 'failed', failure: invalidResponse(LABEL, 'a creation URL') };
      return { state: 'done', video: { kind: 'url', url } };
    }
    if (t.state === 'failed') return { state: 'failed', failure: viduTaskFailure(t.err_code) };
    if (typeof t.state !== 'string') return { state: 'failed', failure: invalidResponse(LABEL, 'a task state') };
    // created, queueing, processing, scheduled (off-peak, waiting for its slot) and any state Vidu adds later: still running.
    return { state: 'running' };
  }

  async function check(upstreamModels: readonly string[], signal: AbortSignal): Promise<ChannelCheck> {
    const r = await call('GET', `${taskPath(PROBE_TASK)}/creations`, signal);
    const models = upstreamModels.map((upstreamModel) => ({ upstreamModel, ok: null, detail: NO_MODEL_CHECK }));
    // Authentication comes before the lookup: "no such task" (404, or a 400 for the id) means the key was accepted.
    if (r.ok || r.status === 404 || r.status === 400) return { credentials: { ok: true, detail: `${LABEL} accepted the API key` }, models };
    const f = viduHttpFailure(r, 'task');
    const detail = f.code === 'upstream_auth' ? f.message : `the API key could not be checked: ${f.message}`;
    return { credentials: { ok: false, detail }, models };
  }

  return {
    name: 'vidu',
    submit,
    poll,
    check,
    async cancel(id) {
      // Best effort: a task already finished, or scheduled for off-peak, is refused by Vidu; nothing to do then.
      try {
        await call('POST', `${taskPath(id)}/cancel`, new AbortController().signal, JSON.stringify({ id }), Math.min(o.requestTimeoutMs, CANCEL_TIMEOUT_MS));
      } catch { /* only our own (never aborted) signal could throw */ }
    },
    download(url, path, signal) {
      return downloadUntrusted(url, { ...o.download, path, signal, label: LABEL, policy: o.policy });
    },
  };
}
