import { describe, expect, it } from 'vitest';
import { buildRenderPlan } from '../../src/providers/local/render-plan.ts';
import { defaultSeed } from '../../src/worker/worker.ts';

const base = { width: 1280, height: 720, fps: 24, seconds: 4, seed: 7, withAudio: false, firstFrame: 'a.png', lastFrame: null, output: 'o.mp4' };
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

  it('zooms with sub-pixel perspective sampling evaluated per frame', () => {
    const graph = argAfter(buildRenderPlan(base).args, '-filter_complex')!;
    expect(graph).toContain('perspective=');
    expect(graph).toContain('eval=frame');
    expect(graph).not.toContain('zoompan');
  });

  it('adds an AAC track only when asked, seeded for determinism', () => {
    expect(buildRenderPlan(base).args).not.toContain('-c:a');
    const p = buildRenderPlan({ ...base, withAudio: true });
    expect(argAfter(p.args, '-c:a')).toBe('aac');
    expect(p.args.join(' ')).toContain('seed=7');
  });

  it('cross-fades into a last frame when given', () => {
    const graph = argAfter(buildRenderPlan({ ...base, lastFrame: 'z.png' }).args, '-filter_complex')!;
    expect(graph).toContain('xfade=transition=fade');
  });

  it('derives a stable default seed from the task id', () => {
    expect(defaultSeed('task_a')).toBe(defaultSeed('task_a'));
    expect(defaultSeed('task_a')).not.toBe(defaultSeed('task_b'));
    expect(defaultSeed('task_a')).toBeLessThanOrEqual(4294967295);
  });
});
