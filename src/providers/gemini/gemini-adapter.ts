import { invalidResponse } from '../upstream/http-call.ts';
import { downloadFromUpstream, type DownloadLimits, type OutboundPolicy } from '../upstream/download.ts';
import type { PollOutcome, SubmitOutcome, UpstreamAdapter, UpstreamJob } from '../upstream/upstream-provider.ts';
import { checkGemini } from './check.ts';
import { asContentBlock, classifyCall, lostJob, namesField } from './errors.ts';
import { geminiCall, LABEL } from './gemini-call.ts';
import {
  INTERACTION_PREFIX, INTERACTIONS_PATH, interactionId, interactionPath, omniRequest, readInteraction, usesInteractions, type OmniFields,
} from './interactions-mapping.ts';
import { isOperationName, readOperation, veoCreatePath, veoRequest } from './veo-mapping.ts';

export interface GeminiOptions {
  apiKey: string;
  baseUrl: string;
  /** Per create/poll call. */
  requestTimeoutMs: number;
  download: DownloadLimits;
  policy: OutboundPolicy;
}

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

  async function submitVeo(job: UpstreamJob, signal: AbortSignal): Promise<SubmitOutcome> {
    const r = await call('POST', veoCreatePath(job.upstreamModel), signal, veoRequest(job));
    if (!r.ok) return { ok: false, failure: classifyCall(r, 'create', LABEL) };
    const name = r.body.name;
    if (typeof name !== 'string' || !isOperationName(name)) return { ok: false, failure: invalidResponse(LABEL, 'an operation name') };
    return { ok: true, id: name };
  }

  async function submitOmni(job: UpstreamJob, signal: AbortSignal): Promise<SubmitOutcome> {
    // At most one resend per uncertain field (response_modalities, seed).
    for (let attempt = 0; ; attempt++) {
      const r = await call('POST', INTERACTIONS_PATH, signal, omniRequest(job, omniFields));
      if (r.ok) {
        const id = interactionId(r.body);
        return id ? { ok: true, id: `${INTERACTION_PREFIX}${id}` } : { ok: false, failure: invalidResponse(LABEL, 'an interaction id') };
      }
      if (attempt < 2 && omniFields.responseModalities && namesField(r, 'response_modalities')) omniFields.responseModalities = false;
      else if (attempt < 2 && omniFields.seed && namesField(r, 'seed')) omniFields.seed = false;
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
