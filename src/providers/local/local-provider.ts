import { join } from 'node:path';
import sharp from 'sharp';
import { runFfmpeg, FfmpegAbortedError, FfmpegError } from '../../infra/ffmpeg/run-ffmpeg.ts';
import { ProviderError, type GenerationContext, type GenerationJob, type GenerationResult, type VideoProvider } from '../provider.ts';
import { buildRenderPlan } from './render-plan.ts';
import { planCamera } from './camera.ts';
import { chooseAudioBed } from './audio-bed.ts';

export interface LocalProviderOptions {
  ffmpegPath: string;
  /** Largest image (in pixels) we agree to decode; the submit check enforces the same limit. */
  maxInputPixels: number;
  /** Test/bench hook: the ffmpeg process id, e.g. to measure its memory. */
  onSpawn?: (pid: number) => void;
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
      const camera = planCamera(job.prompt, job.negativePrompt);
      // Models without audio (Veo 2) never get a track, whatever was asked.
      const audio = job.generateAudio && job.model.audio ? chooseAudioBed(job.prompt) : null;
      const plan = buildRenderPlan({
        width: job.width, height: job.height, fps: job.fps, seconds: job.seconds, seed: job.seed,
        camera, audio, firstFrame: first, lastFrame: last, output,
      });
      try {
        await runFfmpeg(opts.ffmpegPath, plan.args, {
          signal: ctx.signal,
          onFrame: (frame) => ctx.onProgress((100 * frame) / plan.totalFrames),
          ...(opts.onSpawn ? { onSpawn: opts.onSpawn } : {}),
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
      return {
        videoPath: output,
        details: { camera: { ...camera, last_frame: last !== null }, ...(audio ? { audio_bed: audio } : {}) },
      };
    },
  };
}
