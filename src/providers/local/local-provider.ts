import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { runFfmpeg, FfmpegAbortedError, FfmpegError } from '../../infra/ffmpeg/run-ffmpeg.ts';
import { ProviderError, type ExtendSource, type GenerationContext, type GenerationJob, type GenerationResult, type VideoProvider } from '../provider.ts';
import { buildRenderPlan } from './render-plan.ts';
import { planCamera, type CameraPlan, type Look } from './camera.ts';
import { buildJoinPlan, lastFrameArgs } from './extend-plan.ts';
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
 * It takes every creative input (API.md §3): a last frame is cross-faded to,
 * reference images are recorded (it cannot draw a subject from them), and an
 * extension continues a video from its last frame (extend-plan.ts).
 */
export function localProvider(opts: LocalProviderOptions): VideoProvider {
  async function frameFile(image: Buffer | string, job: GenerationJob, path: string) {
    // rotate(): honour EXIF orientation; cover: centre-crop to the output aspect (API.md §3).
    await sharp(image, { limitInputPixels: opts.maxInputPixels })
      .rotate()
      .resize(job.width, job.height, { fit: 'cover', position: 'centre' })
      .removeAlpha()
      .png({ compressionLevel: 1 })
      .toFile(path);
  }

  async function run(args: string[], ctx: GenerationContext, onFrame?: (frame: number) => void) {
    try {
      await runFfmpeg(opts.ffmpegPath, args, {
        signal: ctx.signal,
        ...(onFrame ? { onFrame } : {}),
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
  }

  async function render(job: GenerationJob, ctx: GenerationContext): Promise<GenerationResult> {
    // A model that renders from references only has its start image as the first reference.
    const start = job.images[0] ?? job.referenceImages?.[0];
    if (!start) throw new ProviderError('render_failed', 'The local renderer needs a start image or a reference image.');
    const first = join(ctx.workDir, 'first.png');
    const last = job.images[1] ? join(ctx.workDir, 'last.png') : null;
    await frameFile(start, job, first);
    if (last) await frameFile(job.images[1]!, job, last);

    const output = join(ctx.workDir, 'video.mp4');
    const camera = planCamera(job.prompt, job.negativePrompt);
    // Models without audio (Veo 2) never get a track, whatever was asked.
    const audio = job.generateAudio && job.model.audio ? chooseAudioBed(job.prompt) : null;
    const plan = buildRenderPlan({
      width: job.width, height: job.height, fps: job.fps, seconds: job.seconds, seed: job.seed,
      camera, audio, firstFrame: first, lastFrame: last, output,
    });
    await run(plan.args, ctx, (frame) => ctx.onProgress((100 * frame) / plan.totalFrames));
    return {
      videoPath: output,
      details: { camera: { ...camera, last_frame: last !== null }, ...(audio ? { audio_bed: audio } : {}), ...referencesNote(job) },
    };
  }

  /** The source, then `job.seconds` more from its last frame with the new prompt's camera, as one video. */
  async function extend(job: GenerationJob, src: ExtendSource, ctx: GenerationContext): Promise<GenerationResult> {
    const source = join(ctx.workDir, 'source.mp4');
    const grabbed = join(ctx.workDir, 'source-last.png');
    const first = join(ctx.workDir, 'first.png');
    const part = join(ctx.workDir, 'part.mp4');
    const output = join(ctx.workDir, 'video.mp4');
    await writeFile(source, src.video);
    await run(lastFrameArgs(source, grabbed), ctx);
    await frameFile(grabbed, job, first);
    const { camera, ignored } = continuingCamera(planCamera(job.prompt, job.negativePrompt));
    const plan = buildRenderPlan({
      width: job.width, height: job.height, fps: job.fps, seconds: job.seconds, seed: job.seed,
      camera, audio: null, firstFrame: first, lastFrame: null, output: part,
    });
    await run(plan.args, ctx, (frame) => ctx.onProgress((70 * frame) / plan.totalFrames));
    const audio = job.generateAudio && job.model.audio ? chooseAudioBed(job.prompt) : null;
    const joined = buildJoinPlan({
      source, part, output, width: job.width, height: job.height, fps: job.fps, seconds: job.seconds, seed: job.seed,
      sourceSeconds: src.duration, sourceHasAudio: src.hasAudio, audio,
    });
    await run(joined.args, ctx, (frame) => ctx.onProgress(70 + (30 * frame) / joined.totalFrames));
    const extension = {
      source_task_id: src.taskId, source_seconds: src.duration, added_seconds: job.seconds, joined_at: 'source_last_frame', audio: joined.audio,
      ...(ignored.length ? { looks_ignored: ignored } : {}),
    };
    return { videoPath: output, details: { camera, ...(audio ? { audio_bed: audio } : {}), extension } };
  }

  return {
    name: 'local',
    generate: (job, ctx) => (job.extend ? extend(job, job.extend, ctx) : render(job, ctx)),
  };
}

/**
 * A continuation's camera: the move the new prompt names, and only the looks
 * that keep the join invisible — a colour grade or a fade-in starting at the
 * join would be a cut; a fade-out at the end is not.
 */
function continuingCamera(plan: CameraPlan): { camera: CameraPlan; ignored: Look[] } {
  const keep = (l: Look) => l === 'fade_out';
  return { camera: { ...plan, looks: plan.looks.filter(keep) }, ignored: plan.looks.filter((l) => !keep(l)) };
}

/** What became of the reference images: recorded, not used (it cannot keep a subject from pictures). */
function referencesNote(job: GenerationJob): Record<string, unknown> {
  const count = job.referenceImages?.length ?? 0;
  if (count === 0) return {};
  const start = job.images.length === 0;
  return {
    references: {
      count, used: false,
      ...(start ? { start_frame: 'reference_images[0]' } : {}),
      note: `The local renderer cannot keep a subject from reference images; it animated ${start ? 'the first reference as the start frame' : 'the start image'}.`,
    },
  };
}
