/**
 * Pure construction of the local renderer's ffmpeg invocation. No I/O here,
 * so the camera maths and argv are unit-tested without running ffmpeg.
 */
import { cameraPath, type CameraPath, type CameraPlan, type Look } from './camera.ts';
import { cornerExpressions, needsBackdrop } from './camera-window.ts';
import { audioBedGraph, type AudioBed } from './audio-bed.ts';

export interface RenderPlanInput {
  width: number;
  height: number;
  fps: number;
  seconds: number;
  seed: number;
  camera: CameraPlan;
  /** null: no audio track at all (e.g. Veo 2). */
  audio: AudioBed | null;
  /** Paths of frames already scaled/cropped to width×height. */
  firstFrame: string;
  lastFrame: string | null;
  output: string;
  /** Fixed so the same inputs give the same bytes on a machine with any core count. */
  threads?: number;
}

export interface RenderPlan {
  args: string[];
  totalFrames: number;
  path: CameraPath;
}

const even = (n: number) => Math.max(2, 2 * Math.round(n / 2));
const perspective = (corners: Record<string, string>) =>
  `perspective=${Object.entries(corners).map(([k, v]) => `${k}='${v}'`).join(':')}:interpolation=linear:eval=frame`;

/**
 * The camera window over the first image; the stream it yields is labelled
 * [cam]. A pull back sees past the picture's edges, so there it is two layers:
 * the sharp picture (padded with transparent pixels, which the clamped
 * sampling turns into see-through) over a soft world that continues it — the
 * picture mirrored outward, blurred and dimmed — which the same camera moves
 * through. The world is built once from the first frame at an eighth of the
 * size, where its warp costs next to nothing.
 */
function cameraGraph(input: RenderPlanInput, path: CameraPath, lastIndex: number): string {
  const { width, height } = input;
  const spec = { width, height, fps: input.fps, lastIndex, seed: input.seed };
  if (!needsBackdrop(path)) return `[0:v]format=yuv420p,${perspective(cornerExpressions(path, spec))}[cam]`;

  const pad = 2; // even, for the halved chroma planes
  const fg = cornerExpressions(path, { ...spec, source: { width, height, border: pad } });
  const sw = even(width / 8), sh = even(height / 8), sb = even(Math.max(sw, sh) / 4);
  const world = cornerExpressions(path, { ...spec, source: { width: sw, height: sh, border: sb } });
  return `[0:v]format=yuv420p,split=2[pic][wsrc];`
    + `[wsrc]trim=end_frame=1,scale=${sw}:${sh},pad=${sw + 2 * sb}:${sh + 2 * sb}:${sb}:${sb},`
    + `fillborders=left=${sb}:right=${sb}:top=${sb}:bottom=${sb}:mode=mirror,gblur=sigma=${Math.max(1, sw / 40).toFixed(2)},`
    + `eq=brightness=-0.06:saturation=0.8,loop=loop=-1:size=1,${perspective(world)},crop=${sw}:${sh}:${sb}:${sb},scale=${width}:${height}[world];`
    + `[pic]format=yuva420p,pad=${width + 2 * pad}:${height + 2 * pad}:${pad}:${pad}:color=black@0,`
    + `${perspective(fg)},crop=${width}:${height}:${pad}:${pad}[fg];[world][fg]overlay=shortest=1:format=yuv420[cam]`;
}

/**
 * "Fade in" never starts black: the video starts on the picture (it is the
 * thumbnail too) and the light comes up — a gentle gamma lift eased over the
 * first second. It applies to the first image's stream only, so a last frame
 * is still reached exactly.
 */
function lightUp(fps: number, seconds: number): string {
  const frames = Math.max(1, Math.round(Math.min(1, seconds / 4) * fps));
  return `eq=gamma='1+0.25*(0.5-0.5*cos(PI*min(n/${frames},1)))':eval=frame`;
}

