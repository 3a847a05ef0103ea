import { join } from 'node:path';
import sharp from 'sharp';
import { runFfmpeg, FfmpegAbortedError, FfmpegError } from '../../infra/ffmpeg/run-ffmpeg.ts';
import { ProviderError, type GenerationContext, type GenerationJob, type GenerationResult, type VideoProvider } from '../provider.ts';
import { buildRenderPlan } from './render-plan.ts';

export interface LocalProviderOptions {
  ffmpegPath: string;
  /** Largest image (in pixels) we agree to decode; the submit check enforces the same limit. */
  maxInputPixels: number;
}

/**
 * The offline renderer: turns the start image into a real MP4 with a camera
 * move. It is labelled `local` on every task; it is not a generative model.
 */
export function localProvider(opts: LocalProviderOptions): VideoProvider {
  async function frameFile(image: Buffer, job: GenerationJob, path: string) {
    // rotate(): honour EXIF orientation; cover: centre-crop to the output aspect (API.md §3).
    await sharp(image, { limitInputPixels: opts.maxInputPixels })
      .rotate()
      .resize(job.width, job.height, { fit: 'cover', position: 'centre' })
      .removeAlpha()
      .png({ compressionLevel: 1 })
      .toFile(path);
  }

  return {
    name: 'local',
    async generate(job: GenerationJob, ctx: GenerationContext): Promise<GenerationResult> {
      const first = join(ctx.workDir, 'first.png');
      const last = job.images[1] ? join(ctx.workDir, 'last.png') : null;
      await frameFile(job.images[0]!, job, first);
      if (last) await frameFile(job.images[1]!, job, last);

      const output = join(ctx.workDir, 'video.mp4');
      const plan = buildRenderPlan({
        width: job.width, height: job.height, fps: job.fps, seconds: job.seconds, seed: job.seed,
        withAudio: job.generateAudio && job.model.audio, firstFrame: first, lastFrame: last, output,
      });
      try {
        await runFfmpeg(opts.ffmpegPath, plan.args, {
          signal: ctx.signal,
          onFrame: (frame) => ctx.onProgress((100 * frame) / plan.totalFrames),
        });
      } catch (e) {
        if (e instanceof FfmpegAbortedError) throw e;
        if (e instanceof FfmpegError) {
          throw new ProviderError(e.exitCode === null ? 'ffmpeg_unavailable' : 'render_failed',
            e.exitCode === null ? 'The local renderer could not start ffmpeg.' : 'The local renderer failed to encode the video.',
            { cause: e });
        }
        throw e;
      }
      return { videoPath: output, details: { camera: plan.camera } };
    },
  };
}
