import { failure, type UpstreamFailure } from '../../domain/failures.ts';
import { callJson, googleErrorMessage, invalidResponse, type CallFailed } from '../upstream/http-call.ts';
import { downloadUntrusted, type DownloadLimits, type OutboundPolicy } from '../upstream/download.ts';
import type { ChannelCheck, DownloadOutcome, UpstreamAdapter } from '../upstream/upstream-provider.ts';
import { DEFAULT_STORAGE_BASE_URL, downloadGcsObject } from './cloud-storage.ts';
import { googleError, LABEL, vertexCallFailure, type Stage } from './errors.ts';
import { notOurs, ownObject, readOperation } from './operation.ts';
import { publisherModelPath, vertexInputProblem, vertexModelPath, vertexRequest } from './request-mapping.ts';
import { TokenError, type TokenSource } from './token-source.ts';

export interface VertexOptions {
  project: string;
  location: string;
  /** Bearer tokens: staticTokenSource(VERTEX_ACCESS_TOKEN) or serviceAccountTokenSource(key). Asked once per call. */
  token: TokenSource;
  /** vertexBaseUrl(location) (endpoint.ts), or a test's fake. */
  baseUrl: string;
  /** `gs://bucket/prefix/`: Vertex writes results there instead of answering with inline bytes. */
  storageUri?: string | undefined;
  /** The Cloud Storage JSON API origin gs:// results are read from (tests point it at a fake). */
  storageBaseUrl?: string | undefined;
  requestTimeoutMs: number;
  download: DownloadLimits;
  policy: OutboundPolicy;
}

/**
 * Without VERTEX_STORAGE_URI the video arrives base64 inside the poll answer.
 * 256 MB of JSON (~190 MB of video) is far above a Veo clip and well inside
 * what one string can hold; bigger results need VERTEX_STORAGE_URI.
 */
const INLINE_ANSWER_BYTES = 256 * 1024 * 1024;

/** Answers to a create that sent an extension source by its gs:// URI after which the bytes are worth a second try. */
const REFERENCE_REFUSED = new Set([400, 403, 404]);

type Answer = { ok: true; body: Record<string, unknown> } | { ok: false; failure: UpstreamFailure; call?: CallFailed };

interface Call { method: 'GET' | 'POST'; path: string; json?: unknown; maxBytes?: number; model: string }

/** A token, or why there is none; only an abort (the caller's signal) or a bug throws. */
async function tokenOf(src: TokenSource, signal: AbortSignal): Promise<string | UpstreamFailure> {
  try {
    return await src.token(signal);
  } catch (e) {
    if (!signal.aborted && e instanceof TokenError) return e.failure;
    throw e;
  }
}

/** The operation name carries the model; polls go to that model's fetchPredictOperation. */
const modelOf = (name: string) => /\/models\/([^/]+)\/operations\/[^/]+$/.exec(name)?.[1];

