import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, GoogleGenAI, type GenerateVideosOperation } from 'google-genai-2';
import { makeImage } from '../helpers/images.ts';
import { probeBytes } from '../helpers/ffprobe.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/** The Gemini API surface, driven by the real @google/genai 2.x SDK (Gemini mode). */
let s: TestServer;
let ai: GoogleGenAI;
let png: Buffer;
let dir: string;
const MODEL = 'veo-3.0-fast-generate-001';

beforeAll(async () => {
  s = await startServer();
  ai = new GoogleGenAI({ apiKey: s.key, httpOptions: { baseUrl: s.base } });
  png = await makeImage(320, 180, 'png');
  dir = await mkdtemp(join(tmpdir(), 'reelay-gemini-'));
});
afterAll(async () => {
  await s?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const goog = (path: string, init: RequestInit & { json?: unknown; key?: string } = {}) => {
  const { json, key, headers, ...rest } = init;
  const h = new Headers(headers);
  h.set('x-goog-api-key', key ?? s.key);
  if (json !== undefined) h.set('content-type', 'application/json');
  return fetch(`${s.base}${path}`, { ...rest, headers: h, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) });
};

async function pollDone(op: GenerateVideosOperation): Promise<GenerateVideosOperation> {
  const deadline = Date.now() + 60_000;
  while (!op.done) {
    if (Date.now() > deadline) throw new Error(`operation ${op.name} not done in time`);
    await new Promise((r) => setTimeout(r, 150));
    op = await ai.operations.getVideosOperation({ operation: op });
  }
  return op;
}

describe('@google/genai 2.x in Gemini mode', () => {
  let taskId = '';

  it('generateVideos → getVideosOperation → files.download gives the MP4', async () => {
    let op = await ai.models.generateVideos({
      model: MODEL, prompt: 'a slow push in',
      image: { imageBytes: png.toString('base64'), mimeType: 'image/png' },
      config: { aspectRatio: '16:9', durationSeconds: 4, resolution: '720p' },
    });
    expect(op.name).toMatch(new RegExp(`^models/${MODEL}/operations/task_[0-9A-Za-z]{32}$`));
    taskId = op.name!.split('/').at(-1)!;
    op = await pollDone(op);
    expect(op.error).toBeUndefined();
    const video = op.response?.generatedVideos?.[0]?.video;
    expect(video?.uri).toBe(`${s.base}/v1beta/files/${Buffer.from(taskId).toString('hex')}:download?alt=media`);

    const downloadPath = join(dir, 'out.mp4');
    await ai.files.download({ file: video!, downloadPath });
    const facts = await probeBytes(await readFile(downloadPath));
    expect(facts.videoCodec).toBe('h264');
    expect([facts.width, facts.height]).toEqual([1280, 720]);
    expect(Math.abs(facts.duration - 4)).toBeLessThanOrEqual(0.1);

    // The same task on Reelay's own API.
    const own = await (await s.api(`/v1/video/generations/${taskId}`)).json() as { status: string; seconds: string; aspect_ratio: string };
    expect(own).toMatchObject({ status: 'succeeded', seconds: '4', aspect_ratio: '16:9' });
  });

  it('serves the uri path itself (lowercase hex file id), with Range', async () => {
    const res = await goog(`/v1beta/files/${Buffer.from(taskId).toString('hex')}:download?alt=media`, { headers: { range: 'bytes=0-99' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect((await res.arrayBuffer()).byteLength).toBe(100);
    // Another key cannot download it.
    const other = await s.newKey();
    const denied = await goog(`/v1beta/files/${Buffer.from(taskId).toString('hex')}:download?alt=media`, { key: other });
    expect(denied.status).toBe(404);
    expect(((await denied.json()) as { error: { status: string } }).error.status).toBe('NOT_FOUND');
  });

  it('a bad durationSeconds is an ApiError the SDK raises, naming the field and the allowed values', async () => {
    const err = await ai.models.generateVideos({
      model: MODEL, prompt: 'p', image: { imageBytes: png.toString('base64'), mimeType: 'image/png' },
      config: { aspectRatio: '16:9', durationSeconds: 5 },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(400);
    const body = JSON.parse((err as ApiError).message) as { error: { code: number; status: string; message: string } };
    expect(body.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    expect(body.error.message).toBe(`"parameters.durationSeconds" must be one of 4, 6, 8 for ${MODEL} (got 5).`);
  });
});

describe('Gemini REST spellings and errors', () => {
  const inline = () => ({ inlineData: { mimeType: 'image/png', data: png.toString('base64') } });

  it('accepts inlineData and durationSeconds as a string; a cancelled task is a done operation with a CANCELLED status', async () => {
    const res = await goog(`/v1beta/models/${MODEL}:predictLongRunning`, {
      method: 'POST',
      json: { instances: [{ prompt: 'p', image: inline() }], parameters: { durationSeconds: '6', aspectRatio: '9:16', numberOfVideos: 1, personGeneration: 'allow_adult' } },
    });
    expect(res.status).toBe(200);
    const op = (await res.json()) as { name: string; done: boolean };
    expect(op.done).toBe(false);
    const id = op.name.split('/').at(-1)!;
    const own = (await (await s.api(`/v1/video/generations/${id}`)).json()) as { seconds: string; aspect_ratio: string; size: string };
    expect(own).toMatchObject({ seconds: '6', aspect_ratio: '9:16' });

    expect((await s.api(`/v1/video/generations/${id}/cancel`, { method: 'POST' })).status).toBe(200);
    const polled = (await (await goog(`/v1beta/${op.name}`)).json()) as { done: boolean; error: { code: number; message: string }; response?: unknown };
    expect(polled.done).toBe(true);
    expect(polled.response).toBeUndefined();
    expect(polled.error.code).toBe(1);
    expect(polled.error.message).toContain('cancelled');
  });

  it('answers 400 INVALID_ARGUMENT for more than one video, a gcsUri image, and a missing image', async () => {
    const cases: [unknown, string][] = [
      [{ instances: [{ prompt: 'p', image: inline() }], parameters: { sampleCount: 2 } }, '"parameters.sampleCount" must be 1'],
      [{ instances: [{ prompt: 'p', image: { gcsUri: 'gs://b/i.png', mimeType: 'image/png' } }] }, '"instances[0].image.gcsUri" is not supported'],
      [{ instances: [{ prompt: 'p' }] }, '"instances[0].image" is required.'],
      [{ instances: [{ prompt: 'p', image: inline() }], parameters: { aspectRatio: '1:1' } }, '"parameters.aspectRatio" must be one of 16:9, 9:16'],
    ];
    for (const [json, message] of cases) {
      const res = await goog(`/v1beta/models/${MODEL}:predictLongRunning`, { method: 'POST', json });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: number; status: string; message: string } };
      expect(body.error.status).toBe('INVALID_ARGUMENT');
      expect(body.error.message).toContain(message);
    }
  });

  it('auth: x-goog-api-key or Bearer; none or a bad one is 401 UNAUTHENTICATED', async () => {
    const missing = await fetch(`${s.base}/v1beta/models/${MODEL}/operations/task_x`);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
    const bad = await goog(`/v1beta/models/${MODEL}/operations/task_x`, { key: 'sk_nope' });
    expect(bad.status).toBe(401);
    const bearer = await fetch(`${s.base}/v1beta/models/${MODEL}/operations/task_x`, { headers: { authorization: `Bearer ${s.key}` } });
    expect(bearer.status).toBe(404);
    expect(await bearer.json()).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
  });

  it('framework errors (bad JSON, wrong media type) are in Google\'s envelope too', async () => {
    const path = `/v1beta/models/${MODEL}:predictLongRunning`;
    const badJson = await goog(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"instances":' });
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT', details: [{ reason: 'invalid_json' }] } });
    const text = await goog(path, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' });
    expect(text.status).toBe(415);
    const body = (await text.json()) as { error: { message: string } };
    expect(body).toMatchObject({ error: { code: 415, status: 'INVALID_ARGUMENT' } });
    // This surface takes JSON only, so the message does not offer multipart.
    expect(body.error.message).toContain('application/json');
    expect(body.error.message).not.toContain('multipart');
  });

  it('unknown routes and file ids under /v1beta are 404 in Google\'s envelope', async () => {
    const route = await goog('/v1beta/models/x:generateContent', { method: 'POST', json: {} });
    expect(route.status).toBe(404);
    expect(await route.json()).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
    const file = await goog('/v1beta/files/abc:download?alt=media');
    expect(file.status).toBe(404);
  });
});
