import { ProviderError } from '../provider.ts';
import { callJson, googleErrorMessage, invalidResponse } from '../upstream/http-call.ts';
import { downloadUntrusted, type DownloadLimits, type OutboundPolicy } from '../upstream/download.ts';
import type { PollOutcome, UpstreamAdapter } from '../upstream/upstream-provider.ts';
import { vertexModelPath, vertexRequest } from './request-mapping.ts';

export interface VertexOptions {
  project: string;
  location: string;
  /** An OAuth access token (e.g. `gcloud auth print-access-token`); service-account JSON is not read yet. */
  accessToken: string;
  baseUrl: string;
  requestTimeoutMs: number;
  download: DownloadLimits;
  policy: OutboundPolicy;
}

const LABEL = 'Vertex AI';

interface Operation {
  name?: unknown;
  done?: unknown;
  error?: { message?: unknown };
  response?: { raiMediaFilteredCount?: unknown; videos?: { bytesBase64Encoded?: unknown; gcsUri?: unknown }[] };
}

/** Veo on Vertex AI: create with predictLongRunning, poll with fetchPredictOperation (a POST). */
export function vertexAdapter(o: VertexOptions): UpstreamAdapter {
  const base = o.baseUrl.replace(/\/+$/, '');
  const call = (path: string, signal: AbortSignal, json: unknown) => callJson({
    method: 'POST', url: `${base}${path}`, headers: { authorization: `Bearer ${o.accessToken}` }, signal, json, label: LABEL,
    timeoutMs: o.requestTimeoutMs, secrets: [o.accessToken], errorMessage: googleErrorMessage,
  });
  // The operation name carries the model; polls go to that model's fetchPredictOperation.
  const modelOf = (name: string) => /\/models\/([^/]+)\/operations\/[^/]+$/.exec(name)?.[1];
  return {
    name: 'vertex',
    async submit(job, signal) {
      const op = (await call(`${vertexModelPath(o.project, o.location, job.model.id)}:predictLongRunning`, signal, vertexRequest(job))) as Operation;
      if (typeof op.name !== 'string' || modelOf(op.name) !== job.model.id) throw invalidResponse(LABEL, 'an operation name for the model');
      return op.name;
    },
    async poll(name, signal): Promise<PollOutcome> {
      const model = modelOf(name) ?? '';
      const op = (await call(`${vertexModelPath(o.project, o.location, model)}:fetchPredictOperation`, signal, { operationName: name })) as Operation;
      if (op.done !== true) return { done: false };
      if (op.error) {
        throw new ProviderError('upstream_rejected', `${LABEL}: ${typeof op.error.message === 'string' ? op.error.message : 'the operation failed'}`);
      }
      const v = op.response?.videos?.[0];
      if (!v) {
        if (Number(op.response?.raiMediaFilteredCount) > 0) throw new ProviderError('content_filtered', `${LABEL} filtered the generated video for safety.`);
        throw invalidResponse(LABEL, 'a generated video');
      }
      if (typeof v.bytesBase64Encoded === 'string' && v.bytesBase64Encoded) return { done: true, video: { kind: 'bytes', data: Buffer.from(v.bytesBase64Encoded, 'base64') } };
      if (typeof v.gcsUri === 'string' && v.gcsUri.startsWith('https://')) return { done: true, video: { kind: 'url', url: v.gcsUri } };
      if (typeof v.gcsUri === 'string') {
        throw new ProviderError('unsupported', `${LABEL} returned the video in Cloud Storage (gs://…); Reelay reads inline bytes only (do not set storageUri).`);
      }
      throw invalidResponse(LABEL, 'video bytes');
    },
    download(url, path, signal) {
      return downloadUntrusted(url, { ...o.download, path, signal, label: LABEL, policy: o.policy });
    },
  };
}
