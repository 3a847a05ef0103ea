/**
 * The SDK's creative inputs and the multipart reading behind them: reference
 * images as bytes (multipart file parts `reference_images`) or strings (JSON),
 * in the order given, and `extend_task_id` with no images. An API-only server:
 * tasks stay queued, so what was stored is what the submit made of the request.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reelay, ReelayError } from '../../src/sdk/client.ts';
import { dataUri, makeImage } from '../helpers/images.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

let q: TestServer;
let reelay: Reelay;
let start: Buffer;
let colours: Buffer[];
beforeAll(async () => {
  q = await startServer({ REELAY_ROLE: 'api' });
  reelay = new Reelay({ baseUrl: q.base, apiKey: q.key });
  start = await makeImage(320, 180);
  colours = await Promise.all(['#e01010', '#10c010', '#1010e0'].map((c) => sharp({ create: { width: 160, height: 160, channels: 3, background: c } }).png().toBuffer()));
});
afterAll(async () => { await q?.close(); });

const stored = (id: string, n: number) => Promise.all(Array.from({ length: n }, (_, i) => readFile(join(q.dataDir, 'blobs', 'inputs', id, `ref-${i}.png`))));
const base = { model: 'veo-3.1-fast-generate-001', prompt: 'the product turns', aspect_ratio: '16:9' } as const;

describe('SDK videos.create with reference_images', () => {
  it('bytes go up as multipart reference_images parts, strings and bytes mixed keep their order', async () => {
    const task = await reelay.videos.create({ ...base, images: start, reference_images: [colours[0]!, dataUri(colours[1]!)] });
    expect(task.seconds).toBe('8');
    expect(await stored(task.id, 2)).toEqual([colours[0], colours[1]]);
  });

  it('strings only go as JSON', async () => {
    const task = await reelay.videos.create({ ...base, images: dataUri(start), reference_images: [dataUri(colours[2]!)] });
    expect(await stored(task.id, 1)).toEqual([colours[2]]);
  });

  it('more byte images than multipart file parts (a Vidu reference model: start + 6) go as JSON, in order', async () => {
    const six = [...colours, ...colours];
    const task = await reelay.videos.create({ model: 'viduq1', prompt: 'p', aspect_ratio: '16:9', images: start, reference_images: six });
    expect(await stored(task.id, 6)).toEqual(six);
  });

  it('a model without references is the API\'s 400 naming reference_images', async () => {
    const e = await reelay.videos.create({ ...base, model: 'veo-3.1-lite-generate-001', images: start, reference_images: [colours[0]!] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ReelayError);
    expect((e as ReelayError).param).toBe('reference_images');
  });

  it('extend_task_id without images reaches the API (an unfinished task: 409)', async () => {
    const source = await reelay.videos.create({ ...base, images: start, seconds: 4 });
    const e = await reelay.videos.create({ model: base.model, prompt: 'on', extend_task_id: source.id }).catch((x: unknown) => x);
    expect((e as ReelayError).status).toBe(409);
    expect((e as ReelayError).code).toBe('extend_source_not_ready');
  });
});

describe('multipart reference_images', () => {
  it('text parts and file parts are read in the order sent', async () => {
    const form = new FormData();
    for (const [k, v] of Object.entries(base)) form.set(k, v);
    form.append('images', new Blob([new Uint8Array(start)], { type: 'image/png' }), 'start.png');
    form.append('reference_images', dataUri(colours[2]!));
    form.append('reference_images', new Blob([new Uint8Array(colours[0]!)], { type: 'image/png' }), 'red.png');
    const res = await q.api('/v1/video/generations', { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: string };
    expect(await stored(id, 2)).toEqual([colours[2], colours[0]]);
  });

  it('the OpenAI surface refuses them instead of dropping them', async () => {
    const form = new FormData();
    form.set('prompt', 'p');
    form.append('input_reference', new Blob([new Uint8Array(start)], { type: 'image/png' }), 'start.png');
    form.append('reference_images', new Blob([new Uint8Array(colours[0]!)], { type: 'image/png' }), 'red.png');
    const res = await q.api('/v1/videos', { method: 'POST', body: form });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'unsupported_field', param: 'reference_images' } });
  });
});
