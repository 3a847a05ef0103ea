import { describe, expect, it } from 'vitest';
import { buildRenderPlan } from '../../src/providers/local/render-plan.ts';
import { cornerExpressions, type WindowSpec } from '../../src/providers/local/camera-window.ts';
import { cameraPath, planCamera } from '../../src/providers/local/camera.ts';
import { defaultSeed } from '../../src/worker/failure.ts';

const base = {
  width: 1280, height: 720, fps: 24, seconds: 4, seed: 7, camera: planCamera('a lake'), audio: null,
  firstFrame: 'a.png', lastFrame: null, output: 'o.mp4',
} as const;
const argAfter = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

describe('local render plan', () => {
  it('renders exactly seconds × fps frames of H.264 yuv420p with faststart', () => {
    const p = buildRenderPlan(base);
    expect(p.totalFrames).toBe(96);
    expect(argAfter(p.args, '-frames:v')).toBe('96');
    expect(argAfter(p.args, '-c:v')).toBe('libx264');
    expect(argAfter(p.args, '-pix_fmt')).toBe('yuv420p');
    expect(argAfter(p.args, '-movflags')).toBe('+faststart');
    expect(p.args.at(-1)).toBe('o.mp4');
  });

  it('moves the camera with sub-pixel perspective sampling evaluated per frame (not zoompan)', () => {
    const graph = argAfter(buildRenderPlan(base).args, '-filter_complex')!;
    expect(graph).toContain('perspective=');
    expect(graph).toContain('eval=frame');
    expect(graph).not.toContain('zoompan');
  });

  it('adds an AAC track only with an audio bed, seeded for determinism', () => {
    expect(buildRenderPlan(base).args).not.toContain('-c:a');
    const p = buildRenderPlan({ ...base, audio: 'rain' });
    expect(argAfter(p.args, '-c:a')).toBe('aac');
    expect(p.args.join(' ')).toContain('seed=7');
  });

  it('cross-fades into a last frame when given', () => {
    const graph = argAfter(buildRenderPlan({ ...base, lastFrame: 'z.png' }).args, '-filter_complex')!;
    expect(graph).toContain('xfade=transition=fade');
  });

  it('applies looks as filters', () => {
    const graph = argAfter(buildRenderPlan({ ...base, camera: planCamera('black and white, fade out') }).args, '-filter_complex')!;
    expect(graph).toContain('lutyuv=u=128:v=128');
    expect(graph).toContain('fade=t=out');
  });

  it('never fades in from black: "fade in" lifts the light from the picture, before the last frame', () => {
    const graph = argAfter(buildRenderPlan({ ...base, camera: planCamera('fade in'), lastFrame: 'z.png' }).args, '-filter_complex')!;
    expect(graph).not.toContain('fade=t=in');
    expect(graph).toMatch(/\[cam\]eq=gamma='1\+[^']*':eval=frame\[lit\];.*\[lit\]\[last\]xfade/);
  });

  it('a last frame wins over a fade out: the video ends on it', () => {
    const graph = argAfter(buildRenderPlan({ ...base, camera: planCamera('fade out'), lastFrame: 'z.png' }).args, '-filter_complex')!;
    expect(graph).not.toContain('fade=t=out');
    expect(graph).toContain('xfade');
  });

  it('a pull back sees past the picture: a soft world continues it behind a see-through border', () => {
    const graph = argAfter(buildRenderPlan({ ...base, camera: planCamera('zoom out') }).args, '-filter_complex')!;
    expect(graph).toContain('fillborders=');
    expect(graph).toContain('color=black@0');
    expect(graph).toContain('overlay=shortest=1');
    expect(argAfter(buildRenderPlan(base).args, '-filter_complex')).not.toContain('overlay');
  });

  it('uses a lean x264 configuration at 4k to bound memory', () => {
    expect(buildRenderPlan({ ...base, width: 3840, height: 2160 }).args.join(' ')).toContain('sliced-threads=1');
    expect(buildRenderPlan(base).args.join(' ')).not.toContain('sliced-threads');
  });

  it('derives a stable default seed from the task id', () => {
    expect(defaultSeed('task_a')).toBe(defaultSeed('task_a'));
    expect(defaultSeed('task_a')).not.toBe(defaultSeed('task_b'));
    expect(defaultSeed('task_a')).toBeLessThanOrEqual(4294967295);
  });
});

