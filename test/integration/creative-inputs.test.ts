/**
 * The creative inputs through the native API, end to end with the local
 * renderer and real ffmpeg (API.md §3): reference_images are fetched and
 * judged like images, stored, priced and recorded; extend_task_id continues a
 * finished task of the same key into one video (seamless join, added seconds,
 * sound), 404 for another key's task, 409 for one that has not succeeded.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataUri, makeImage } from '../helpers/images.ts';
import { decodeFrames, psnr, texturedImage } from '../helpers/frames.ts';
import { startServer, waitForTask, type TaskJson, type TestServer } from '../helpers/server.ts';
import { probeBytes } from '../helpers/ffprobe.ts';

const S = '/v1/video/generations';
const W = 320, H = 180;
/** A small model with every creative input, so real renders stay quick. */
const CATALOG = {
  resolutions: { '180p': { landscape: [W, H], portrait: [H, W] } },
  models: [{
    id: 'tiny-creative', family: 'veo', display_name: 'Tiny creative', seconds: [1, 2], default_seconds: 2, seconds_with_images: null,
    sizes: ['180p'], default_size: '180p', aspect_ratios: ['16:9', '9:16'], audio: true, last_frame: true,
    reference_images: { max: 3, start_image_counts: true, price_per_image: 2 }, extension: { seconds: [1, 2] },
    providers: ['local'], price_per_second: { '180p': 3 }, audio_price_per_second: 1,
  }],
};

type Task = TaskJson & { credits: { reserved: number; charged: number; refunded: number }; extend_task_id: string | null; aspect_ratio: string; seconds: string };
interface ErrorJson { error: { code: string; param: string | null; message: string } }

let dir: string;
let s: TestServer;
let apiOnly: TestServer;
let images: http.Server;
let imageBase: string;
let start: string;
let subject: Buffer;

const post = (server: TestServer, json: Record<string, unknown>, headers: Record<string, string> = {}) =>
  server.api(S, { method: 'POST', json: { model: 'tiny-creative', prompt: 'slow pan right over the roofs in the rain', aspect_ratio: '16:9', images: [start], ...json }, headers });
async function submitted(res: Response): Promise<Task> {
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Task;
}
const finished = async (server: TestServer, id: string) => (await waitForTask(server, id, 60_000)).task as Task;
async function refused(res: Response, status: number): Promise<ErrorJson['error']> {
  expect(res.status, await res.clone().text()).toBe(status);
  return ((await res.json()) as ErrorJson).error;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelay-creative-'));
  const catalog = join(dir, 'catalog.json');
  await writeFile(catalog, JSON.stringify(CATALOG));
  start = dataUri(await texturedImage(480, 270, 4));
  subject = await makeImage(200, 200, 'jpeg');
  const gif = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#f00' } }).gif().toBuffer();
  images = http.createServer((req, res) => {
    if (req.url === '/subject.jpg') res.writeHead(200, { 'content-type': 'image/jpeg' }).end(subject);
    else if (req.url === '/anim.gif') res.writeHead(200, { 'content-type': 'image/gif' }).end(gif);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => images.listen(0, '127.0.0.1', r));
  imageBase = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;
  s = await startServer({ REELAY_CATALOG: catalog });
  // No worker: tasks stay queued, for the "not succeeded" answers and the rules that need no render.
  apiOnly = await startServer({ REELAY_CATALOG: catalog, REELAY_ROLE: 'api' });
});
afterAll(async () => {
  await s?.close();
  await apiOnly?.close();
  await new Promise<void>((r) => (images ? images.close(() => r()) : r()));
  await rm(dir, { recursive: true, force: true });
});

