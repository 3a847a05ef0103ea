/**
 * Pure construction of the local renderer's ffmpeg invocation. No I/O here,
 * so the camera maths and argv are unit-tested without running ffmpeg.
 */
import { cameraPath, framingMargin, type CameraPath, type CameraPlan, type Look } from './camera.ts';
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

const num = (n: number) => (Math.abs(n) < 1e-9 ? '0' : n.toFixed(6));

/** Deterministic pseudo-random phases for the handheld shake, from the seed. */
function phases(seed: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: 4 }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 * Math.PI;
  });
}

/**
 * Corner expressions for ffmpeg's perspective filter (sense=source): the
 * four points of the source image that land on the output's corners. The
 * window is centred, scaled by the zoom, shifted by pan/tilt/shake and turned
 * by the orbit angle — all evaluated per frame with sub-pixel (bilinear)
 * sampling, which is what keeps slow moves free of zoompan's integer
 * stair-stepping.
 */
export function cornerExpressions(path: CameraPath, aspect: number, lastIndex: number, seed: number): Record<string, string> {
  const margin = framingMargin(path, aspect);
  // Ease in and out so moves start and stop without a jolt.
  const P = lastIndex > 0 ? `(0.5-0.5*cos(PI*on/${lastIndex}))` : '0';
  const lerp = ([a, b]: [number, number]) => (Math.abs(b - a) < 1e-9 ? num(a) : `(${num(a)}+${num(b - a)}*${P})`);
  const z = `(${num(margin)}*${lerp(path.zoom)})`;
  let sx = '0', sy = '0';
  if (path.shake > 0) {
    const [a, b, c, d] = phases(seed);
    // Two incommensurate frequencies per axis read as a hand, not a vibration.
    sx = `${num(path.shake)}*(0.6*sin(on*0.31+${num(a!)})+0.4*sin(on*0.83+${num(b!)}))`;
    sy = `${num(path.shake * aspect)}*(0.6*sin(on*0.27+${num(c!)})+0.4*sin(on*0.71+${num(d!)}))`;
  }
  const cx = `(W*(0.5+${lerp(path.x)}+${sx}))`;
  const cy = `(H*(0.5+${lerp(path.y)}+${sy}))`;
  const rotating = path.rotate[0] !== 0 || path.rotate[1] !== 0;
  const t = lerp(path.rotate);
  const hw = `(W/(2*${z}))`, hh = `(H/(2*${z}))`;
  const corner = (ux: number, uy: number) => {
    const dx = `(${ux}*${hw})`, dy = `(${uy}*${hh})`;
    if (!rotating) return [`${cx}+${dx}`, `${cy}+${dy}`];
    return [`${cx}+${dx}*cos(${t})-${dy}*sin(${t})`, `${cy}+${dx}*sin(${t})+${dy}*cos(${t})`];
  };
  const [x0, y0] = corner(-1, -1), [x1, y1] = corner(1, -1), [x2, y2] = corner(-1, 1), [x3, y3] = corner(1, 1);
  return { x0: x0!, y0: y0!, x1: x1!, y1: y1!, x2: x2!, y2: y2!, x3: x3!, y3: y3! };
}

function lookFilters(looks: Look[], duration: number): string[] {
  const out: string[] = [];
  const fade = Math.min(1, duration / 4).toFixed(3);
  for (const l of looks) {
    // lutyuv works on the yuv420p frames directly (no RGB round trip): shift chroma for temperature.
    if (l === 'warm') out.push("lutyuv=u='clip(val-10,16,240)':v='clip(val+12,16,240)'");
    if (l === 'cold') out.push("lutyuv=u='clip(val+12,16,240)':v='clip(val-10,16,240)'");
    if (l === 'black_and_white') out.push('lutyuv=u=128:v=128');
    if (l === 'fade_in') out.push(`fade=t=in:st=0:d=${fade}`);
    if (l === 'fade_out') out.push(`fade=t=out:st=${(duration - Number(fade)).toFixed(3)}:d=${fade}`);
  }
  return out;
}

export function buildRenderPlan(input: RenderPlanInput): RenderPlan {
  const totalFrames = Math.round(input.seconds * input.fps);
  const seconds = totalFrames / input.fps;
  const duration = seconds.toFixed(3);
  const path = cameraPath(input.camera);
  const corners = cornerExpressions(path, input.width / input.height, totalFrames - 1, input.seed);
  const perspective = `perspective=${Object.entries(corners).map(([k, v]) => `${k}='${v}'`).join(':')}:interpolation=linear:eval=frame`;

  const args: string[] = ['-y', '-loop', '1', '-framerate', String(input.fps), '-t', duration, '-i', input.firstFrame];
  // yuv420p before the transform: half the bytes per pixel of RGB, so the per-frame warp is cheaper.
  let graph = `[0:v]format=yuv420p,${perspective}[cam]`;
  let video = '[cam]';
  let nextInput = 1;
  if (input.lastFrame) {
    args.push('-loop', '1', '-framerate', String(input.fps), '-t', duration, '-i', input.lastFrame);
    // Cross-fade into the requested last frame over the final second (a third of a short clip).
    const fade = Math.min(1, seconds / 3);
    graph += `;[${nextInput}:v]format=yuv420p[last];[cam][last]xfade=transition=fade:duration=${fade.toFixed(3)}:offset=${(seconds - fade).toFixed(3)}[xf]`;
    video = '[xf]';
    nextInput++;
  }
  const looks = lookFilters(input.camera.looks, seconds);
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
  if (input.audio) args.push('-map', '[aout]', '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000');
  const huge = input.width * input.height > 1920 * 1080 * 1.5;
  args.push(
    '-frames:v', String(totalFrames), '-r', String(input.fps),
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p',
    // 4k: sliced threads and a short lookahead keep x264 well under our 1 GiB budget (frame threads buffer whole frames).
    ...(huge ? ['-x264-params', 'rc-lookahead=4:sync-lookahead=0:sliced-threads=1'] : []),
    '-threads', String(input.threads ?? 2),
    // bitexact + no metadata: the same inputs and seed give the same bytes.
    '-fflags', '+bitexact', '-flags:v', '+bitexact', '-flags:a', '+bitexact', '-map_metadata', '-1',
    '-movflags', '+faststart',
    input.output,
  );
  return { args, totalFrames, path };
}
