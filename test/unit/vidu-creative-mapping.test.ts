// Start-end and reference jobs → Vidu's /start-end2video and /reference2video
// bodies (UPSTREAM.md §4), judged by the strict fake's checkers; the frame
// pairing and the 20 MB body rule with several images.
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { loadCatalog, type ModelSpec } from '../../src/domain/catalog.ts';
import type { UpstreamJob } from '../../src/providers/upstream/upstream-provider.ts';
import { fitImages } from '../../src/providers/vidu/body-fit.ts';
import { viduEndpoint, viduImages } from '../../src/providers/vidu/endpoint-plan.ts';
import { startEndImages } from '../../src/providers/vidu/frame-image.ts';
import { viduRequest } from '../../src/providers/vidu/request-mapping.ts';
import { checkCreate, pairProblem, ENDPOINTS } from '../fakes/vidu.ts';
import { makeImage } from '../helpers/images.ts';

const catalog = loadCatalog();
const URI = 'data:image/png;base64,iVBORw0KGgo=';
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

function job(upstreamModel: string, seconds: number, size: string, extra: Partial<UpstreamJob> = {}): UpstreamJob {
  const aspectRatio = extra.aspectRatio ?? '16:9';
  return {
    taskId: 'vid_1', model: { id: `public-${upstreamModel}` } as ModelSpec, upstreamModel, prompt: 'the fox from the pictures runs', negativePrompt: null,
    aspectRatio, seconds, ...catalog.dimensions(size.toLowerCase(), aspectRatio), fps: 24, seed: 42, generateAudio: false, images: [], options: {}, ...extra,
  };
}

/** §4, written out here: each model's endpoints and limits (q2's start-end: 1–8 s). */
const ROWS: [string, string[], number[], string[]][] = [
  ['viduq4-preview', ['reference2video'], range(3, 16), ['540p', '720p', '1080p', '2K', '4K']],
  ['viduq3-pro', ['start-end2video'], range(1, 16), ['540p', '720p', '1080p']],
  ['viduq3-turbo', ['start-end2video'], range(1, 16), ['540p', '720p', '1080p']],
  ['viduq3', ['reference2video'], range(3, 16), ['540p', '720p', '1080p']],
  ['viduq3-mix', ['reference2video'], range(1, 16), ['720p', '1080p']],
  ['viduq2-pro', ['start-end2video'], range(1, 8), ['540p', '720p', '1080p']],
  ['viduq2-turbo', ['start-end2video'], range(1, 8), ['540p', '720p', '1080p']],
  ['viduq2-pro-fast', ['start-end2video'], range(1, 8), ['720p', '1080p']],
  ['viduq1', ['start-end2video', 'reference2video'], [5], ['1080p']],
  ['viduq1-classic', ['start-end2video', 'reference2video'], [5], ['1080p']],
];

describe('Vidu: which endpoint', () => {
  it('one image → img2video, two → start-end2video, references → reference2video; extension and impossible mixes refused', () => {
    const j = (extra: Partial<UpstreamJob>) => job('viduq1', 5, '1080p', extra);
    const img = Buffer.from('x');
    expect(viduEndpoint(j({ images: [img] }))).toEqual({ endpoint: 'img2video' });
    expect(viduEndpoint(j({ images: [img, img] }))).toEqual({ endpoint: 'start-end2video' });
    expect(viduEndpoint(j({ images: [img], referenceImages: [img] }))).toEqual({ endpoint: 'reference2video' });
    expect(viduEndpoint(j({ images: [], referenceImages: Array(7).fill(img) }))).toEqual({ endpoint: 'reference2video' });
    expect(viduEndpoint(j({ images: [img], referenceImages: Array(7).fill(img) }))).toEqual({ problem: 'Vidu\'s reference2video takes at most 7 images, the start image counted as one (got 8)' });
    expect(viduEndpoint(j({ images: [img, img], referenceImages: [img] }))).toEqual({ problem: 'Vidu cannot combine an end image with reference images: reference2video takes no frames' });
    const extend = { taskId: 't0', video: Buffer.from('v'), mimeType: 'video/mp4' as const, duration: 5, width: 1920, height: 1080, fps: 24, hasAudio: false };
    expect(viduEndpoint(j({ images: [], extend }))).toEqual({ problem: 'Vidu cannot extend a video: it has no extension endpoint' });
    expect(viduEndpoint(j({ images: [] }))).toEqual({ problem: 'Vidu\'s img2video needs a start image' });
  });
});

