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

/**
 * Our job → Vidu's `POST /img2video` body (UPSTREAM.md §4), the start image
 * already prepared as a data URI. `model` is the channel's upstream id, never
 * the public name. `off_peak` asks for Vidu's own off-peak mode (cheaper,
 * deferred): an off-peak task is one the user agreed to wait for.
 */
export function viduRequest(job: UpstreamJob, imageUri: string, callbackUrl?: string): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: job.upstreamModel,
    images: [imageUri],
    ...(job.prompt ? { prompt: job.prompt } : {}),
    duration: job.seconds,
    resolution: viduResolution(job),
    seed: viduSeed(job.seed),
    // Billing follows generate_audio; Vidu's own `audio` option wins when given.
    audio: job.generateAudio,
  };
  for (const k of PASS_THROUGH) if (job.options[k] !== undefined) body[k] = job.options[k];
  if (job.isRec) body.is_rec = true;
  if (job.offPeak) body.off_peak = true;
  if (callbackUrl) body.callback_url = callbackUrl;
  return body;
}
