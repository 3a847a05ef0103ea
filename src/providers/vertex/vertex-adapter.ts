import { ProviderError } from '../provider.ts';
import { callJson, googleErrorMessage, invalidResponse } from '../upstream/http-call.ts';
import { downloadUntrusted, type DownloadLimits, type OutboundPolicy } from '../upstream/download.ts';
import type { PollOutcome, UpstreamAdapter } from '../upstream/upstream-provider.ts';
import { DEFAULT_STORAGE_BASE_URL, downloadGcsObject, parseGsUri } from './cloud-storage.ts';
import { vertexModelPath, vertexRequest } from './request-mapping.ts';
import type { TokenSource } from './token-source.ts';

export interface VertexOptions {
  project: string;
  location: string;
  /** Bearer tokens: staticTokenSource(VERTEX_ACCESS_TOKEN) or serviceAccountTokenSource(key). Asked once per call. */
  token: TokenSource;
  baseUrl: string;
  /** `gs://bucket/prefix/`: Vertex writes results there instead of answering with inline bytes. */
  storageUri?: string | undefined;
  /** The Cloud Storage JSON API origin gs:// results are read from (tests point it at a fake). */
  storageBaseUrl?: string | undefined;
  requestTimeoutMs: number;
  download: DownloadLimits;
  policy: OutboundPolicy;
}

const LABEL = 'Vertex AI';
/**
 * Without VERTEX_STORAGE_URI the video arrives base64 inside the poll answer.
 * 256 MB of JSON (~190 MB of video) is far above a Veo clip and well inside
 * what one string can hold; bigger results need VERTEX_STORAGE_URI.
 */
const INLINE_ANSWER_BYTES = 256 * 1024 * 1024;

interface Operation {
  name?: unknown;
  done?: unknown;
  error?: { message?: unknown };
  response?: { raiMediaFilteredCount?: unknown; videos?: { bytesBase64Encoded?: unknown; gcsUri?: unknown }[] };
}

/** Veo on Vertex AI: create with predictLongRunning, poll with fetchPredictOperation (a POST). */
export function vertexAdapter(o: VertexOptions): UpstreamAdapter {
  const base = o.baseUrl.replace(/\/+$/, '');
  const storageBaseUrl = o.storageBaseUrl ?? DEFAULT_STORAGE_BASE_URL;
  const ownBucket = o.storageUri ? /^gs:\/\/([^/]+)/.exec(o.storageUri)?.[1] : undefined;
  const once = async (path: string, signal: AbortSignal, json: unknown, maxBytes?: number): Promise<{ body: unknown } | { refused: ProviderError }> => {
    const token = await o.token.token(signal);
    try {
      return {
        body: await callJson({
          method: 'POST', url: `${base}${path}`, headers: { authorization: `Bearer ${token}` }, signal, json, label: LABEL,
          timeoutMs: o.requestTimeoutMs, secrets: [token], errorMessage: googleErrorMessage, ...(maxBytes ? { maxBytes } : {}),
        }),
      };
    } catch (e) {
      if (!(e instanceof ProviderError && e.code === 'upstream_auth' && o.token.invalidate)) throw e;
      o.token.invalidate(token);
      return { refused: e };
    }
  };
  // A cached token Vertex refuses (401/403: revoked before its expiry) is dropped and the call tried once more
  // with a fresh one, instead of every poll failing until the scheduled refresh an hour later.
  const call = async (path: string, signal: AbortSignal, json: unknown, maxBytes?: number) => {
    const first = await once(path, signal, json, maxBytes);
    if ('body' in first) return first.body;
    const second = await once(path, signal, json, maxBytes);
    if ('body' in second) return second.body;
    throw second.refused;
  };
  // The operation name carries the model; polls go to that model's fetchPredictOperation.
  const modelOf = (name: string) => /\/models\/([^/]+)\/operations\/[^/]+$/.exec(name)?.[1];
  return {
    name: 'vertex',
    async submit(job, signal) {
      const op = (await call(`${vertexModelPath(o.project, o.location, job.model.id)}:predictLongRunning`, signal, vertexRequest(job, { storageUri: o.storageUri }))) as Operation;
      if (typeof op.name !== 'string' || modelOf(op.name) !== job.model.id) throw invalidResponse(LABEL, 'an operation name for the model');
      return op.name;
    },
    async poll(name, signal): Promise<PollOutcome> {
      const model = modelOf(name) ?? '';
      const op = (await call(`${vertexModelPath(o.project, o.location, model)}:fetchPredictOperation`, signal, { operationName: name }, INLINE_ANSWER_BYTES)) as Operation;
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
      if (typeof v.gcsUri === 'string' && v.gcsUri.startsWith('gs://')) {
        const gs = parseGsUri(v.gcsUri);
        // The token can read more than our results: only the bucket Vertex was told to write to is fetched.
        if (!gs || (ownBucket && gs.bucket !== ownBucket)) throw invalidResponse(LABEL, `a result in the configured bucket ${ownBucket ?? ''}`.trim());
        return { done: true, video: { kind: 'url', url: v.gcsUri } };
      }
      if (typeof v.gcsUri === 'string' && v.gcsUri.startsWith('https://')) return { done: true, video: { kind: 'url', url: v.gcsUri } };
      throw invalidResponse(LABEL, 'video bytes or a gs:// or https:// gcsUri');
    },
    async download(url, path, signal) {
      if (url.startsWith('gs://')) {
        // Checked again here: the URL may have been stored and read back since poll.
        const gs = parseGsUri(url);
        if (!gs) throw invalidResponse(LABEL, 'a valid gs://bucket/object result');
        const token = await o.token.token(signal);
        return downloadGcsObject(gs, { ...o.download, storageBaseUrl, token, path, signal, policy: o.policy, label: LABEL });
      }
      // An https gcsUri is a link for anyone: no credential, SSRF-checked.
      return downloadUntrusted(url, { ...o.download, path, signal, label: LABEL, policy: o.policy });
    },
  };
}