/** Veo on Vertex AI: create with predictLongRunning, poll with fetchPredictOperation (a POST). */
export function vertexAdapter(o: VertexOptions): UpstreamAdapter {
  const base = o.baseUrl.replace(/\/+$/, '');
  const storageBaseUrl = o.storageBaseUrl ?? DEFAULT_STORAGE_BASE_URL;
  const ownBucket = o.storageUri ? /^gs:\/\/([^/]+)/.exec(o.storageUri)?.[1] : undefined;

  // A cached token Vertex refuses with 401 (revoked before its expiry) is dropped and the call tried once
  // more with a fresh one, instead of every poll failing until the scheduled refresh an hour later.
  // A 403 is not retried: it is IAM or the API switched off, which a new token does not change.
  const send = async (stage: Stage, c: Call, signal: AbortSignal): Promise<Answer> => {
    const used: string[] = [];
    for (;;) {
      const token = await tokenOf(o.token, signal);
      if (typeof token !== 'string') return { ok: false, failure: token };
      used.push(token);
      const r = await callJson({
        method: c.method, url: `${base}${c.path}`, headers: { authorization: `Bearer ${token}` }, signal, json: c.json, label: LABEL,
        timeoutMs: o.requestTimeoutMs, secrets: used, errorMessage: googleErrorMessage, ...(c.maxBytes ? { maxBytes: c.maxBytes } : {}),
      });
      if (r.ok) return { ok: true, body: r.body };
      if (r.status === 401 && used.length === 1 && o.token.invalidate) {
        o.token.invalidate(token);
        continue;
      }
      return { ok: false, failure: vertexCallFailure(r, stage, { model: c.model, location: o.location }), call: r };
    }
  };

  const modelPath = (model: string) => vertexModelPath(o.project, o.location, model);

  return {
    name: 'vertex',
    async submit(job, signal) {
      const model = job.upstreamModel;
      const problem = vertexInputProblem(job);
      if (problem) return { ok: false, failure: failure('upstream_rejected', 'request', `${LABEL}: ${problem}.`) };
      const create = (videoGcsUri: boolean) => send('create', {
        method: 'POST', path: `${modelPath(model)}:predictLongRunning`, json: vertexRequest(job, { storageUri: o.storageUri, videoGcsUri }), model,
      }, signal);
      const source = job.extend?.upstreamUri;
      const byUri = source !== undefined && ownObject(source, ownBucket) !== null;
      let r = await create(byUri);
      // The source object may be gone since (a lifecycle rule) or unreadable to Vertex: once more with its bytes.
      if (!r.ok && byUri && REFERENCE_REFUSED.has(r.call?.status ?? 0)) r = await create(false);
      if (!r.ok) return { ok: false, failure: r.failure };
      const name = r.body.name;
      if (typeof name !== 'string' || modelOf(name) !== model) return { ok: false, failure: invalidResponse(LABEL, `an operation name for ${model}`) };
      return { ok: true, id: name };
    },
    async poll(name, signal) {
      const model = modelOf(name);
      if (!model) return { state: 'failed', failure: failure('upstream_lost_job', 'transient', `${LABEL}: the stored job id is not a Vertex operation name.`) };
      const r = await send('poll', {
        method: 'POST', path: `${modelPath(model)}:fetchPredictOperation`, json: { operationName: name }, maxBytes: INLINE_ANSWER_BYTES, model,
      }, signal);
      return r.ok ? readOperation(r.body, ownBucket) : { state: 'failed', failure: r.failure };
    },
    async download(url, path, signal): Promise<DownloadOutcome> {
      if (!url.startsWith('gs://')) return downloadUntrusted(url, { ...o.download, path, signal, label: LABEL, policy: o.policy });
      // Checked again here: the URL may have been stored and read back since poll.
      const gs = ownObject(url, ownBucket);
      if (!gs) return { ok: false, failure: notOurs(ownBucket) };
      for (let attempt = 0; ; attempt++) {
        const token = await tokenOf(o.token, signal);
        if (typeof token !== 'string') return { ok: false, failure: token };
        const out = await downloadGcsObject(gs, { ...o.download, storageBaseUrl, token, path, signal, policy: o.policy, label: LABEL });
        if (out.ok) return { ok: true };
        if (out.refusedWith !== 401 || attempt > 0 || !o.token.invalidate) return { ok: false, failure: out.failure };
        o.token.invalidate(token);
      }
    },
    check: (upstreamModels, signal) => check(upstreamModels, signal),
  };

  /** A token, then one GET per model on its publisher-model resource (path [U], see publisherModelPath); nothing is generated. */
  async function check(upstreamModels: readonly string[], signal: AbortSignal): Promise<ChannelCheck> {
    const token = await tokenOf(o.token, signal);
    if (typeof token !== 'string') {
      return { credentials: { ok: false, detail: token.message }, models: upstreamModels.map((m) => ({ upstreamModel: m, ok: null, detail: 'not checked: no access token' })) };
    }
    let credentials: ChannelCheck['credentials'] = { ok: true, detail: `${LABEL}: an access token is available for project ${o.project} in ${o.location}.` };
    const models: ChannelCheck['models'] = [];
    for (const m of upstreamModels) {
      if (!credentials.ok) {
        models.push({ upstreamModel: m, ok: null, detail: 'not checked: the credentials were refused' });
        continue;
      }
      const r = await send('check', { method: 'GET', path: publisherModelPath(m), model: m }, signal);
      if (r.ok) {
        const stage = typeof r.body.launchStage === 'string' ? ` (launch stage ${r.body.launchStage})` : '';
        models.push({ upstreamModel: m, ok: true, detail: `${LABEL} serves ${m}${stage}.` });
      } else if (r.failure.fault === 'channel') {
        credentials = { ok: false, detail: r.failure.message };
        models.push({ upstreamModel: m, ok: null, detail: 'not checked: the credentials were refused' });
      } else {
        // Only Google's own 404 envelope says "no such model"; a bare 404 page means this route is not the one
        // Vertex serves [U], and 5xx/429/timeouts say nothing about the model.
        const notServed = r.call?.status === 404 && googleError(r.call.body) !== undefined;
        models.push({ upstreamModel: m, ok: notServed ? false : null, detail: r.failure.message });
      }
    }
    return { credentials, models };
  }
}
