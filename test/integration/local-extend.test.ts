/**
 * The local renderer's creative inputs (API.md §3), with real ffmpeg at a
 * small size: an extension is the whole video — the source, then the added
 * seconds — joined without a seam (the first added frame is the source's last:
 * PSNR ≥ 30 dB) with a new camera move from the new prompt, and its sound
 * continues the source's with no gap; reference images are recorded, not used.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/domain/catalog.ts';
import { probeMedia } from '../../src/infra/ffmpeg/probe.ts';
import { localProvider } from '../../src/providers/local/local-provider.ts';
import type { ExtendSource, GenerationJob } from '../../src/providers/provider.ts';
import { decodeFrames, psnr, texturedImage } from '../helpers/frames.ts';

const execFileP = promisify(execFile);
const catalog = loadCatalog();
const veo = catalog.find('veo-3.1-fast-generate-001')!;
const provider = localProvider({ ffmpegPath: 'ffmpeg', maxInputPixels: 1e8 });
const W = 320, H = 180;
let root: string;
let start: Buffer;
let n = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'reelay-extend-'));
  start = await texturedImage(480, 270, 3);
});
afterAll(async () => { await rm(root, { recursive: true, force: true }); });

async function render(over: Partial<GenerationJob>) {
  const workDir = join(root, `r${n++}`);
  await mkdir(workDir);
  const job: GenerationJob = {
    taskId: `task_${n}`, model: veo, prompt: 'slow pan right over the rooftops', negativePrompt: null, aspectRatio: '16:9', seconds: 2,
    width: W, height: H, fps: 24, seed: 5, generateAudio: true, options: {}, images: [start], ...over,
  };
  const r = await provider.generate(job, { signal: new AbortController().signal, onProgress: () => {}, workDir });
  return { ...r, facts: await probeMedia('ffprobe', r.videoPath) };
}

const asSource = async (file: string, facts: Awaited<ReturnType<typeof probeMedia>>, taskId = 'task_src'): Promise<ExtendSource> => ({
  taskId, video: await readFile(file), mimeType: 'video/mp4', duration: facts.duration, width: facts.width, height: facts.height, fps: facts.fps, hasAudio: facts.hasAudio,
});

/** RMS level (dBFS) of the sound in [from, from+length) seconds. */
async function levelDb(file: string, from: number, length: number): Promise<number> {
  const { stderr } = await execFileP('ffmpeg', ['-hide_banner', '-ss', String(from), '-t', String(length), '-i', file, '-vn', '-af', 'volumedetect', '-f', 'null', '-']);
  const m = /mean_volume:\s*(-?[\d.]+|-inf) dB/.exec(stderr);
  return m && m[1] !== '-inf' ? Number(m[1]) : -Infinity;
}

describe('extension by the local renderer', () => {
  it('is the source then the added seconds, seamless at the join, with a new camera move and continuous sound', async () => {
    const src = await render({});
    expect(src.facts.hasAudio).toBe(true);
    const ext = await render({ images: [], seconds: 3, prompt: 'the camera tilts up toward the sky', extend: await asSource(src.videoPath, src.facts) });

    expect(ext.facts.duration).toBeCloseTo(src.facts.duration + 3, 1);
    expect(ext.facts).toMatchObject({ width: W, height: H, hasAudio: true });
    expect(ext.details).toMatchObject({
      camera: { moves: ['tilt_up'] },
      extension: { source_task_id: 'task_src', added_seconds: 3, audio: 'crossfade', joined_at: 'source_last_frame' },
    });

    const before = await decodeFrames(src.videoPath, W, H, 'rgb24');
    const after = await decodeFrames(ext.videoPath, W, H, 'rgb24');
    expect(after.length).toBe(before.length + 3 * 24);
    // The source is kept: its frames are the extended video's first ones.
    const kept = psnr(before[10]!, after[10]!);
    expect(kept).toBeGreaterThanOrEqual(35);
    const join = before.length;
    const seam = psnr(after[join - 1]!, after[join]!);
    console.log(`join PSNR: ${seam.toFixed(2)} dB (source frame kept: ${kept.toFixed(2)} dB)`);
    expect(seam).toBeGreaterThanOrEqual(30);
    // A new move: the added seconds travel away from the join (the last frame is not the first).
    expect(psnr(after[join]!, after.at(-1)!)).toBeLessThan(25);

    // No gap in the sound: every tenth of a second around the join carries sound, as the added seconds do.
    const windows = await Promise.all(Array.from({ length: 10 }, (_, k) => levelDb(ext.videoPath, src.facts.duration - 0.5 + k / 10, 0.1)));
    const later = await levelDb(ext.videoPath, src.facts.duration + 1, 1);
    console.log(`sound around the join (dB per 0.1 s): ${windows.map((w) => w.toFixed(1)).join(' ')}; later: ${later.toFixed(1)}`);
    expect(later).toBeGreaterThan(-50);
    for (const w of windows) expect(w).toBeGreaterThan(later - 12);
  });

  it('a silent source gets the new bed after it; no audio asked and none in the source: no track', async () => {
    const silent = await render({ generateAudio: false });
    expect(silent.facts.hasAudio).toBe(false);
    const withBed = await render({ images: [], seconds: 2, extend: await asSource(silent.videoPath, silent.facts) });
    expect(withBed.facts.hasAudio).toBe(true);
    expect(withBed.facts.duration).toBeCloseTo(silent.facts.duration + 2, 1);
    expect(withBed.details).toMatchObject({ extension: { audio: 'bed' } });
    const none = await render({ images: [], seconds: 2, generateAudio: false, extend: await asSource(silent.videoPath, silent.facts) });
    expect(none.facts.hasAudio).toBe(false);
    expect(none.details).toMatchObject({ extension: { audio: 'none' } });
  });

  it('a colour look named by the new prompt is left out (it would be a cut at the join), and says so', async () => {
    const src = await render({ generateAudio: false });
    const ext = await render({ images: [], seconds: 2, generateAudio: false, prompt: 'black and white, zoom in', extend: await asSource(src.videoPath, src.facts) });
    expect(ext.details).toMatchObject({ camera: { looks: [] }, extension: { looks_ignored: ['black_and_white'] } });
    const frames = await decodeFrames(ext.videoPath, W, H, 'rgb24');
    const join = Math.round(src.facts.duration * 24);
    expect(psnr(frames[join - 1]!, frames[join]!)).toBeGreaterThanOrEqual(30);
  });
});

describe('reference images on the local renderer', () => {
  it('are recorded as not used; the start image is animated', async () => {
    const ref = await texturedImage(200, 200, 8);
    const r = await render({ referenceImages: [ref, ref], generateAudio: false });
    expect(r.details).toMatchObject({ references: { count: 2, used: false, note: expect.stringContaining('cannot keep a subject') } });
    expect(r.details.references).not.toHaveProperty('start_frame');
  });

  it('with no start image (a references-only model), the first reference is the start frame', async () => {
    const ref = await texturedImage(320, 180, 8);
    const r = await render({ images: [], referenceImages: [ref], generateAudio: false, prompt: 'static shot' });
    expect(r.details).toMatchObject({ references: { count: 1, used: false, start_frame: 'reference_images[0]' } });
    const [first] = await decodeFrames(r.videoPath, W, H, 'rgb24');
    const expected = await decodeFrames(r.videoPath, W, H, 'rgb24').then((f) => f.at(-1)!);
    // Static camera on the reference: the picture throughout.
    expect(psnr(first!, expected)).toBeGreaterThanOrEqual(30);
  });
});
