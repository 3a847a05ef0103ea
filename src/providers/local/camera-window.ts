/**
 * The camera window over the framed start image, frame by frame, written as
 * ffmpeg expressions for the perspective filter (sense=source: the four points
 * of the source that land on the output's corners). Evaluated per frame with
 * sub-pixel (bilinear) sampling, which is what keeps slow moves free of
 * zoompan's integer stair-stepping.
 *
 * Frame 0 is always the identity window — the framed picture itself — and
 * every move grows away from it: the zoom, offset and turn are eased from
 * nothing, the handheld drift starts at zero, and the extra zoom that keeps a
 * panned or turned window inside the picture grows with the pan and the turn.
 */
import type { CameraPath } from './camera.ts';

export interface WindowSpec {
  /** The output (and framed picture) size: sets the aspect, the drift and the margin. */
  width: number;
  height: number;
  fps: number;
  /** Index of the last frame (the clip is frames 0…lastIndex). */
  lastIndex: number;
  seed: number;
  /**
   * The image the filter samples, when it is not the w×h picture itself: the
   * picture scaled to width×height and padded by `border` pixels each side.
   * A pull back needs a border (it sees past the picture); the corners then
   * reach that many pixels further, so cropping the border back off the
   * output leaves exactly the window.
   */
  source?: { width: number; height: number; border: number };
}

const num = (n: number) => (Math.abs(n) < 1e-9 ? '0' : n.toFixed(6));

/**
 * Handheld drift: per axis, three slow sines (all under 0.5 Hz; seeded phases
 * and ±15 % seeded frequencies), each offset so it is 0 at frame 0. A hand
 * wanders; it does not vibrate — the old 1–3 Hz sinusoid read as a shaking rig.
 */
const DRIFT_HZ = [0.11, 0.19, 0.31] as const;
const DRIFT_WEIGHT = [0.5, 0.3, 0.2] as const;

/** Deterministic values in [0, 1) from the seed (an LCG: the same seed, the same hand). */
function seeded(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Drift {
  /** Offset as a fraction of the axis, 0 at frame 0. */
  offset: string;
  /** A smooth, non-decreasing bound on |offset|, 0 at frame 0: the margin grows with it, never pumps. */
  bound: string;
}

function drift(amplitude: number, fps: number, rand: () => number): Drift {
  const offsets: string[] = [], bounds: string[] = [];
  DRIFT_HZ.forEach((hz, i) => {
    const w = num((2 * Math.PI * hz * (0.85 + 0.3 * rand())) / fps);
    const phase = num(2 * Math.PI * rand());
    const weight = DRIFT_WEIGHT[i]!;
    // sin of the phase as written, to 15 digits: the term is 0 at frame 0 to the last bit that matters.
    offsets.push(`${num(weight)}*(sin(on*${w}+${phase})-(${Math.sin(Number(phase)).toFixed(15)}))`);
    // |sin(a+b) − sin a| ≤ 2·|sin(b/2)|, and ≤ 2 once b passes π: a bound that only rises.
    bounds.push(`${num(2 * weight)}*sin(min(on*${w},PI)/2)`);
  });
  return { offset: `${num(amplitude)}*(${offsets.join('+')})`, bound: `${num(amplitude)}*(${bounds.join('+')})` };
}

/** Corner expressions (x0,y0 … x3,y3) for the perspective filter, in the (padded) source's pixels. */
export function cornerExpressions(path: CameraPath, spec: WindowSpec): Record<string, string> {
  const { width: w, height: h } = spec;
  const aspect = w / h;
  // Ease in and out so moves start and stop without a jolt; 0 at frame 0.
  const P = spec.lastIndex > 0 ? `(0.5-0.5*cos(PI*on/${spec.lastIndex}))` : '0';
  const at = (end: number) => (Math.abs(end) < 1e-9 ? '0' : `(${num(end)}*${P})`);

  let sx = '0', sy = '0', ex = '0', ey = '0';
  if (path.drift > 0) {
    // The amplitude is a share of the short side, so portrait and landscape wander alike.
    const rand = seeded(spec.seed);
    const short = Math.min(w, h);
    const dx = drift((path.drift * short) / w, spec.fps, rand), dy = drift((path.drift * short) / h, spec.fps, rand);
    [sx, sy, ex, ey] = [dx.offset, dy.offset, dx.bound, dy.bound];
  }
  const rotating = Math.abs(path.rotate) > 1e-9;
  const turn = at(path.rotate), absTurn = at(Math.abs(path.rotate));

  // The smallest zoom that keeps the window inside the picture right now. A window turned by θ
  // spans (w·cosθ + h·sinθ)/z across: it fits beside an offset d (a share of the axis) when
  // z ≥ (cosθ + sinθ/aspect) / (1 − 2d), and likewise vertically. 1 at frame 0.
  const fitX = rotating ? `(cos(${absTurn})+sin(${absTurn})*${num(1 / aspect)})` : '1';
  const fitY = rotating ? `(cos(${absTurn})+sin(${absTurn})*${num(aspect)})` : '1';
  const margin = `max(${fitX}/(1-2*(${at(Math.abs(path.x))}+${ex})),${fitY}/(1-2*(${at(Math.abs(path.y))}+${ey})))`;
  // Zoom eased geometrically, so a push in feels even rather than slowing down.
  const move = Math.abs(path.zoom - 1) < 1e-9 ? '1' : `exp(${num(Math.log(path.zoom))}*${P})`;
  const z = `(${move}*${margin})`;

  // Half-extents of the window in source pixels, reaching over the border (see WindowSpec.source).
  const src = spec.source ?? { width: w, height: h, border: 0 };
  const b = src.border;
  const hw = `(${src.width + 2 * b}/(2*${z}))`, hh = `(${src.height + 2 * b}/(2*${z}))`;
  const cx = `(${b}+${src.width}*(0.5+${at(path.x)}+${sx}))`;
  const cy = `(${b}+${src.height}*(0.5+${at(path.y)}+${sy}))`;
  // A source scaled unevenly (rounded to whole pixels) turns the window in the picture's geometry.
  const ratio = (src.width / w) / (src.height / h);
  const corner = (ux: number, uy: number) => {
    const dx = `(${ux}*${hw})`, dy = `(${uy}*${hh})`;
    if (!rotating) return [`${cx}+${dx}`, `${cy}+${dy}`];
    return [`${cx}+${dx}*cos(${turn})-${dy}*${num(ratio)}*sin(${turn})`, `${cy}+${dx}*${num(1 / ratio)}*sin(${turn})+${dy}*cos(${turn})`];
  };
  const [x0, y0] = corner(-1, -1), [x1, y1] = corner(1, -1), [x2, y2] = corner(-1, 1), [x3, y3] = corner(1, 1);
  return { x0: x0!, y0: y0!, x1: x1!, y1: y1!, x2: x2!, y2: y2!, x3: x3!, y3: y3! };
}

/** A pull back shows more than the picture holds: the render needs a backdrop. */
export const needsBackdrop = (path: CameraPath) => path.zoom < 1 - 1e-9;
