import type { UpstreamJob } from '../upstream/upstream-provider.ts';
import { startEndImages, startImage, viduFormat } from './frame-image.ts';
import type { ViduEndpoint } from './request-mapping.ts';

/** reference2video takes 1–7 images (UPSTREAM.md §4). */
export const VIDU_MAX_REFERENCES = 7;

/** Which endpoint a job needs, or why Vidu cannot make it (a request fault, in a sentence naming Vidu); nothing is decoded yet. */
export function viduEndpoint(job: UpstreamJob): { endpoint: ViduEndpoint } | { problem: string } {
  const refs = job.referenceImages?.length ?? 0;
  const [first, last] = job.images;
  // Vidu has no extension endpoint (§4); the catalog does not offer extension on Vidu models.
  if (job.extend) return { problem: 'Vidu cannot extend a video: it has no extension endpoint' };
  if (job.images.length > 2) return { problem: `Vidu takes a start image and at most one end image (got ${job.images.length} images)` };
  if (refs) {
    if (last) return { problem: 'Vidu cannot combine an end image with reference images: reference2video takes no frames' };
    const n = refs + (first ? 1 : 0);
    if (n > VIDU_MAX_REFERENCES) return { problem: `Vidu's reference2video takes at most ${VIDU_MAX_REFERENCES} images${first ? ', the start image counted as one' : ''} (got ${n})` };
    return { endpoint: 'reference2video' };
  }
  if (!first) return { problem: 'Vidu\'s img2video needs a start image' };
  return { endpoint: last ? 'start-end2video' : 'img2video' };
}

/**
 * The images as Vidu gets them, in order, for the endpoint:
 * - img2video: the start image framed to the task's aspect (Vidu follows its shape);
 * - start-end2video: start and end at one exact size (frame-image.ts, startEndImages);
 * - reference2video: the pictures as uploaded (only re-encoded where Vidu cannot
 *   read the format). It takes no start frame, so a start image, when the job has
 *   one, goes first among the references: it shows the scene and subject wanted.
 */
export async function viduImages(job: UpstreamJob, endpoint: ViduEndpoint): Promise<Buffer[]> {
  const [first, last] = job.images;
  if (endpoint === 'reference2video') return Promise.all([...(first ? [first] : []), ...(job.referenceImages ?? [])].map(viduFormat));
  if (endpoint === 'start-end2video') return startEndImages(first!, last!, job.width, job.height);
  return [await startImage(first!, job.width, job.height)];
}
