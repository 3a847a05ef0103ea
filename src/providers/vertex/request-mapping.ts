import type { GenerationJob } from '../provider.ts';
import { imageMime, isVeo2, resolutionName } from '../upstream/job-facts.ts';

const image = (data: Buffer) => ({ bytesBase64Encoded: data.toString('base64'), mimeType: imageMime(data) });

/**
 * Our job → the Vertex AI Veo `predictLongRunning` body (UPSTREAM.md §3).
 * With `storageUri` (a `gs://bucket/prefix/`) Vertex writes the video there
 * and answers with its gcsUri instead of inline base64, which keeps large
 * 1080p/4k results out of the poll answer.
 */
export function vertexRequest(job: GenerationJob, o: { storageUri?: string | undefined } = {}) {
  const [first, last] = job.images;
  const instance: Record<string, unknown> = { prompt: job.prompt };
  if (first) instance.image = image(first);
  if (last) instance.lastFrame = image(last);
  const parameters: Record<string, unknown> = {
    aspectRatio: job.aspectRatio,
    durationSeconds: job.seconds,
    sampleCount: 1,
    seed: job.seed,
    personGeneration: 'allow_adult',
  };
  // resolution and audio are Veo 3 parameters; Veo 2 is silent 720p.
  if (!isVeo2(job.model.id)) {
    parameters.resolution = resolutionName(job);
    parameters.generateAudio = job.generateAudio;
  }
  if (job.negativePrompt) parameters.negativePrompt = job.negativePrompt;
  if (o.storageUri) parameters.storageUri = o.storageUri;
  return { instances: [instance], parameters };
}

export const vertexModelPath = (project: string, location: string, modelId: string) =>
  `/v1/projects/${encodeURIComponent(project)}/locations/${encodeURIComponent(location)}/publishers/google/models/${encodeURIComponent(modelId)}`;
