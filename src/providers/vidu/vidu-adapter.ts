import { ProviderError } from '../provider.ts';
import { callJson, invalidResponse, viduErrorMessage } from '../upstream/http-call.ts';
import { downloadUntrusted, type DownloadLimits, type OutboundPolicy } from '../upstream/download.ts';
import type { PollOutcome, UpstreamAdapter } from '../upstream/upstream-provider.ts';
import { viduRequest } from './request-mapping.ts';
import { cropToAspect } from './frame-image.ts';

export interface ViduOptions {
  apiKey: string;
  baseUrl: string;
  requestTimeoutMs: number;
  download: DownloadLimits;
  policy: OutboundPolicy;
  /** Vidu calls this URL on each state change (a faster path than polling); absent, it is polling only. */
  callbackUrl?: (taskId: string) => string;
}

const LABEL = 'Vidu';
/** Vidu moderation failures; everything else that fails is a plain rejection. */
const FILTERED = /audit|sensitive|illegal|moderation/i;

interface Creations { state?: unknown; err_code?: unknown; creations?: { url?: unknown }[] }

/** Vidu's enterprise API: create with /img2video, poll /tasks/{id}/creations, cancel /tasks/{id}/cancel. */
export function viduAdapter(o: ViduOptions): UpstreamAdapter {
  const base = o.baseUrl.replace(/\/+$/, '');
  const call = (method: 'GET' | 'POST', path: string, signal: AbortSignal, json?: unknown, timeoutMs = o.requestTimeoutMs) => callJson({
    method, url: `${base}${path}`, headers: { authorization: `Token ${o.apiKey}` }, signal, label: LABEL,
    timeoutMs, secrets: [o.apiKey], errorMessage: viduErrorMessage, ...(json === undefined ? {} : { json }),
  });
  return {
    name: 'vidu',
    async submit(job, signal) {
      const first = job.images[0];
      const framed = first ? { ...job, images: [await cropToAspect(first, job.width, job.height)] } : job;
      const body = { ...viduRequest(framed), ...(o.callbackUrl ? { callback_url: o.callbackUrl(job.taskId) } : {}) };
      const res = (await call('POST', '/img2video', signal, body)) as { task_id?: unknown };
      const id = typeof res.task_id === 'number' ? String(res.task_id) : res.task_id;
      if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(id)) throw invalidResponse(LABEL, 'a task_id');
      return id;
    },
    async poll(id, signal): Promise<PollOutcome> {
      const r = (await call('GET', `/tasks/${id}/creations`, signal)) as Creations;
      if (r.state === 'success') {
        const url = r.creations?.[0]?.url;
        if (typeof url !== 'string' || !url) throw invalidResponse(LABEL, 'a creation URL');
        return { done: true, video: { kind: 'url', url } };
      }
      if (r.state === 'failed') {
        const code = typeof r.err_code === 'string' && r.err_code ? r.err_code : 'unknown';
        throw new ProviderError(FILTERED.test(code) ? 'content_filtered' : 'upstream_rejected', `${LABEL} failed the task (err_code ${code}).`);
      }
      if (typeof r.state !== 'string' || !['created', 'queueing', 'processing'].includes(r.state)) throw invalidResponse(LABEL, 'a known task state');
      return { done: false };
    },
    async cancel(id) {
      // Not bound to the task's (already aborted) signal; a short, separate budget.
      await call('POST', `/tasks/${id}/cancel`, new AbortController().signal, { id }, Math.min(o.requestTimeoutMs, 10_000));
    },
    download(url, path, signal) {
      return downloadUntrusted(url, { ...o.download, path, signal, label: LABEL, policy: o.policy });
    },
  };
}