describe('reference_images', () => {
  it('fetched like images, stored as inputs/<id>/ref-<n>, priced by the catalog, recorded on the finished task', async () => {
    const t = await submitted(await post(s, { seconds: 2, reference_images: [`${imageBase}/subject.jpg`, dataUri(subject, 'image/jpeg')] }));
    // 2 s × (3 + 1 audio) + 2 references × 2.
    expect(t.credits.reserved).toBe(12);
    const stored = (await s.app.store.tasks.find(t.id))!;
    expect(JSON.parse(stored.reference_keys)).toEqual([`inputs/${t.id}/ref-0.jpg`, `inputs/${t.id}/ref-1.jpg`]);
    const done = await finished(s, t.id);
    expect(done.status).toBe('succeeded');
    expect(done.credits).toEqual({ reserved: 12, charged: 12, refunded: 0 });
    expect(done.metadata).toMatchObject({ references: { count: 2, used: false, note: expect.stringContaining('cannot keep a subject') } });
  });

  it('each item is judged like an image, the error naming reference_images', async () => {
    expect(await refused(await post(apiOnly, { reference_images: [`${imageBase}/anim.gif`] }), 400)).toMatchObject({
      code: 'invalid_image', param: 'reference_images', message: expect.stringContaining('"reference_images[0]"'),
    });
    expect(await refused(await post(apiOnly, { reference_images: [dataUri(subject), `${imageBase}/missing.png`] }), 400)).toMatchObject({
      code: 'image_fetch_failed', param: 'reference_images', message: expect.stringContaining('"reference_images[1]"'),
    });
    expect(await refused(await post(apiOnly, { reference_images: Array(3).fill(dataUri(subject)) }), 400)).toMatchObject({
      code: 'invalid_reference_images', param: 'reference_images', message: expect.stringContaining('tiny-creative takes at most 3 reference images, the start image counted as one'),
    });
    expect(await refused(await post(apiOnly, { model: 'veo-2.0-generate-001', reference_images: [dataUri(subject)] }), 400)).toMatchObject({
      code: 'invalid_reference_images', param: 'reference_images', message: expect.stringContaining('veo-2.0-generate-001 takes no reference images. Models that do:'),
    });
  });

  it('the same private-address rules as images', async () => {
    const strict = await startServer({ REELAY_ROLE: 'api', REELAY_ALLOW_PRIVATE_URLS: '0' });
    try {
      const body = { model: 'veo-3.1-fast-generate-001', prompt: 'p', aspect_ratio: '16:9', images: [dataUri(subject)] };
      const viaIp = await strict.api(S, { method: 'POST', json: { ...body, reference_images: [`https://127.0.0.1:${(images.address() as AddressInfo).port}/subject.jpg`] } });
      expect(await refused(viaIp, 400)).toMatchObject({ code: 'image_url_not_allowed', param: 'reference_images' });
      const plain = await strict.api(S, { method: 'POST', json: { ...body, reference_images: [`${imageBase}/subject.jpg`] } });
      expect(await refused(plain, 400)).toMatchObject({ code: 'invalid_image', param: 'reference_images' });
    } finally {
      await strict.close();
    }
  });

  it('Idempotency-Key: the same references replay the task; other references are another request', async () => {
    const headers = { 'idempotency-key': 'refs-1' };
    const first = await submitted(await post(apiOnly, { reference_images: [dataUri(subject)] }, headers));
    expect((await submitted(await post(apiOnly, { reference_images: [dataUri(subject)] }, headers))).id).toBe(first.id);
    const other = dataUri(await makeImage(120, 120, 'png'));
    expect(await refused(await post(apiOnly, { reference_images: [other] }, headers), 409)).toMatchObject({ code: 'idempotency_key_reused' });
  });
});

