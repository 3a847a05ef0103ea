import { describe, expect, it } from 'vitest';
import { buildRenderPlan, cornerExpressions } from '../../src/providers/local/render-plan.ts';
import { cameraPath, framingMargin, planCamera } from '../../src/providers/local/camera.ts';
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
function evalCorners(exprs: Record<string, string>, W: number, H: number, on: number) {
  const out: Record<string, number> = {};
  for (const [k, e] of Object.entries(exprs)) {
    // eslint-disable-next-line no-new-func
    out[k] = new Function('W', 'H', 'on', 'PI', 'cos', 'sin', `return ${e};`)(W, H, on, Math.PI, Math.cos, Math.sin) as number;
  }
  return out;
}

describe('camera windows stay inside the image', () => {
  const prompts = ['zoom in', 'pull back', 'dolly in', 'fast pan left', 'tilt down quickly', 'orbit right', 'handheld', 'fast orbit left while panning right and tilting up, handheld'];
  for (const prompt of prompts) {
    for (const [W, H] of [[1280, 720], [720, 1280]] as const) {
      it(`${prompt} at ${W}x${H}`, () => {
        const path = cameraPath(planCamera(prompt));
        const exprs = cornerExpressions(path, W / H, 95, 42);
        for (let on = 0; on <= 95; on++) {
          const c = evalCorners(exprs, W, H, on);
          for (const k of ['x0', 'x1', 'x2', 'x3']) { expect(c[k]!).toBeGreaterThanOrEqual(-0.01); expect(c[k]!).toBeLessThanOrEqual(W + 0.01); }
          for (const k of ['y0', 'y1', 'y2', 'y3']) { expect(c[k]!).toBeGreaterThanOrEqual(-0.01); expect(c[k]!).toBeLessThanOrEqual(H + 0.01); }
        }
        expect(framingMargin(path, W / H)).toBeGreaterThanOrEqual(1);
      });
    }
  }
});
