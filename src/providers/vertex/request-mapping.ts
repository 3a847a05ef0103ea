import type { ExtendSource } from '../provider.ts';
import { resolutionName } from '../upstream/job-facts.ts';
import type { UpstreamJob } from '../upstream/upstream-provider.ts';
import { veoInstance, veoLength, veoMode, type VeoMode } from './veo-instance.ts';

/**
 * Veo 2 (retired on Vertex 2026-06-30) had no `resolution` or audio. Only an
 * operator who maps a model to a veo-2 id on purpose (a private deployment
 * that still serves it) gets the old body; otherwise this never matches.
 */
const isVeo2 = (upstreamModel: string) => upstreamModel.startsWith('veo-2');

/**
 * The extension input (§3: `{bytesBase64Encoded | gcsUri, mimeType}`, an MP4):
 * by reference when the source is an object in the channel's own bucket (no
 * upload of a large clip), else the bytes.
 */
const vertexVideo = (byGcsUri: boolean) => (src: ExtendSource) => (byGcsUri && src.upstreamUri
  ? { gcsUri: src.upstreamUri, mimeType: src.mimeType }
  : { bytesBase64Encoded: src.video.toString('base64'), mimeType: src.mimeType });

/** Why Vertex's Veo cannot take this job's inputs (a request fault), or null. */
export function vertexInputProblem(job: UpstreamJob): string | null {
  const m = veoMode(job);
  return 'problem' in m ? m.problem : null;
}

/**
 * Our job → the Vertex AI Veo `predictLongRunning` body (UPSTREAM.md §3).
 * Everything that depends on the model is read from `upstreamModel`, the id
 * this channel sends, never from the public model the client named.
 * With `storageUri` (a `gs://bucket/prefix/`) Vertex writes the video there
 * and answers with its gcsUri instead of inline base64, which keeps large
 * 1080p/4k results out of the poll answer. `videoGcsUri`: send an extension's
 * source by its gs:// URI (the caller checked it is in the channel's bucket).
 * The job must pass vertexInputProblem first.
 */
export function vertexRequest(job: UpstreamJob, o: { storageUri?: string | undefined; videoGcsUri?: boolean } = {}) {
  const m = veoMode(job);
  if ('problem' in m) throw new Error(`vertexRequest: ${m.problem}`);
  const mode: VeoMode = m.mode;
  const instance = veoInstance(job, mode, vertexVideo(o.videoGcsUri === true));
  const length = veoLength(job, mode, resolutionName(job));
  const parameters: Record<string, unknown> = {
    aspectRatio: job.aspectRatio,
    // A JSON integer, as Vertex wants (the Gemini API also took a string); the catalog's durations are integers.
    durationSeconds: length.durationSeconds,
    sampleCount: 1,
    // uint32 on Vertex; submit already refuses seeds outside 0–4294967295, so it is sent as is.
    seed: job.seed,
    personGeneration: 'allow_adult',
  };
  if (!isVeo2(job.upstreamModel)) {
    parameters.resolution = length.resolution;
    parameters.generateAudio = job.generateAudio;
  }
  if (job.negativePrompt) parameters.negativePrompt = job.negativePrompt;
  if (o.storageUri) parameters.storageUri = o.storageUri;
  return { instances: [instance], parameters };
}

export const vertexModelPath = (project: string, location: string, upstreamModel: string) =>
  `/v1/projects/${encodeURIComponent(project)}/locations/${encodeURIComponent(location)}/publishers/google/models/${encodeURIComponent(upstreamModel)}`;

/**
 * The publisher model resource, for check(): `GET {host}/v1/publishers/google/models/{MODEL}`.
 * [U] The exact path of this GET was not captured in UPSTREAM.md; it is the
 * Model Garden `publishers.models.get` of the v1 API (name
 * `publishers/{publisher}/models/{model}`). check() reads a 404 in Google's
 * JSON envelope as "not served" and any other 404 as "could not check".
 */
export const publisherModelPath = (upstreamModel: string) => `/v1/publishers/google/models/${encodeURIComponent(upstreamModel)}`;
