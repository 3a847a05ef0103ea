import { ProviderError } from '../provider.ts';
import { callJson, googleErrorMessage, invalidResponse } from '../upstream/http-call.ts';
import { downloadFromUpstream, type DownloadLimits, type OutboundPolicy } from '../upstream/download.ts';
import type { PollOutcome, UpstreamAdapter } from '../upstream/upstream-provider.ts';
import { geminiCreatePath, geminiRequest } from './request-mapping.ts';

export interface GeminiOptions {
  apiKey: string;
  baseUrl: string;
  /** Per create/poll call. */
  requestTimeoutMs: number;
  download: DownloadLimits;
  policy: OutboundPolicy;
}

const LABEL = 'Gemini API';

interface Operation {
  name?: unknown;
  done?: unknown;
  error?: { message?: unknown };
  response?: { generateVideoResponse?: { generatedSamples?: { video?: { uri?: unknown; encodedVideo?: unknown } }[]; raiMediaFilteredCount?: unknown; raiMediaFilteredReasons?: unknown } };
}

/** Veo through the Gemini API (generativelanguage.googleapis.com), key in x-goog-api-key. */
export function geminiAdapter(o: GeminiOptions): UpstreamAdapter {
  const base = o.baseUrl.replace(/\/+$/, '');
  const call = (method: 'GET' | 'POST', path: string, signal: AbortSignal, json?: unknown, maxBytes?: number) => callJson({
    method, url: `${base}${path}`, headers: { 'x-goog-api-key': o.apiKey }, signal, label: LABEL,
    timeoutMs: o.requestTimeoutMs, secrets: [o.apiKey], errorMessage: googleErrorMessage, ...(json === undefined ? {} : { json }),
    ...(maxBytes ? { maxBytes } : {}),
  });
  return {
    name: 'gemini',
    async submit(job, signal) {
      const op = (await call('POST', geminiCreatePath(job.model.id), signal, geminiRequest(job))) as Operation;
      if (typeof op.name !== 'string' || !/^[A-Za-z0-9._\-/]+$/.test(op.name) || op.name.includes('..')) throw invalidResponse(LABEL, 'an operation name');
      return op.name;
    },
    async poll(name, signal): Promise<PollOutcome> {
      // A done operation may carry the clip inline (encodedVideo): read up to 256 MB, as for Vertex.
      const op = (await call('GET', `/v1beta/${name}`, signal, undefined, 256 * 1024 * 1024)) as Operation;
      if (op.done !== true) return { done: false };
      if (op.error) {
        const msg = typeof op.error.message === 'string' ? op.error.message : 'the operation failed';
        throw new ProviderError('upstream_rejected', `${LABEL}: ${msg}`);
      }
      const r = op.response?.generateVideoResponse;
      const sample = r?.generatedSamples?.[0]?.video;
      if (!sample) {
        if (Number(r?.raiMediaFilteredCount) > 0) {
          const reasons = Array.isArray(r?.raiMediaFilteredReasons) ? ` (${r.raiMediaFilteredReasons.filter((x) => typeof x === 'string').join('; ')})` : '';
          throw new ProviderError('content_filtered', `${LABEL} filtered the generated video for safety${reasons}.`);
        }
        throw invalidResponse(LABEL, 'a generated video');
      }
      if (typeof sample.encodedVideo === 'string' && sample.encodedVideo) return { done: true, video: { kind: 'bytes', data: Buffer.from(sample.encodedVideo, 'base64') } };
      if (typeof sample.uri === 'string' && sample.uri) return { done: true, video: { kind: 'url', url: sample.uri } };
      throw invalidResponse(LABEL, 'a video uri');
    },
    download(url, path, signal) {
      return downloadFromUpstream(url, {
        ...o.download, path, signal, label: LABEL, policy: o.policy,
        headers: { 'x-goog-api-key': o.apiKey }, trustedOrigin: new URL(base).origin,
      });
    },
  };
}
