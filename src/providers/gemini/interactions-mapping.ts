import { failure } from '../../domain/failures.ts';
import { redact } from '../upstream/http-call.ts';
import { resolutionName } from '../upstream/job-facts.ts';
import type { PollOutcome, UpstreamJob } from '../upstream/upstream-provider.ts';
import { classifyJobError, lostJob, quota } from './errors.ts';
import { LABEL } from './gemini-call.ts';
import { omniInput } from './omni-input.ts';

/** Our job ids for interactions carry this prefix, so poll/cancel tell them from a Veo operation name (`models/…`). */
export const INTERACTION_PREFIX = 'interactions/';

/** Upstream ids served through the Interactions API rather than predictLongRunning (UPSTREAM.md §1.3). */
export const usesInteractions = (upstreamModel: string) => upstreamModel.startsWith('gemini-');

/** Fields whose acceptance is uncertain [U]: sent unless the service has refused them with a 400 naming them. */
export interface OmniFields { responseModalities: boolean; seed: boolean }

/** generation_config.seed is an int32; our seeds go to 2^32 − 1. Folding keeps "same seed → same upstream seed". */
const INT32_SPAN = 2 ** 31;

/**
 * Our job → the body of `POST /v1beta/interactions` (UPSTREAM.md §1.3).
 *
 * - `background: true`: without it the POST blocks for the whole generation.
 * - `duration` is a protobuf Duration, so a string ("6s"); a bare number is a 400.
 * - `delivery: "uri"` keeps a 4k clip out of the poll answer; an inline `data`
 *   answer is read too.
 * - `seed` goes in generation_config, where the API documents it as accepted
 *   ("seed used in decoding for reproducibility"); its effect on Omni is unknown
 *   [U], but a job's seed exists to make a render reproducible, so it is sent
 *   where accepted. If the service ever names it in a 400, the adapter resends
 *   without it (OmniFields).
 * - There is no negative-prompt field; the user's negative prompt would
 *   otherwise be dropped, so it is appended to the prompt as an instruction.
 * - Last frame, references and extension are parts plus the task (omni-input.ts);
 *   the job must pass omniInputProblem first.
 */
export function omniRequest(job: UpstreamJob, send: OmniFields = { responseModalities: true, seed: true }, o: { videoUri?: boolean } = {}) {
  const text = job.negativePrompt ? `${job.prompt}\n\nAvoid: ${job.negativePrompt}` : job.prompt;
  const { task, input } = omniInput(job, text, o.videoUri === true);
  const generationConfig: Record<string, unknown> = { video_config: { task } };
  if (send.seed) generationConfig.seed = job.seed % INT32_SPAN;
  return {
    model: job.upstreamModel,
    input,
    background: true,
    // [U] one working client omits it; the adapter drops it after a 400 naming it.
    ...(send.responseModalities ? { response_modalities: ['video'] } : {}),
    // An extension's duration is what it adds (the job's seconds), within Omni's 3–10 s.
    response_format: { type: 'video', aspect_ratio: job.aspectRatio, resolution: resolutionName(job), duration: `${job.seconds}s`, delivery: 'uri' },
    generation_config: generationConfig,
  };
}

export const INTERACTIONS_PATH = '/v1beta/interactions';
export const interactionPath = (id: string) => `${INTERACTIONS_PATH}/${encodeURIComponent(id)}`;

/** The id of a created interaction, if it is one we can put back into a path. */
export function interactionId(body: Record<string, unknown>): string | undefined {
  const raw = typeof body.id === 'string' ? body.id.replace(/^interactions\//, '') : '';
  return /^[A-Za-z0-9_\-.~=]{1,512}$/.test(raw) ? raw : undefined;
}

/** Still running; unknown statuses too (UPSTREAM.md §1.3): a new state must never fail a job. */
const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'incomplete', 'budget_exceeded']);

interface Part { type?: unknown; uri?: unknown; data?: unknown; text?: unknown }

/** A polled interaction → an outcome. */
export function readInteraction(body: Record<string, unknown>, secrets: readonly string[]): PollOutcome {
  const status = typeof body.status === 'string' ? body.status : '';
  if (!TERMINAL.has(status)) return { state: 'running' };
  const errors = Array.isArray(body.errors) ? body.errors : [];
  const err: unknown = errors[0] ?? body.error;
  const said = err === undefined ? '' : `: ${redact(readMessage(err), secrets)}`;
  switch (status) {
    case 'completed': return readCompleted(body, secrets);
    case 'failed': return { state: 'failed', failure: classifyJobError(err ?? 'the interaction failed', LABEL, secrets) };
    // The account's spending cap, not the request: another channel may have budget.
    case 'budget_exceeded': return { state: 'failed', failure: quota(LABEL, `the interaction exceeded the account's budget${said}`) };
    // Not cancelled by this task (our own cancel ends the task before any poll): the
    // upstream dropped the job, nothing about the request; another attempt may finish.
    case 'cancelled': return { state: 'failed', failure: lostJob(LABEL, `the interaction was cancelled upstream${said}`) };
    // Stopped before producing a video; we set no output budget, so nothing in the
    // request caused it: retry or try the next channel.
    default: return { state: 'failed', failure: failure('upstream_unavailable', 'transient', `${LABEL}: the interaction ended incomplete${said}`) };
  }
}

function readCompleted(body: Record<string, unknown>, secrets: readonly string[]): PollOutcome {
  const parts = modelOutput(body);
  const video = parts.find((p) => p.type === 'video' && ((typeof p.uri === 'string' && p.uri) || (typeof p.data === 'string' && p.data)));
  if (video && typeof video.uri === 'string' && video.uri) return { state: 'done', video: { kind: 'url', url: video.uri } };
  if (video && typeof video.data === 'string') return { state: 'done', video: { kind: 'bytes', data: Buffer.from(video.data, 'base64') } };
  const text = parts.filter((p) => p.type === 'text' && typeof p.text === 'string').map((p) => p.text as string).join(' ').trim();
  if (text) {
    // A safety refusal: completed with a text-only answer (UPSTREAM.md §1.3).
    const quoted = redact(text, secrets);
    return { state: 'failed', failure: failure('content_filtered', 'content', `${LABEL} refused to generate the video: ${quoted.length > 300 ? `${quoted.slice(0, 300)}…` : quoted}`) };
  }
  // Seen while the file existed [DISCUSS-183928]: a read to retry, not a success and not the request's fault.
  return { state: 'failed', failure: failure('upstream_invalid_response', 'transient', `${LABEL} reported the interaction completed without a video.`) };
}

/** The content of every model_output step (and of a top-level `outputs` list, an earlier shape of the same answer). */
function modelOutput(body: Record<string, unknown>): Part[] {
  const steps = Array.isArray(body.steps) ? body.steps as { type?: unknown; content?: unknown }[] : [];
  const out: Part[] = [];
  for (const s of steps) {
    if (s?.type !== 'model_output') continue;
    if (Array.isArray(s.content)) out.push(...(s.content as Part[]));
    else if (s.content && typeof s.content === 'object') out.push(s.content as Part);
  }
  if (Array.isArray(body.outputs)) out.push(...(body.outputs as Part[]));
  return out.filter((p) => p && typeof p === 'object');
}

function readMessage(err: unknown): string {
  if (typeof err === 'string') return err;
  const m = (err as { message?: unknown } | null)?.message;
  return typeof m === 'string' ? m : 'no message';
}
