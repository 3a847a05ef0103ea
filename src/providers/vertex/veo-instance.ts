import type { ExtendSource } from '../provider.ts';
import { imageMime } from '../upstream/job-facts.ts';
import type { UpstreamJob } from '../upstream/upstream-provider.ts';

/**
 * The creative inputs of a Veo `predictLongRunning` instance, shared by
 * Vertex AI (UPSTREAM.md §3) and the Gemini API's Veo path (§1.1): the same
 * instance fields, only the `video` object of an extension is spelled
 * differently, so each surface passes its own.
 */

/** The only image spelling both surfaces take: `{"inlineData": …}` is a 400 (§1.1). */
export const veoImage = (data: Buffer) => ({ bytesBase64Encoded: data.toString('base64'), mimeType: imageMime(data) });

/** Veo 3.1 keeps up to 3 `asset` pictures of one subject (§1.1, §3). */
export const VEO_MAX_REFERENCES = 3;
/**
 * An extension is sent with durationSeconds 8, which §1.1 requires for
 * extension; what it adds is Veo's own fixed 7 s (API.md §3), so the job's
 * `seconds` (what the extension adds) is not sent as such.
 */
export const VEO_EXTENSION_SECONDS = 8;
/** §1.1: "Extension output is 720p". */
export const VEO_EXTENSION_RESOLUTION = '720p';

export type VeoMode = 'text' | 'image' | 'frames' | 'references' | 'extend';

/**
 * Which mode a job asks of Veo, or why Veo cannot do it. Veo has no
 * instance that holds a start frame next to reference images (third parties
 * report it refused, or the references ignored [U]), nor frames next to an
 * extension video; so:
 * - extension: the video alone — a start frame, last frame or reference with it is refused;
 * - references: the start frame, when the job has one, goes first among the
 *   `asset` references (it shows the scene and subject the user wants), at most
 *   3 in all; a last frame with references is refused;
 * - otherwise `image` and `lastFrame`.
 */
export function veoMode(job: UpstreamJob): { mode: VeoMode } | { problem: string } {
  const refs = job.referenceImages ?? [];
  const [first, last] = job.images;
  if (job.images.length > 2) return { problem: `Veo takes a start frame and at most one last frame (got ${job.images.length} images)` };
  if (job.extend) {
    return first || refs.length ? { problem: 'a Veo extension continues the video alone: it takes no start frame, last frame or reference images' } : { mode: 'extend' };
  }
  if (refs.length) {
    if (last) return { problem: 'Veo cannot combine a last frame with reference images' };
    const n = refs.length + (first ? 1 : 0);
    if (n > VEO_MAX_REFERENCES) {
      return { problem: `Veo 3.1 takes at most ${VEO_MAX_REFERENCES} reference images${first ? ', the start frame counted as one' : ''} (got ${n})` };
    }
    return { mode: 'references' };
  }
  if (last) return { mode: 'frames' };
  return { mode: first ? 'image' : 'text' };
}

/** The instance for a job `veoMode` accepted; `video` spells the extension input for the surface. */
export function veoInstance(job: UpstreamJob, mode: VeoMode, video: (src: ExtendSource) => Record<string, unknown>): Record<string, unknown> {
  const instance: Record<string, unknown> = { prompt: job.prompt };
  const [first, last] = job.images;
  if (mode === 'extend' && job.extend) {
    instance.video = video(job.extend);
  } else if (mode === 'references') {
    const assets = [...(first ? [first] : []), ...(job.referenceImages ?? [])];
    instance.referenceImages = assets.map((a) => ({ image: veoImage(a), referenceType: 'asset' }));
  } else {
    if (first) instance.image = veoImage(first);
    if (last) instance.lastFrame = veoImage(last);
  }
  return instance;
}

/** durationSeconds and resolution for the mode: an extension's are Veo's own (see above); references send the job's (8 is required: a 400 otherwise). */
export function veoLength(job: UpstreamJob, mode: VeoMode, resolution: string): { durationSeconds: number; resolution: string } {
  return mode === 'extend'
    ? { durationSeconds: VEO_EXTENSION_SECONDS, resolution: VEO_EXTENSION_RESOLUTION }
    : { durationSeconds: job.seconds, resolution };
}
