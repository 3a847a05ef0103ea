import { resolutionName } from '../upstream/job-facts.ts';
import type { UpstreamJob } from '../upstream/upstream-provider.ts';

/** Vidu's seed range is 0–2147483647 (UPSTREAM.md §4); ours is 0–4294967295. */
export const VIDU_MAX_SEED = 2 ** 31 - 1;

/**
 * Our seed in Vidu's range, deterministically: its low 31 bits, so every seed
 * Vidu can take goes unchanged and the rest fold onto it (s and s + 2^31 give
 * the same video). Vidu reads 0 as "pick one at random", which would make a
 * reproducible request random, so a 0 (our 0 or 2^31) goes as 2^31 − 1.
 */
export function viduSeed(seed: number): number {
  const low = seed % 2 ** 31;
  return low === 0 ? VIDU_MAX_SEED : low;
}

/** Our catalog spells resolutions in lower case; Vidu spells its 2K and 4K (viduq4-preview) in capitals. */
export function viduResolution(job: Pick<UpstreamJob, 'width' | 'height'>): string {
  const name = resolutionName(job);
  return name === '2k' || name === '4k' ? name.toUpperCase() : name;
}

/** Vidu-only options a task may carry (API.md), passed through as given. */
const PASS_THROUGH = ['audio', 'audio_type', 'voice_id'] as const;

/** Vidu's create endpoints Reelay uses (UPSTREAM.md §4); text2video is never needed: every task has an image. */
export type ViduEndpoint = 'img2video' | 'start-end2video' | 'reference2video';

/**
 * Our job → the body of Vidu's `POST /img2video`, `/start-end2video` or
 * `/reference2video` (UPSTREAM.md §4), the images already prepared as data
 * URIs (one start image; start and end; or 1–7 references). `model` is the
 * channel's upstream id, never the public name. Only reference2video takes
 * `aspect_ratio` (the others follow the start image's shape). `off_peak` asks
 * for Vidu's own off-peak mode (cheaper, deferred): an off-peak task is one
 * the user agreed to wait for.
 */
export function viduRequest(job: UpstreamJob, images: string | readonly string[], callbackUrl?: string, endpoint: ViduEndpoint = 'img2video'): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: job.upstreamModel,
    images: typeof images === 'string' ? [images] : [...images],
    ...(job.prompt ? { prompt: job.prompt } : {}),
    duration: job.seconds,
    resolution: viduResolution(job),
    seed: viduSeed(job.seed),
    // Billing follows generate_audio; Vidu's own `audio` option wins when given.
    audio: job.generateAudio,
  };
  if (endpoint === 'reference2video') body.aspect_ratio = job.aspectRatio;
  for (const k of PASS_THROUGH) if (job.options[k] !== undefined) body[k] = job.options[k];
  if (job.isRec) body.is_rec = true;
  if (job.offPeak) body.off_peak = true;
  if (callbackUrl) body.callback_url = callbackUrl;
  return body;
}
