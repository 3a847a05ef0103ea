import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI, { BadRequestError, NotFoundError, toFile } from 'openai';
import { makeImage, dataUri } from '../helpers/images.ts';
import { probeBytes } from '../helpers/ffprobe.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/** The OpenAI Videos surface, driven by the real `openai` package. */
let s: TestServer;
let client: OpenAI;
let png: Buffer;
const MODEL = 'veo-3.0-fast-generate-001';

beforeAll(async () => {
  s = await startServer();
  client = new OpenAI({ apiKey: s.key, baseURL: `${s.base}/v1`, maxRetries: 0 });
  png = await makeImage(320, 180, 'png');
});
afterAll(async () => { await s?.close(); });

const create = async (extra: Record<string, unknown> = {}) => client.videos.create({
  model: MODEL, prompt: 'a slow push in', seconds: '4', size: '1280x720',
  input_reference: await toFile(png, 'start.png', { type: 'image/png' }), ...extra,
} as OpenAI.Videos.VideoCreateParams);

describe('openai videos', () => {
  let id = '';

  it('create (multipart) → retrieve until completed → downloadContent is the MP4', async () => {
    const v = await create();
    expect(v).toMatchObject({
      object: 'video', model: MODEL, status: 'queued', progress: 0, seconds: '4', size: '1280x720',
      prompt: 'a slow push in', remixed_from_video_id: null, error: null, completed_at: null,
    });
    id = v.id;
    let cur = v;
    const deadline = Date.now() + 60_000;
    while (cur.status === 'queued' || cur.status === 'in_progress') {
      if (Date.now() > deadline) throw new Error('video not completed in time');
      await new Promise((r) => setTimeout(r, 150));
      cur = await client.videos.retrieve(id);
      expect(Number.isInteger(cur.progress)).toBe(true);
    }
    expect(cur).toMatchObject({ status: 'completed', progress: 100, error: null });
    expect(cur.completed_at).toBeGreaterThanOrEqual(cur.created_at);
    expect(cur.expires_at).toBeGreaterThan(cur.created_at);

    const res = await client.videos.downloadContent(id);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    const facts = await probeBytes(await res.arrayBuffer());
    expect(facts.videoCodec).toBe('h264');
    expect([facts.width, facts.height]).toEqual([1280, 720]);
    expect(Math.abs(facts.duration - 4)).toBeLessThanOrEqual(0.1);

    const thumb = await client.videos.downloadContent(id, { variant: 'thumbnail' });
    expect(Buffer.from(await thumb.arrayBuffer()).subarray(0, 2).toString('hex')).toBe('ffd8');
    const range = await s.api(`/v1/videos/${id}/content`, { headers: { range: 'bytes=10-19' } });
    expect(range.status).toBe(206);
    expect((await range.arrayBuffer()).byteLength).toBe(10);
  });

  it('the same task is readable on Reelay\'s API, as a Gemini operation and via Vertex', async () => {
    const own = (await (await s.api(`/v1/video/generations/${id}`)).json()) as Record<string, unknown>;
    expect(own).toMatchObject({ id, status: 'succeeded', model: MODEL, aspect_ratio: '16:9', seconds: '4' });
    const goog = { 'x-goog-api-key': s.key };
    const op = (await (await fetch(`${s.base}/v1beta/models/${MODEL}/operations/${id}`, { headers: goog })).json()) as {
      name: string; done: boolean; response: { generateVideoResponse: { generatedSamples: { video: { uri: string } }[] } };
    };
    expect(op).toMatchObject({ name: `models/${MODEL}/operations/${id}`, done: true });
    const file = await fetch(op.response.generateVideoResponse.generatedSamples[0]!.video.uri, { headers: goog });
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('video/mp4');
    const vx = await fetch(`${s.base}/v1beta1/publishers/google/models/${MODEL}:fetchPredictOperation`, {
      method: 'POST', headers: { ...goog, 'content-type': 'application/json' },
      body: JSON.stringify({ operationName: `publishers/google/models/${MODEL}/operations/${id}` }),
    });
    const vxOp = (await vx.json()) as { done: boolean; response: { videos: { bytesBase64Encoded: string; mimeType: string }[] } };
    expect(vxOp.done).toBe(true);
    expect(vxOp.response.videos[0]!.mimeType).toBe('video/mp4');
    expect(Buffer.from(vxOp.response.videos[0]!.bytesBase64Encoded, 'base64').length).toBe(Number(file.headers.get('content-length')));
  });

  it('delete removes the task on every surface and its files', async () => {
    expect(await s.app.blobs.stat(`outputs/${id}/video.mp4`)).toBeDefined();
    expect(await client.videos.delete(id)).toEqual({ id, object: 'video.deleted', deleted: true });
    const err = await client.videos.retrieve(id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).status).toBe(404);
    expect((await s.api(`/v1/video/generations/${id}`)).status).toBe(404);
    expect((await fetch(`${s.base}/v1beta/models/${MODEL}/operations/${id}`, { headers: { 'x-goog-api-key': s.key } })).status).toBe(404);
    expect((await s.api(`/v1/videos/${id}/content`)).status).toBe(404);
    expect(await s.app.blobs.stat(`outputs/${id}/video.mp4`)).toBeUndefined();
    const again = await client.videos.delete(id).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(NotFoundError);
  });

  it('list pages newest first (auto-pagination) and oldest first; delete cancels running tasks', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await create({ input_reference: { image_url: dataUri(png) } })).id);

    const first = await client.videos.list({ limit: 2 });
    expect(first.data.map((v) => v.id)).toEqual([ids[2], ids[1]]);
    expect(first.has_more).toBe(true);
    const all: string[] = [];
    for await (const v of client.videos.list({ limit: 2 })) all.push(v.id);
    expect(all).toEqual([...ids].reverse());
    const asc: string[] = [];
    for await (const v of client.videos.list({ limit: 2, order: 'asc' })) asc.push(v.id);
    expect(asc).toEqual(ids);

    for (const v of ids) expect((await client.videos.delete(v)).deleted).toBe(true);
    expect((await client.videos.list()).data).toEqual([]);
    // Deleting a running task cancelled it first: its credits came back.
    const credits = (await (await s.api('/v1/credits?limit=50')).json()) as { entries: { kind: string; task_id: string }[] };
    for (const v of ids) expect(credits.entries.some((e) => e.kind === 'refund' && e.task_id === v)).toBe(true);
  });

  it('an unsupported seconds value is a BadRequestError naming the field and the allowed values', async () => {
    const err = await create({ seconds: '12' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    const e = err as BadRequestError;
    expect(e.status).toBe(400);
    expect(e.param).toBe('seconds');
    expect(e.code).toBe('invalid_seconds');
    expect(e.message).toContain(`"seconds" must be one of 4, 6, 8 for ${MODEL} (got 12)`);

    const noImage = await client.videos.create({ model: MODEL, prompt: 'p' }).catch((x: unknown) => x);
    expect(noImage).toBeInstanceOf(BadRequestError);
    expect((noImage as BadRequestError).param).toBe('input_reference');
    expect((noImage as BadRequestError).message).toContain('"input_reference" is required.');
  });

  it('JSON bodies, OpenAI model names and defaults: sora-2 → the Reelay model, 720x1280 portrait, 4 s', async () => {
    const res = await s.api('/v1/videos', { method: 'POST', json: { model: 'sora-2', prompt: 'p', input_reference: dataUri(png) } });
    expect(res.status).toBe(200);
    const v = (await res.json()) as { id: string; model: string; size: string; seconds: string };
    expect(v).toMatchObject({ model: MODEL, size: '720x1280', seconds: '4' });
    const own = (await (await s.api(`/v1/video/generations/${v.id}`)).json()) as Record<string, unknown>;
    expect(own).toMatchObject({ aspect_ratio: '9:16', seconds: '4' });
    expect((await s.api(`/v1/videos/${v.id}`, { method: 'DELETE' })).status).toBe(200);

    const pro = await s.api('/v1/videos', { method: 'POST', json: { model: 'sora-2-pro', prompt: 'p', size: '1280x720', input_reference: { file_id: 'file_1' } } });
    expect(pro.status).toBe(400);
    expect(await pro.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'unsupported_field', param: 'input_reference.file_id' } });
  });
});