describe('Vidu: start-end2video and reference2video bodies', () => {
  it('every §4 row × endpoint × length × size maps to a body the fake accepts', () => {
    let n = 0;
    for (const [model, endpoints, seconds, sizes] of ROWS) for (const endpoint of endpoints) for (const s of seconds) for (const size of sizes) {
      const uris = endpoint === 'start-end2video' ? [URI, URI] : [URI, URI, URI];
      for (const aspectRatio of endpoint === 'reference2video' ? ['16:9', '9:16', '1:1'] : ['16:9']) {
        const body = viduRequest(job(model, s, size, { aspectRatio }), uris, undefined, endpoint as 'start-end2video');
        expect([model, endpoint, s, size, aspectRatio, checkCreate(endpoint as 'start-end2video', body)]).toEqual([model, endpoint, s, size, aspectRatio, null]);
        n++;
      }
    }
    expect(n).toBeGreaterThan(300);
  });

  it('reference2video carries aspect_ratio (4:3 and 3:4 on q3 only); the others never do', () => {
    const ref = viduRequest(job('viduq3', 5, '720p', { aspectRatio: '9:16' }), [URI], 'https://reelay.example/cb', 'reference2video');
    expect(ref).toMatchObject({ model: 'viduq3', images: [URI], aspect_ratio: '9:16', duration: 5, resolution: '720p', callback_url: 'https://reelay.example/cb' });
    expect(checkCreate('reference2video', { ...ref, aspect_ratio: '4:3' })).toBeNull();
    expect(checkCreate('reference2video', { ...ref, model: 'viduq4-preview', aspect_ratio: '4:3' })).toMatchObject({ reason: 'FieldInvalid', message: expect.stringContaining('aspect_ratio 4:3') });
    const pair = viduRequest(job('viduq3-pro', 5, '720p'), [URI, URI], undefined, 'start-end2video');
    expect(pair).not.toHaveProperty('aspect_ratio');
    expect(checkCreate('start-end2video', { ...pair, aspect_ratio: '16:9' })).toMatchObject({ reason: 'FieldUnwanted', message: 'field aspect_ratio is not accepted by start-end2video' });
  });

  it('the checker refuses what Vidu refuses', () => {
    const ref = viduRequest(job('viduq1', 5, '1080p'), [URI], undefined, 'reference2video');
    const pair = viduRequest(job('viduq2-turbo', 8, '720p'), [URI, URI], undefined, 'start-end2video');
    expect(checkCreate('reference2video', { ...ref, images: Array(8).fill(URI) })).toMatchObject({ reason: 'FieldItemCountOutOfRange', message: 'images must contain 1 to 7 images for reference2video' });
    expect(checkCreate('reference2video', { ...ref, images: [] })).toMatchObject({ reason: 'FieldItemCountOutOfRange' });
    expect(checkCreate('reference2video', { ...ref, prompt: undefined })).toMatchObject({ reason: 'FieldLacking', message: 'prompt is required for reference2video' });
    expect(checkCreate('reference2video', { ...ref, subjects: [{ name: 'fox', images: [URI] }] })).toMatchObject({ reason: 'FieldInvalid', message: 'images and subjects cannot both be set' });
    expect(checkCreate('reference2video', { ...ref, images: undefined, subjects: [{ name: 'fox', images: [URI] }] })).toBeNull();
    expect(checkCreate('reference2video', { ...ref, model: 'viduq3-pro' })).toMatchObject({ reason: 'FieldInvalid', message: 'model viduq3-pro does not support reference2video' });
    expect(checkCreate('reference2video', { ...ref, model: 'viduq2-pro' })).toMatchObject({ message: 'model viduq2-pro does not support reference2video' });
    expect(checkCreate('start-end2video', { ...pair, images: [URI] })).toMatchObject({ reason: 'FieldItemCountOutOfRange', message: 'images must contain exactly 2 images (start, end) for start-end2video' });
    expect(checkCreate('start-end2video', { ...pair, duration: 9 })).toMatchObject({ reason: 'FieldInvalid', message: 'duration 9 is not supported by viduq2-turbo on start-end2video' });
    expect(checkCreate('img2video', { ...pair, images: [URI], duration: 9 })).toBeNull();
    for (const model of ['viduq4-preview', 'viduq3-pro-fast', 'viduq3', 'viduq3-mix']) {
      expect(checkCreate('start-end2video', { ...pair, model })).toMatchObject({ message: `model ${model} does not support start-end2video` });
    }
    expect(Object.keys(ENDPOINTS).sort()).toEqual([...ROWS.map((r) => r[0]), 'viduq3-pro-fast', 'vidu2.0'].sort());
  });

  it('the start-end pair: both readings of the 0.8–1.25 "resolution ratio" are checked', () => {
    const d = (width: number, height: number) => ({ format: 'png', width, height });
    expect(pairProblem(d(1280, 720), d(1280, 720))).toBeNull();
    expect(pairProblem(d(1280, 720), d(1200, 720))).toBeNull();
    expect(pairProblem(d(1280, 720), d(720, 720))).toMatchObject({ reason: 'FieldInvalid', message: expect.stringContaining('aspect ratios of the start and end images') });
    expect(pairProblem(d(1280, 720), d(640, 360))).toMatchObject({ reason: 'FieldInvalid', message: expect.stringContaining('resolutions of the start and end images') });
  });
});

