/**
 * Pure construction of the local renderer's ffmpeg invocation. No I/O here,
 * so the camera maths and argv are unit-tested without running ffmpeg.
 */

export interface RenderPlanInput {
  width: number;
  height: number;
  fps: number;
  seconds: number;
  seed: number;
  withAudio: boolean;
  /** Paths of frames already scaled/cropped to width×height. */
  firstFrame: string;
  lastFrame: string | null;
  output: string;
  threads?: number;
}

export interface CameraPlan {
  moves: string[];
  speed: 'slow' | 'normal' | 'fast';
  /** Zoom factor at the end (1 = none). */
  zoomTo: number;
}

export interface RenderPlan {
  args: string[];
  totalFrames: number;
  camera: CameraPlan;
}

const DEFAULT_CAMERA: CameraPlan = { moves: ['zoom_in'], speed: 'slow', zoomTo: 1.12 };

/**
 * Source-quad corners for the perspective filter: a centred window shrinking
 * by the zoom factor. `perspective` samples with sub-pixel (bilinear)
 * precision, unlike zoompan's integer crop, so slow moves do not stair-step.
 */
function zoomCorners(camera: CameraPlan, lastIndex: number): Record<string, string> {
  // Ease in/out so the move starts and ends without a jolt.
  const t = lastIndex > 0 ? `(0.5-0.5*cos(PI*on/${lastIndex}))` : '0';
  const z = `(1+${(camera.zoomTo - 1).toFixed(4)}*${t})`;
  const l = `W/2-W/(2*${z})`, r = `W/2+W/(2*${z})`, tp = `H/2-H/(2*${z})`, b = `H/2+H/(2*${z})`;
  return { x0: l, y0: tp, x1: r, y1: tp, x2: l, y2: b, x3: r, y3: b };
}

export function buildRenderPlan(input: RenderPlanInput, camera: CameraPlan = DEFAULT_CAMERA): RenderPlan {
  const totalFrames = Math.round(input.seconds * input.fps);
  const duration = (totalFrames / input.fps).toFixed(3);
  const corners = zoomCorners(camera, totalFrames - 1);
  const perspective = `perspective=${Object.entries(corners).map(([k, v]) => `${k}='${v}'`).join(':')}:interpolation=linear:eval=frame`;

  const args: string[] = ['-y', '-loop', '1', '-framerate', String(input.fps), '-t', duration, '-i', input.firstFrame];
  let graph = `[0:v]${perspective},format=yuv420p[cam]`;
  let videoOut = '[cam]';
  let nextInput = 1;

  if (input.lastFrame) {
    args.push('-loop', '1', '-framerate', String(input.fps), '-t', duration, '-i', input.lastFrame);
    // Cross-fade into the requested last frame over the final second (or a third of a short clip).
    const fade = Math.min(1, input.seconds / 3);
    const offset = (totalFrames / input.fps - fade).toFixed(3);
    graph += `;[${nextInput}:v]format=yuv420p[last];[cam][last]xfade=transition=fade:duration=${fade.toFixed(3)}:offset=${offset}[vout]`;
    videoOut = '[vout]';
    nextInput++;
  }

  if (input.withAudio) {
    // A quiet ambient bed (brown noise, low-passed): real audio, deterministic for a seed.
    args.push('-f', 'lavfi', '-t', duration, '-i', `anoisesrc=color=brown:amplitude=0.05:sample_rate=48000:seed=${input.seed}`);
    graph += `;[${nextInput}:a]lowpass=f=900,afade=t=in:d=0.5,afade=t=out:st=${Math.max(0, totalFrames / input.fps - 0.5).toFixed(3)}:d=0.5[aout]`;
  }

  args.push('-filter_complex', graph, '-map', videoOut);
  if (input.withAudio) args.push('-map', '[aout]', '-c:a', 'aac', '-b:a', '96k', '-ac', '2');
  args.push(
    '-frames:v', String(totalFrames), '-r', String(input.fps),
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p',
    // Fixed thread count and bitexact flags: same inputs + seed → the same bytes.
    '-threads', String(input.threads ?? 2),
    '-fflags', '+bitexact', '-flags:v', '+bitexact', '-flags:a', '+bitexact', '-map_metadata', '-1',
    '-movflags', '+faststart',
    '-shortest',
    input.output,
  );
  return { args, totalFrames, camera };
}
