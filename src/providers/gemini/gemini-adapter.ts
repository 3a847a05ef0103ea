import { failure } from '../../domain/failures.ts';
import { invalidResponse, type CallFailed } from '../upstream/http-call.ts';
import { downloadFromUpstream, type DownloadLimits, type OutboundPolicy } from '../upstream/download.ts';
import type { PollOutcome, SubmitOutcome, UpstreamAdapter, UpstreamJob } from '../upstream/upstream-provider.ts';
import { checkGemini } from './check.ts';
import { asContentBlock, classifyCall, isKeyInvalid, lostJob, namesField, readGoogleError } from './errors.ts';
import { geminiCall, LABEL } from './gemini-call.ts';
import {
  INTERACTION_PREFIX, INTERACTIONS_PATH, interactionId, interactionPath, omniRequest, readInteraction, usesInteractions, type OmniFields,
} from './interactions-mapping.ts';
import { omniInputProblem } from './omni-input.ts';
import { isOperationName, readOperation, veoCreatePath, veoInputProblem, veoRequest } from './veo-mapping.ts';

export interface GeminiOptions {
  apiKey: string;
  baseUrl: string;
  /** Per create/poll call. */
  requestTimeoutMs: number;
  download: DownloadLimits;
  policy: OutboundPolicy;
}

/**
 * A create refused after it sent an extension source by URI, in a way the
 * bytes may fix: the file expired, is another key's, or the field is read
 * differently. Never a refused key, which no body changes.
 */
const sourceRefused = (r: CallFailed) =>
  (r.status === 400 || r.status === 403 || r.status === 404) && !isKeyInvalid(readGoogleError(r.body, 'http'));

/** A done answer may carry the clip inline (encodedVideo, or inline `data`): read up to 256 MB. */
const POLL_MAX_BYTES = 256 * 1024 * 1024;

/**
 * The Gemini API (generativelanguage.googleapis.com), key in x-goog-api-key:
 * Veo ids through `predictLongRunning` (UPSTREAM.md §1.1), `gemini-…` ids
 * (Omni) through the Interactions API (§1.3). Job ids keep the two apart:
 * `models/…/operations/…` vs `interactions/<id>`.
 */
export function geminiAdapter(o: GeminiOptions): UpstreamAdapter {
  const call = geminiCall(o);
  const origin = new URL(o.baseUrl).origin;
  const secrets = [o.apiKey];
  // [U] fields the service may refuse: learnt once per channel from a 400 naming them, then left out.
  const omniFields: OmniFields = { responseModalities: true, seed: true };

  /** An extension source is sent by URI only when it is a file of this API (files live 2 days, per key). */
  const ownFile = (uri: string | undefined) => {
    try {
      return uri !== undefined && new URL(uri).origin === origin;
    } catch {
      return false;
    }
  };
  const rejected = (problem: string): SubmitOutcome => ({ ok: false, failure: failure('upstream_rejected', 'request', `${LABEL}: ${problem}.`) });

  async function submitVeo(job: UpstreamJob, signal: AbortSignal): Promise<SubmitOutcome> {
    const problem = veoInputProblem(job);
    if (problem) return rejected(problem);
    const byUri = ownFile(job.extend?.upstreamUri);
    let r = await call('POST', veoCreatePath(job.upstreamModel), signal, veoRequest(job, { videoUri: byUri }));
    // The file may have expired or belong to another key: once more with the bytes.
    if (!r.ok && byUri && sourceRefused(r)) r = await call('POST', veoCreatePath(job.upstreamModel), signal, veoRequest(job));
    if (!r.ok) return { ok: false, failure: classifyCall(r, 'create', LABEL) };
    const name = r.body.name;
    if (typeof name !== 'string' || !isOperationName(name)) return { ok: false, failure: invalidResponse(LABEL, 'an operation name') };
    return { ok: true, id: name };
  }

  async function submitOmni(job: UpstreamJob, signal: AbortSignal): Promise<SubmitOutcome> {
    const problem = omniInputProblem(job);
    if (problem) return rejected(problem);
    let videoUri = ownFile(job.extend?.upstreamUri);
    // At most one resend per uncertain field (response_modalities, seed) and one for a source sent by URI:
    // each resend turns a flag off for good.
    for (;;) {
      const r = await call('POST', INTERACTIONS_PATH, signal, omniRequest(job, omniFields, { videoUri }));
      if (r.ok) {
        const id = interactionId(r.body);
        return id ? { ok: true, id: `${INTERACTION_PREFIX}${id}` } : { ok: false, failure: invalidResponse(LABEL, 'an interaction id') };
      }
      if (omniFields.responseModalities && namesField(r, 'response_modalities')) omniFields.responseModalities = false;
      else if (omniFields.seed && namesField(r, 'seed')) omniFields.seed = false;
      else if (videoUri && sourceRefused(r)) videoUri = false;
      else return { ok: false, failure: asContentBlock(classifyCall(r, 'create', LABEL)) };
    }
  }

  async function pollOmni(id: string, signal: AbortSignal): Promise<PollOutcome> {
    const r = await call('GET', interactionPath(id), signal, undefined, POLL_MAX_BYTES);
    if (!r.ok) return { state: 'failed', failure: classifyCall(r, 'poll', LABEL) };
    const out = readInteraction(r.body, secrets);
    return out.state === 'done' && out.video.kind === 'url' ? withAltMedia(out.video.url) : out;
  }

  /** A file URI on the API's own origin is fetched with alt=media (the bytes, not the File's metadata). */
  function withAltMedia(uri: string): PollOutcome {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      return { state: 'failed', failure: invalidResponse(LABEL, 'a readable video uri') };
    }
    if (url.origin === origin && !url.searchParams.has('alt')) url.searchParams.set('alt', 'media');
    return { state: 'done', video: { kind: 'url', url: url.href } };
  }

  return {
    name: 'gemini',
    submit: (job, signal) => (usesInteractions(job.upstreamModel) ? submitOmni(job, signal) : submitVeo(job, signal)),
    async poll(id, signal) {
      if (id.startsWith(INTERACTION_PREFIX)) return pollOmni(id.slice(INTERACTION_PREFIX.length), signal);
      if (!isOperationName(id)) return { state: 'failed', failure: lostJob(LABEL, `"${id.slice(0, 80)}" is not an operation name`) };
      const r = await call('GET', `/v1beta/${id}`, signal, undefined, POLL_MAX_BYTES);
      return r.ok ? readOperation(r.body, secrets) : { state: 'failed', failure: classifyCall(r, 'poll', LABEL) };
    },
    async cancel(id) {
      // The Gemini API documents no cancel for Veo operations; interactions have one (best effort).
      if (!id.startsWith(INTERACTION_PREFIX)) return;
      try {
        await call('POST', `${interactionPath(id.slice(INTERACTION_PREFIX.length))}/cancel`, AbortSignal.timeout(o.requestTimeoutMs), {});
      } catch {
        // callJson only throws when its signal aborts; a cancel is never worth an exception.
      }
    },
    download(url, path, signal) {
      return downloadFromUpstream(url, {
        ...o.download, path, signal, label: LABEL, policy: o.policy,
        headers: { 'x-goog-api-key': o.apiKey }, trustedOrigin: origin,
      });
    },
    check: (upstreamModels, signal) => checkGemini(call, upstreamModels, signal),
  };
}
