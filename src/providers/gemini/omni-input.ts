import { imageMime } from '../upstream/job-facts.ts';
import type { UpstreamJob } from '../upstream/upstream-provider.ts';

/**
 * Omni has no lastFrame, referenceImages or video fields: every input is a
 * part of `input`, and `generation_config.video_config.task` says what to do
 * with them (UPSTREAM.md §1.3). How a first and a last frame are told apart is
 * not documented [U]. Both plausible readings are served at once: the images
 * go in order (first, then last; start frame, then references) and a text
 * part before each group names it, so a service that reads the order and one
 * that reads the words both get it right.
 */
export const LABELS = {
  first: 'First frame of the video:',
  last: 'Last frame of the video:',
  references: 'Reference images of the subject to keep in the video:',
} as const;

export type OmniTask = 'text_to_video' | 'image_to_video' | 'reference_to_video' | 'extend';

type Part = Record<string, unknown>;

const imagePart = (data: Buffer): Part => ({ type: 'image', mime_type: imageMime(data), data: data.toString('base64') });
const textPart = (text: string): Part => ({ type: 'text', text });

/** Why Omni cannot take this job's inputs (a request fault), or null. */
export function omniInputProblem(job: UpstreamJob): string | null {
  const refs = job.referenceImages?.length ?? 0;
  if (job.images.length > 2) return `Omni takes a start frame and at most one last frame (got ${job.images.length} images)`;
  if (job.extend && (job.images.length || refs)) return 'an Omni extension continues the video alone: it takes no start frame, last frame or reference images';
  if (refs && job.images.length > 1) return 'Omni cannot combine a last frame with reference images';
  return null;
}

/**
 * The input parts and task for a job omniInputProblem accepted; `text` is the
 * prompt part, last. `videoUri`: send an extension's source by its Files-API
 * URI (upstreamUri) instead of its bytes.
 */
export function omniInput(job: UpstreamJob, text: string, videoUri: boolean): { task: OmniTask; input: Part[] } {
  const [first, last] = job.images;
  const refs = job.referenceImages ?? [];
  const src = job.extend;
  if (src) {
    const video = videoUri && src.upstreamUri
      ? { type: 'video', mime_type: src.mimeType, uri: src.upstreamUri }
      : { type: 'video', mime_type: src.mimeType, data: src.video.toString('base64') };
    return { task: 'extend', input: [video, textPart(text)] };
  }
  if (refs.length) {
    const start = first ? [textPart(LABELS.first), imagePart(first)] : [];
    return { task: 'reference_to_video', input: [...start, textPart(LABELS.references), ...refs.map(imagePart), textPart(text)] };
  }
  if (first && last) {
    return { task: 'image_to_video', input: [textPart(LABELS.first), imagePart(first), textPart(LABELS.last), imagePart(last), textPart(text)] };
  }
  // One start image: the documented example's shape (image part, then the prompt).
  return first ? { task: 'image_to_video', input: [imagePart(first), textPart(text)] } : { task: 'text_to_video', input: [textPart(text)] };
}
