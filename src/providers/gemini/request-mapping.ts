import type { GenerationJob } from '../provider.ts';
import { imageMime, isVeo2, resolutionName } from '../upstream/job-facts.ts';

const inlineImage = (data: Buffer) => ({ inlineData: { mimeType: imageMime(data), data: data.toString('base64') } });

/**
 * Our job → the Gemini API `predictLongRunning` body (UPSTREAM.md §1), in the
 * docs' REST spelling. `generateAudio` is never sent: Veo 3 audio is always on
 * in the Gemini API and the field is refused there.
 */
export function geminiRequest(job: GenerationJob) {
  const [first, last] = job.images;
  const instance: Record<string, unknown> = { prompt: job.prompt };
  if (first) instance.image = inlineImage(first);
  if (last) instance.lastFrame = inlineImage(last);
  const parameters: Record<string, unknown> = {
    aspectRatio: job.aspectRatio,
    durationSeconds: job.seconds,
  };
  if (!isVeo2(job.model.id)) parameters.resolution = resolutionName(job);
  if (job.negativePrompt) parameters.negativePrompt = job.negativePrompt;
  if (!isVeo2(job.model.id)) parameters.seed = job.seed;
  // Image-to-video accepts only allow_adult on Veo 3.x (and it is valid on Veo 2).
  parameters.personGeneration = 'allow_adult';
  return { instances: [instance], parameters };
}

export const geminiCreatePath = (modelId: string) => `/v1beta/models/${encodeURIComponent(modelId)}:predictLongRunning`;
