import type { GenerationJob } from '../provider.ts';
import { imageMime, resolutionName } from '../upstream/job-facts.ts';

/**
 * Our job → Vidu's `POST /img2video` body (UPSTREAM.md §4). The image goes
 * as a data URI; Vidu-only options (audio, audio_type, voice_id) pass through
 * from the task's options. `off_peak` is Reelay's own scheduling and is not
 * forwarded (Vidu's off-peak may take 48 h).
 */
export function viduRequest(job: GenerationJob) {
  const first = job.images[0];
  const body: Record<string, unknown> = {
    model: job.model.id,
    images: first ? [`data:${imageMime(first)};base64,${first.toString('base64')}`] : [],
    prompt: job.prompt,
    duration: job.seconds,
    resolution: resolutionName(job),
    seed: job.seed,
    // Billing follows generate_audio; Vidu's own `audio` wins when given.
    audio: job.generateAudio,
  };
  for (const k of ['audio', 'audio_type', 'voice_id'] as const) {
    if (job.options[k] !== undefined) body[k] = job.options[k];
  }
  if (job.isRec) body.is_rec = true;
  return body;
}