describe('extend_task_id', () => {
  it('continues a finished task: the whole video (source + added seconds), seamless at the join, with sound', async () => {
    const src = await finished(s, (await submitted(await post(s, { seconds: 2 }))).id);
    expect(src.status).toBe('succeeded');
    const extend = (json: Record<string, unknown>) => s.api(S, { method: 'POST', json: { model: 'tiny-creative', prompt: 'the camera tilts up toward the sky', extend_task_id: src.id, ...json } });
    // The video is continued alone, in its own shape.
    expect(await refused(await extend({ images: [start] }), 400)).toMatchObject({ code: 'invalid_images', param: 'images', message: expect.stringContaining('Omit "images" with "extend_task_id"') });
    expect(await refused(await extend({ reference_images: [dataUri(subject)] }), 400)).toMatchObject({ code: 'invalid_reference_images', param: 'reference_images' });
    expect(await refused(await extend({ aspect_ratio: '9:16' }), 400)).toMatchObject({ code: 'invalid_aspect_ratio', message: expect.stringContaining(`task ${src.id} is 16:9 (got 9:16)`) });
    expect(await refused(await extend({ seconds: 3 }), 400)).toMatchObject({ code: 'invalid_seconds', message: '"seconds" must be one of 1, 2 for tiny-creative when extending (the seconds an extension adds) (got 3).' });
    const res = await extend({ seconds: 2 });
    const ext = await submitted(res);
    expect(ext).toMatchObject({ extend_task_id: src.id, aspect_ratio: '16:9', seconds: '2' });
    // Priced by the seconds it adds: 2 × (3 + 1).
    expect(ext.credits.reserved).toBe(8);
    const done = await finished(s, ext.id);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.metadata!.duration).toBeCloseTo(src.metadata!.duration + 2, 1);
    expect(done.metadata).toMatchObject({ has_audio: true, width: W, height: H, extension: { source_task_id: src.id, added_seconds: 2, audio: 'crossfade' } });

    const [a, b] = await Promise.all([src, done].map(async (t) => probeBytes(await (await fetch(t.url!)).arrayBuffer())));
    expect(b!.hasAudio).toBe(true);
    const before = await decodeFrames(a!.file, W, H, 'rgb24');
    const after = await decodeFrames(b!.file, W, H, 'rgb24');
    expect(after.length).toBe(before.length + 48);
    const join = psnr(after[before.length - 1]!, after[before.length]!);
    console.log(`native extension: join PSNR ${join.toFixed(2)} dB`);
    expect(join).toBeGreaterThanOrEqual(30);
    expect(psnr(before[5]!, after[5]!)).toBeGreaterThanOrEqual(30);
  });

  it('another key\'s task or an unknown id → 404 as for any task; the model is checked first', async () => {
    const src = await submitted(await post(apiOnly, {}));
    const other = await apiOnly.newKey('other');
    const theirs = await apiOnly.api(S, { method: 'POST', headers: { authorization: `Bearer ${other}` }, json: { model: 'tiny-creative', prompt: 'p', extend_task_id: src.id } });
    expect(await refused(theirs, 404)).toMatchObject({ code: 'task_not_found', param: 'extend_task_id', message: `No task found with id "${src.id}".` });
    const unknown = await apiOnly.api(S, { method: 'POST', json: { model: 'tiny-creative', prompt: 'p', extend_task_id: 'task_nope' } });
    expect(await refused(unknown, 404)).toMatchObject({ code: 'task_not_found', param: 'extend_task_id' });
    const cannot = await apiOnly.api(S, { method: 'POST', json: { model: 'veo-2.0-generate-001', prompt: 'p', extend_task_id: 'task_nope' } });
    expect(await refused(cannot, 400)).toMatchObject({ code: 'invalid_extend_task_id', message: expect.stringContaining('veo-2.0-generate-001 cannot extend a video. Models that can:') });
  });

  it('a task that has not succeeded → 409 naming its status; nothing is created or charged', async () => {
    const queued = await submitted(await post(apiOnly, {}));
    const ask = () => apiOnly.api(S, { method: 'POST', json: { model: 'tiny-creative', prompt: 'p', extend_task_id: queued.id } });
    const before = ((await (await apiOnly.api(S)).json()) as { data: unknown[] }).data.length;
    expect(await refused(await ask(), 409)).toMatchObject({
      code: 'extend_source_not_ready', param: 'extend_task_id', message: `Task ${queued.id} cannot be extended: it is "queued"; only a succeeded task's video can be continued.`,
    });
    await apiOnly.api(`${S}/${queued.id}/cancel`, { method: 'POST' });
    expect((await refused(await ask(), 409)).message).toContain('it is "cancelled"');
    expect(((await (await apiOnly.api(S)).json()) as { data: unknown[] }).data.length).toBe(before);
  });
});

describe('GET /v1/models', () => {
  it('says per model what creative inputs it takes, and what references cost', async () => {
    const data = ((await (await s.api('/v1/models')).json()) as { data: Record<string, unknown>[] }).data;
    const m = Object.fromEntries(data.map((x) => [x.id as string, x]));
    expect(m['veo-3.1-fast-generate-001']).toMatchObject({
      last_frame: true, last_frame_seconds: null,
      reference_images: { max: 3, start_image_counts: true, only: false, seconds: [8] },
      extension: { seconds: [7], sizes: ['720p'], max_source_seconds: 30, source_sizes: ['720p', '1080p', '4k'], source_fps: [24] },
      pricing: { reference_image_credits: 0 },
    });
    expect(m['veo-3.1-lite-generate-001']).toMatchObject({ last_frame: true, reference_images: null, extension: null });
    expect(m['gemini-omni-1.1-flash']).toMatchObject({ last_frame: false, reference_images: { max: 3, start_image_counts: false }, extension: { seconds: [3, 4, 5, 6, 7, 8, 9, 10] } });
    expect(m.viduq3).toMatchObject({ last_frame: false, reference_images: { max: 7, start_image_counts: true, only: true }, extension: null });
    expect(m['viduq2-pro']).toMatchObject({ last_frame: true, last_frame_seconds: [1, 2, 3, 4, 5, 6, 7, 8], reference_images: null });
    expect(m['tiny-creative']).toMatchObject({ pricing: { reference_image_credits: 2 }, extension: { seconds: [1, 2], sizes: ['180p'] } });
  });
});