/** Evaluate the perspective corner expressions the way ffmpeg would, for frame `on`. */
function evalCorners(exprs: Record<string, string>, on: number) {
  const out: Record<string, number> = {};
  for (const [k, e] of Object.entries(exprs)) {
    // eslint-disable-next-line no-new-func
    out[k] = new Function('on', 'PI', 'cos', 'sin', 'exp', 'max', 'min', `return ${e};`)(on, Math.PI, Math.cos, Math.sin, Math.exp, Math.max, Math.min) as number;
  }
  return out;
}
const spec = (W: number, H: number, seed = 42, lastIndex = 95): WindowSpec => ({ width: W, height: H, fps: 24, lastIndex, seed });
const corners = (prompt: string, s: WindowSpec) => cornerExpressions(cameraPath(planCamera(prompt)), s);

const MOVES = ['static shot', 'zoom in', 'pull back', 'dolly in', 'dolly out', 'pan left', 'fast pan right', 'tilt up', 'tilt down quickly',
  'orbit right', 'orbit left', 'handheld', 'fade in', 'handheld orbit, dramatic zoom in',
  'fast orbit left while panning right and tilting up, handheld', 'fast dolly out while panning left, handheld'];
const SIZES = [[1280, 720], [720, 1280]] as const;

describe('frame 0 is the framed picture, whatever the move', () => {
  for (const prompt of MOVES) {
    it(prompt, () => {
      for (const [W, H] of SIZES) {
        for (const seed of [1, 42, 4294967295]) {
          const c = evalCorners(corners(prompt, spec(W, H, seed)), 0);
          const identity = { x0: 0, y0: 0, x1: W, y1: 0, x2: 0, y2: H, x3: W, y3: H };
          for (const [k, v] of Object.entries(identity)) expect(c[k]).toBeCloseTo(v, 6);
        }
      }
    });
  }
});

describe('camera windows stay inside the picture (no border ever shows)', () => {
  for (const prompt of MOVES.filter((p) => !/pull back|dolly out/.test(p))) {
    for (const [W, H] of SIZES) {
      it(`${prompt} at ${W}x${H}`, () => {
        const exprs = corners(prompt, spec(W, H));
        for (let on = 0; on <= 95; on++) {
          const c = evalCorners(exprs, on);
          for (const k of ['x0', 'x1', 'x2', 'x3']) { expect(c[k]!).toBeGreaterThanOrEqual(-1e-6); expect(c[k]!).toBeLessThanOrEqual(W + 1e-6); }
          for (const k of ['y0', 'y1', 'y2', 'y3']) { expect(c[k]!).toBeGreaterThanOrEqual(-1e-6); expect(c[k]!).toBeLessThanOrEqual(H + 1e-6); }
        }
      });
    }
  }

  it('a pull back ends wider than the picture (the soft world fills the rest)', () => {
    const c = evalCorners(corners('dolly out', spec(1280, 720)), 95);
    expect(c.x1! - c.x0!).toBeCloseTo(1280 * 1.3, 3);
    expect(c.x0!).toBeLessThan(0);
  });

  it('with a see-through border, cropping it off the output leaves exactly the window', () => {
    const path = cameraPath(planCamera('orbit right while zooming out'));
    const plain = evalCorners(cornerExpressions(path, spec(1280, 720)), 60);
    const padded = evalCorners(cornerExpressions(path, { ...spec(1280, 720), source: { width: 1280, height: 720, border: 2 } }), 60);
    // The padded output is 1284 wide: its pixel 2 maps where the plain output's pixel 0 does.
    const at = (c: Record<string, number>, u: number, v: number) => [
      c.x0! + (c.x1! - c.x0!) * u + (c.x2! - c.x0!) * v, c.y0! + (c.y1! - c.y0!) * u + (c.y2! - c.y0!) * v];
    const [px, py] = at(padded, 2 / 1284, 2 / 724), [qx, qy] = at(plain, 0, 0);
    expect(px! - 2).toBeCloseTo(qx!, 6);
    expect(py! - 2).toBeCloseTo(qy!, 6);
  });
});