describe('Vidu: images as sent', () => {
  it('start-end: the end frame at the start frame\'s exact size (framed to the task), whatever it came as', async () => {
    const [start, end] = await startEndImages(await makeImage(1600, 1200), await makeImage(500, 900, 'jpeg'), 1280, 720);
    const [s, e] = await Promise.all([sharp(start).metadata(), sharp(end).metadata()]);
    expect([s.width, s.height, e.width, e.height, e.format]).toEqual([1600, 900, 1600, 900, 'jpeg']);
    expect(pairProblem({ format: 'png', width: s.width!, height: s.height! }, { format: 'jpeg', width: e.width!, height: e.height! })).toBeNull();
    const same = await makeImage(1280, 720);
    const [a, b] = await startEndImages(same, same, 1280, 720);
    expect(a.equals(same) && b.equals(same)).toBe(true);
  });

  it('reference2video: the start image first, then the references, as uploaded (GIF → PNG)', async () => {
    const start = await makeImage(800, 450);
    const gif = await sharp(await makeImage(64, 64)).gif().toBuffer();
    const webp = await makeImage(300, 600, 'webp');
    const sent = await viduImages(job('viduq1', 5, '1080p', { images: [start], referenceImages: [webp, gif] }), 'reference2video');
    expect(sent[0]!.equals(start) && sent[1]!.equals(webp)).toBe(true);
    expect((await sharp(sent[2]!).metadata()).format).toBe('png');
  });

  it('the 20 MB rule holds for the whole body: every image shrinks, a pair stays one size', async () => {
    const noise = (w: number, h: number) => sharp(randomBytes(w * h * 3), { raw: { width: w, height: h, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer();
    const [a, b] = [await noise(900, 500), await noise(900, 500)];
    const build = (uris: string[]) => ({ model: 'viduq2-pro', images: uris, prompt: 'p' });
    const r = await fitImages([a, b], build, 300_000);
    if (!r.ok) throw new Error(r.reason);
    expect(r.bytes).toBeLessThanOrEqual(300_000);
    const uris = JSON.parse(r.json).images as string[];
    const metas = await Promise.all(uris.map((u) => sharp(Buffer.from(u.split(',')[1]!, 'base64')).metadata()));
    expect(metas.map((m) => [m.format, m.width, m.height])).toEqual([[metas[0]!.format, metas[0]!.width, metas[0]!.height], [metas[0]!.format, metas[0]!.width, metas[0]!.height]]);
    expect(metas[0]!.format).toBe('jpeg');
    expect(await fitImages([a, b, a], build, 20_000)).toEqual({ ok: false, reason: 'the 3 images cannot be re-encoded small enough for Vidu\'s 20 MB request limit without going below 256 px on their short side' });
  });
});
