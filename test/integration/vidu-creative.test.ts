// Start-end and reference jobs through the Vidu adapter, over real loopback
// HTTP against the strict fake (UPSTREAM.md §4): the endpoint, the exact body
// and images the fake received, the pair rule, the 20 MB rule with several
// images, and no extension.
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/domain/catalog.ts';
import type { UpstreamAdapter, UpstreamJob } from '../../src/providers/upstream/upstream-provider.ts';
import { viduAdapter } from '../../src/providers/vidu/vidu-adapter.ts';
import { startViduFake, VIDU_MAX_BODY, type ViduFake } from '../fakes/vidu.ts';
import { makeImage } from '../helpers/images.ts';

const KEY = 'vda_creative_key_0123456789abcdef';
const catalog = loadCatalog();
const never = new AbortController().signal;
let fake: ViduFake;
let vidu: UpstreamAdapter;
let wide: Buffer;
let square: Buffer;
let portrait: Buffer;

beforeAll(async () => {
  fake = await startViduFake(KEY);
  vidu = viduAdapter({ apiKey: KEY, baseUrl: fake.baseUrl, requestTimeoutMs: 5000, download: { maxBytes: 50 * 1024 * 1024, timeoutMs: 5000 }, policy: { allowPrivate: true } });
  [wide, square, portrait] = await Promise.all([makeImage(1600, 900), makeImage(700, 700, 'jpeg'), makeImage(450, 800, 'webp')]);
});
afterAll(async () => {
  await fake?.close();
});

const job = (extra: Partial<UpstreamJob> = {}): UpstreamJob => ({
  taskId: 'vid_c', model: catalog.find('viduq2-turbo')!, upstreamModel: 'viduq2-turbo', prompt: 'the fox from the pictures runs', negativePrompt: null,
  aspectRatio: '16:9', seconds: 4, width: 1280, height: 720, fps: 24, seed: 42, generateAudio: false, images: [wide], options: {}, ...extra,
});
const uriOf = (b: Buffer, mime: string) => `data:${mime};base64,${b.toString('base64')}`;

async function created(j: UpstreamJob) {
  const before = fake.requests.length;
  const r = await vidu.submit(j, never);
  if (!r.ok) throw new Error(r.failure.message);
  const sent = fake.created.at(-1)!;
  expect(sent.id).toBe(r.id);
  return { sent, paths: fake.requests.slice(before).map((x) => `${x.method} ${x.path}`) };
}