describe('moves grow away from the framed picture', () => {
  const end = (prompt: string) => evalCorners(corners(prompt, spec(1280, 720)), 95);
  const centre = (c: Record<string, number>) => ({ x: (c.x0! + c.x3!) / 2, y: (c.y0! + c.y3!) / 2 });
  it('zoom in narrows the window; a pan or tilt moves it (and zooms just enough to stay inside)', () => {
    expect(end('zoom in').x1! - end('zoom in').x0!).toBeCloseTo(1280 / 1.15, 3);
    expect(centre(end('pan left')).x).toBeLessThan(640 - 60);
    expect(centre(end('pan right')).x).toBeGreaterThan(640 + 60);
    expect(centre(end('tilt up')).y).toBeLessThan(360 - 30);
    const pan = end('pan right');
    expect(pan.x1!).toBeCloseTo(1280, 3); // touches the edge at the end, never beyond
  });
  it('orbit turns the window a few degrees, left and right opposite', () => {
    const turn = (c: Record<string, number>) => Math.atan2(c.y1! - c.y0!, c.x1! - c.x0!);
    expect(turn(end('orbit right'))).toBeCloseTo(0.05, 6);
    expect(turn(end('orbit left'))).toBeCloseTo(-0.05, 6);
  });
});

describe('handheld is a slow drift, not a vibration', () => {
  /** How far the picture under the output's centre moves each frame, in output pixels (1080p, 24 fps, 8 s). */
  function centrePath(prompt: string, seed: number) {
    const exprs = corners(prompt, spec(1920, 1080, seed, 191));
    const xs: number[] = [], ys: number[] = [], steps: number[] = [];
    let prev: { x: number; y: number } | null = null;
    for (let on = 0; on <= 191; on++) {
      const c = evalCorners(exprs, on);
      const zoom = 1920 / Math.hypot(c.x1! - c.x0!, c.y1! - c.y0!);
      const centre = { x: (c.x0! + c.x3!) / 2, y: (c.y0! + c.y3!) / 2 };
      xs.push(centre.x);
      ys.push(centre.y);
      if (prev) steps.push(Math.hypot(centre.x - prev.x, centre.y - prev.y) * zoom);
      prev = centre;
    }
    return { xs, ys, steps };
  }
  /** Share of the signal's energy above `hz` (Hann-windowed DFT of the frame-to-frame motion's integral, mean removed). */
  function energyAbove(xs: number[], hz: number, fps = 24) {
    const n = xs.length, mean = xs.reduce((a, b) => a + b, 0) / n;
    const v = xs.map((x, i) => (x - mean) * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1))));
    let high = 0, total = 0;
    for (let k = 1; k < n / 2; k++) {
      let re = 0, im = 0;
      for (let i = 0; i < n; i++) { re += v[i]! * Math.cos((2 * Math.PI * k * i) / n); im -= v[i]! * Math.sin((2 * Math.PI * k * i) / n); }
      const e = re * re + im * im;
      total += e;
      if ((k * fps) / n > hz) high += e;
    }
    return high / total;
  }

  for (const seed of [1, 7, 123456]) {
    it(`fast handheld at 1080p, seed ${seed}: under 1.5 px a frame, no energy above 0.5 Hz`, () => {
      const { xs, ys, steps } = centrePath('fast handheld', seed);
      expect(Math.max(...steps)).toBeLessThan(1.5);
      const wander = Math.max(...xs) - Math.min(...xs);
      expect(wander).toBeGreaterThan(8); // it does wander
      expect(energyAbove(xs, 0.5)).toBeLessThan(0.02);
      expect(energyAbove(ys, 0.5)).toBeLessThan(0.02);
    });
  }

  it('is seeded: the same seed, the same hand; another seed, another', () => {
    expect(centrePath('handheld', 5)).toEqual(centrePath('handheld', 5));
    expect(centrePath('handheld', 5).xs).not.toEqual(centrePath('handheld', 6).xs);
  });
});