/** Colour grades for the whole clip, and the fade to black at the end (unless a last frame ends it). */
function lookFilters(looks: Look[], duration: number, endsOnLastFrame: boolean): string[] {
  const out: string[] = [];
  const fade = Math.min(1, duration / 4).toFixed(3);
  for (const l of looks) {
    // lutyuv works on the yuv420p frames directly (no RGB round trip): shift chroma for temperature.
    if (l === 'warm') out.push("lutyuv=u='clip(val-10,16,240)':v='clip(val+12,16,240)'");
    if (l === 'cold') out.push("lutyuv=u='clip(val+12,16,240)':v='clip(val-10,16,240)'");
    if (l === 'black_and_white') out.push('lutyuv=u=128:v=128');
    if (l === 'fade_out' && !endsOnLastFrame) out.push(`fade=t=out:st=${(duration - Number(fade)).toFixed(3)}:d=${fade}`);
  }
  return out;
}

export function buildRenderPlan(input: RenderPlanInput): RenderPlan {
  const totalFrames = Math.round(input.seconds * input.fps);
  const seconds = totalFrames / input.fps;
  const duration = seconds.toFixed(3);
  const path = cameraPath(input.camera);

  const args: string[] = ['-y', '-loop', '1', '-framerate', String(input.fps), '-t', duration, '-i', input.firstFrame];
  let graph = cameraGraph(input, path, totalFrames - 1);
  let video = '[cam]';
  if (input.camera.looks.includes('fade_in')) {
    graph += `;${video}${lightUp(input.fps, seconds)}[lit]`;
    video = '[lit]';
  }
  let nextInput = 1;
  if (input.lastFrame) {
    args.push('-loop', '1', '-framerate', String(input.fps), '-t', duration, '-i', input.lastFrame);
    // Cross-fade into the requested last frame over the final second (a third of a short clip).
    const fade = Math.min(1, seconds / 3);
    graph += `;[${nextInput}:v]format=yuv420p[last];${video}[last]xfade=transition=fade:duration=${fade.toFixed(3)}:offset=${(seconds - fade).toFixed(3)}[xf]`;
    video = '[xf]';
    nextInput++;
  }
  const looks = lookFilters(input.camera.looks, seconds, input.lastFrame !== null);
  if (looks.length) {
    graph += `;${video}${looks.join(',')}[look]`;
    video = '[look]';
  }
  if (input.audio) {
    const bed = audioBedGraph(input.audio, input.seed);
    args.push('-f', 'lavfi', '-t', duration, '-i', bed.source);
    const fadeOut = Math.max(0, seconds - 0.5).toFixed(3);
    graph += `;[${nextInput}:a]${bed.filters},afade=t=in:d=0.5,afade=t=out:st=${fadeOut}:d=0.5[aout]`;
  }

  args.push('-filter_complex', graph, '-map', video);
  if (input.audio) args.push('-map', '[aout]', ...AUDIO_ENCODE);
  args.push('-frames:v', String(totalFrames), ...encodeArgs(input), input.output);
  return { args, totalFrames, path };
}

/** The audio track's encoding, the same for every local output. */
export const AUDIO_ENCODE = ['-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000'];

/** The video encoding (and container) arguments of every local output, before the output path. */
export function encodeArgs(o: { width: number; height: number; fps: number; threads?: number | undefined }): string[] {
  const huge = o.width * o.height > 1920 * 1080 * 1.5;
  return [
    '-r', String(o.fps),
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p',
    // 4k: sliced threads and a short lookahead keep x264 well under our 1 GiB budget (frame threads buffer whole frames).
    ...(huge ? ['-x264-params', 'rc-lookahead=4:sync-lookahead=0:sliced-threads=1'] : []),
    '-threads', String(o.threads ?? 2),
    // bitexact + no metadata: the same inputs and seed give the same bytes.
    '-fflags', '+bitexact', '-flags:v', '+bitexact', '-flags:a', '+bitexact', '-map_metadata', '-1',
    '-movflags', '+faststart',
  ];
}