describe('Vidu creative inputs', () => {
  it('first + last → /start-end2video with [start, end]; the end framed to the start\'s exact size', async () => {
    const { sent, paths } = await created(job({ images: [wide, square] }));
    expect(paths).toEqual(['POST /ent/v2/start-end2video']);
    expect(sent.endpoint).toBe('start-end2video');
    expect(sent.body).toEqual({
      model: 'viduq2-turbo', images: [uriOf(wide, 'image/png'), expect.stringMatching(/^data:image\/jpeg;base64,/)],
      prompt: 'the fox from the pictures runs', duration: 4, resolution: '720p', seed: 42, audio: false,
    });
    expect(sent.images).toEqual([{ format: 'png', width: 1600, height: 900 }, { format: 'jpeg', width: 1600, height: 900 }]);
    expect(await vidu.poll(sent.id, never)).toEqual({ state: 'running' });
  });

  it('the fake refuses a pair Vidu refuses (a square end after a wide start), which the adapter never sends', async () => {
    const raw = await fetch(`${fake.baseUrl}/start-end2video`, {
      method: 'POST', headers: { authorization: `Token ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'viduq2-turbo', images: [uriOf(wide, 'image/png'), uriOf(square, 'image/jpeg')], duration: 4 }),
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toMatchObject({ reason: 'FieldInvalid', message: expect.stringContaining('aspect ratios of the start and end images') });
  });

  it('references → /reference2video: the start image then the references as uploaded, with aspect_ratio', async () => {
    const { sent, paths } = await created(job({ upstreamModel: 'viduq4-preview', seconds: 5, aspectRatio: '9:16', width: 720, height: 1280, images: [wide], referenceImages: [square, portrait] }));
    expect(paths).toEqual(['POST /ent/v2/reference2video']);
    expect(sent.body).toEqual({
      model: 'viduq4-preview', images: [uriOf(wide, 'image/png'), uriOf(square, 'image/jpeg'), uriOf(portrait, 'image/webp')],
      prompt: 'the fox from the pictures runs', duration: 5, resolution: '720p', seed: 42, audio: false, aspect_ratio: '9:16',
    });
  });

  it('seven references without a start image; off_peak and is_rec carried', async () => {
    const refs = Array.from({ length: 7 }, (_, i) => (i % 2 ? square : portrait));
    const { sent } = await created(job({ upstreamModel: 'viduq1', seconds: 5, width: 1080, height: 1080, aspectRatio: '1:1', images: [], referenceImages: refs, offPeak: true, isRec: true }));
    expect(sent.endpoint).toBe('reference2video');
    expect(sent.images.length).toBe(7);
    expect(sent.body).toMatchObject({ model: 'viduq1', aspect_ratio: '1:1', resolution: '1080p', off_peak: true, is_rec: true });
  });

  it('several big images: the whole body is kept under 20 MB, every image shrunk, the pair still one size', async () => {
    const noise = (w: number, h: number) => sharp(randomBytes(w * h * 3), { raw: { width: w, height: h, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer();
    const [a, b] = await Promise.all([noise(2400, 1350), noise(2400, 1350)]);
    expect(Math.ceil((a.length + b.length) / 3) * 4).toBeGreaterThan(VIDU_MAX_BODY);
    const { sent } = await created(job({ width: 1920, height: 1080, images: [a, b] }));
    expect(sent.bytes).toBeLessThan(VIDU_MAX_BODY);
    expect(sent.images.map((i) => i.format)).toEqual(['jpeg', 'jpeg']);
    expect(sent.images[1]).toEqual(sent.images[0]);
  });

  it('what Vidu refuses comes back as a request fault quoting it: a model without the endpoint', async () => {
    const r = await vidu.submit(job({ upstreamModel: 'viduq3-pro', seconds: 5, images: [wide], referenceImages: [square] }), never);
    expect(r).toMatchObject({ ok: false, failure: { code: 'upstream_rejected', fault: 'request', message: expect.stringContaining('FieldInvalid: model viduq3-pro does not support reference2video') } });
    const q2 = await vidu.submit(job({ seconds: 9, images: [wide, square] }), never);
    expect(q2).toMatchObject({ ok: false, failure: { fault: 'request', message: expect.stringContaining('duration 9 is not supported by viduq2-turbo on start-end2video') } });
  });

  it('no extension, no end image with references, at most 7 images: refused before any call', async () => {
    const before = fake.requests.length;
    const extend = { taskId: 't0', video: Buffer.from('v'), mimeType: 'video/mp4' as const, duration: 4, width: 1280, height: 720, fps: 24, hasAudio: false };
    expect(await vidu.submit(job({ images: [], extend }), never)).toEqual({ ok: false, failure: { code: 'upstream_rejected', fault: 'request', message: 'Vidu cannot extend a video: it has no extension endpoint.' } });
    expect(await vidu.submit(job({ images: [wide, square], referenceImages: [portrait] }), never)).toMatchObject({ ok: false, failure: { fault: 'request' } });
    expect(await vidu.submit(job({ upstreamModel: 'viduq1', images: [wide], referenceImages: Array(7).fill(square) }), never)).toMatchObject({ ok: false, failure: { fault: 'request', message: expect.stringContaining('at most 7 images') } });
    expect(fake.requests.length).toBe(before);
  });
});
