import { failure } from '../../domain/failures.ts';
import { invalidResponse, redact } from '../upstream/http-call.ts';
import type { ExtendSource } from '../provider.ts';
import { isVeo2, resolutionName } from '../upstream/job-facts.ts';
import type { PollOutcome, UpstreamJob } from '../upstream/upstream-provider.ts';
import { classifyJobError } from './errors.ts';
import { LABEL } from './gemini-call.ts';
import { veoInstance, veoLength, veoMode, type VeoMode } from '../vertex/veo-instance.ts';

/**
 * The extension input as the SDK sends it (§1.1, §2: `{uri, encodedVideo,
 * encoding}`): the Files-API URI of an earlier Veo output when we have it
 * (no upload; files live 2 days), else the bytes.
 */
const geminiVideo = (byUri: boolean) => (src: ExtendSource) => (byUri && src.upstreamUri
  ? { uri: src.upstreamUri }
  : { encodedVideo: src.video.toString('base64'), encoding: src.mimeType });

/** Why the Gemini API's Veo cannot take this job's inputs (a request fault), or null. */
export function veoInputProblem(job: UpstreamJob): string | null {
  const m = veoMode(job);
  return 'problem' in m ? m.problem : null;
}

/**
 * Our job → the `predictLongRunning` body (UPSTREAM.md §1.1), for the
 * upstream id the channel maps to (never the public model id). Images are
 * `{bytesBase64Encoded, mimeType}` (veo-instance.ts): `inlineData` is a 400.
 *
 * Never sent: seed, generateAudio, fps, storageUri, compressionQuality,
 * resizeMode, mask, labels — Vertex-only fields the SDK refuses in Gemini mode;
 * audio is always on for Veo 3.x here. The job must pass veoInputProblem first;
 * `videoUri`: send an extension's source by its Files-API URI.
 */
export function veoRequest(job: UpstreamJob, o: { videoUri?: boolean } = {}) {
  const m = veoMode(job);
  if ('problem' in m) throw new Error(`veoRequest: ${m.problem}`);
  const mode: VeoMode = m.mode;
  const length = veoLength(job, mode, resolutionName(job));
  const parameters: Record<string, unknown> = {
    aspectRatio: job.aspectRatio,
    // A JSON number, as the SDK sends it (the docs' string form is accepted too).
    durationSeconds: length.durationSeconds,
  };
  // Veo 2 has no resolution parameter.
  if (!isVeo2(job.upstreamModel)) parameters.resolution = length.resolution;
  if (job.negativePrompt) parameters.negativePrompt = job.negativePrompt;
  // Images and references take only allow_adult (also the only value in the EU/UK/CH/MENA). §1.1 gives
  // allow_all for extension, but allow_adult is all some regions have: left to the service's default there.
  if (mode !== 'extend') parameters.personGeneration = 'allow_adult';
  parameters.sampleCount = 1;
  return { instances: [veoInstance(job, mode, geminiVideo(o.videoUri === true))], parameters };
}

export const veoCreatePath = (upstreamModel: string) => `/v1beta/models/${encodeURIComponent(upstreamModel)}:predictLongRunning`;

/**
 * An operation name we are willing to put back into a URL path:
 * `models/…/operations/…` (or a bare `operations/…`), nothing that climbs out
 * of /v1beta, never mistaken for an `interactions/…` id.
 */
export const isOperationName = (v: string): boolean =>
  v.length <= 512 && /^(models|operations)\/[A-Za-z0-9._\-/]+$/.test(v) && !v.includes('..') && !v.includes('//');

interface Sample { video?: { uri?: unknown; encodedVideo?: unknown } }
interface Operation {
  done?: unknown;
  error?: unknown;
  response?: {
    generateVideoResponse?: { generatedSamples?: unknown; generatedVideos?: unknown; raiMediaFilteredCount?: unknown; raiMediaFilteredReasons?: unknown };
    generatedVideos?: unknown;
  };
}

/** A polled operation → an outcome (UPSTREAM.md §1.1). */
export function readOperation(body: Record<string, unknown>, secrets: readonly string[]): PollOutcome {
  const op = body as Operation;
  if (op.done !== true) return { state: 'running' };
  // done + error: an object {code, message, details} or, seen too, a bare string.
  if (op.error !== undefined && op.error !== null) return { state: 'failed', failure: classifyJobError(op.error, LABEL, secrets) };
  const r = op.response?.generateVideoResponse;
  // generatedSamples is the wire name; one gateway reads generatedVideos, and the SDK's own shape puts that on response.
  const samples = [r?.generatedSamples, r?.generatedVideos, op.response?.generatedVideos].find(Array.isArray) as Sample[] | undefined;
  const video = samples?.[0]?.video;
  if (typeof video?.uri === 'string' && video.uri) return { state: 'done', video: { kind: 'url', url: video.uri } };
  if (typeof video?.encodedVideo === 'string' && video.encodedVideo) {
    return { state: 'done', video: { kind: 'bytes', data: Buffer.from(video.encodedVideo, 'base64') } };
  }
  if (Number(r?.raiMediaFilteredCount) > 0) {
    const reasons = Array.isArray(r?.raiMediaFilteredReasons) ? r.raiMediaFilteredReasons.filter((x): x is string => typeof x === 'string') : [];
    const why = reasons.length ? ` (${redact(reasons.join('; '), secrets)})` : '';
    return { state: 'failed', failure: failure('content_filtered', 'content', `${LABEL} filtered the generated video for safety${why}.`) };
  }
  return { state: 'failed', failure: invalidResponse(LABEL, 'a generated video') };
}
