import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, GoogleGenAI, type GenerateVideosOperation } from '@google/genai';
import { makeImage } from '../helpers/images.ts';
import { probeBytes } from '../helpers/ffprobe.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/** The Vertex AI surface, driven by the real @google/genai 3.x SDK in Vertex express mode. */
let s: TestServer;
let ai: GoogleGenAI;
let png: Buffer;
const MODEL = 'veo-3.0-fast-generate-001';

beforeAll(async () => {
  s = await startServer();
  ai = new GoogleGenAI({ vertexai: true, apiKey: s.key, httpOptions: { baseUrl: s.base } });
  png = await makeImage(320, 180, 'png');
});
afterAll(async () => { await s?.close(); });

const post = (path: string, json: unknown) => fetch(`${s.base}${path}`, {
  method: 'POST', headers: { 'x-goog-api-key': s.key, 'content-type': 'application/json' }, body: JSON.stringify(json),
});

describe('@google/genai 3.x in Vertex express mode', () => {
  it('generateVideos → getVideosOperation returns the MP4 inline as videoBytes', async () => {
    let op: GenerateVideosOperation = await ai.models.generateVideos({
      model: MODEL,
      source: { prompt: 'a slow push in', image: { imageBytes: png.toString('base64'), mimeType: 'image/png' } },
      config: { aspectRatio: '16:9', durationSeconds: 4, resolution: '720p', negativePrompt: 'blur' },
    });
    expect(op.name).toMatch(new RegExp(`^publishers/google/models/${MODEL}/operations/task_[0-9A-Za-z]{32}$`));
    const deadline = Date.now() + 60_000;
    while (!op.done) {
      if (Date.now() > deadline) throw new Error('operation not done in time');
      await new Promise((r) => setTimeout(r, 150));
      op = await ai.operations.getVideosOperation({ operation: op });
    }
    expect(op.error).toBeUndefined();
    const video = op.response?.generatedVideos?.[0]?.video;
    expect(video?.mimeType).toBe('video/mp4');
    const facts = await probeBytes(Buffer.from(video!.videoBytes!, 'base64'));
    expect(facts.videoCodec).toBe('h264');
    expect([facts.width, facts.height]).toEqual([1280, 720]);
    expect(Math.abs(facts.duration - 4)).toBeLessThanOrEqual(0.1);

    const id = op.name!.split('/').at(-1)!;
    const own = (await (await s.api(`/v1/video/generations/${id}`)).json()) as Record<string, unknown>;
    expect(own).toMatchObject({ status: 'succeeded', negative_prompt: 'blur', seconds: '4' });
  });

  it('a bad durationSeconds and a gcsUri image are ApiErrors (400) the SDK raises', async () => {
    const bad = await ai.models.generateVideos({
      model: MODEL, source: { prompt: 'p', image: { imageBytes: png.toString('base64'), mimeType: 'image/png' } },
      config: { durationSeconds: 5 },
    }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ApiError);
    expect((bad as ApiError).status).toBe(400);
    expect((bad as ApiError).message).toContain('\\"parameters.durationSeconds\\" must be one of 4, 6, 8');

    const gcs = await ai.models.generateVideos({
      model: MODEL, source: { prompt: 'p', image: { gcsUri: 'gs://bucket/start.png', mimeType: 'image/png' } },
    }).catch((e: unknown) => e);
    expect(gcs).toBeInstanceOf(ApiError);
    expect((gcs as ApiError).status).toBe(400);
    expect(JSON.parse((gcs as ApiError).message)).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
    expect((gcs as ApiError).message).toContain('instances[0].image.gcsUri');
  });
});

describe('Vertex REST', () => {
  it('keeps the projects/…/locations/… prefix in the operation name and polls on that path (v1)', async () => {
    const scope = 'projects/p1/locations/us-central1';
    const res = await post(`/v1/${scope}/publishers/google/models/${MODEL}:predictLongRunning`, {
      instances: [{ prompt: 'p', image: { bytesBase64Encoded: png.toString('base64'), mimeType: 'image/png' } }],
      parameters: { durationSeconds: 4, sampleCount: 1 },
    });
    expect(res.status).toBe(200);
    const op = (await res.json()) as { name: string; done: boolean };
    expect(op.name).toMatch(new RegExp(`^${scope}/publishers/google/models/${MODEL}/operations/task_`));
    expect(op.done).toBe(false);
    const id = op.name.split('/').at(-1)!;
    // Cancel it (no second render); the poll then reports a done operation with a google.rpc.Status.
    expect((await s.api(`/v1/video/generations/${id}/cancel`, { method: 'POST' })).status).toBe(200);
    const polled = await post(`/v1/${scope}/publishers/google/models/${MODEL}:fetchPredictOperation`, { operationName: op.name });
    expect(polled.status).toBe(200);
    expect(await polled.json()).toMatchObject({ name: op.name, done: true, error: { code: 1 } });
  });

  it('fetchPredictOperation: a malformed name is 400, an unknown id 404, no key 401 — all in Google\'s envelope', async () => {
    const path = `/v1beta1/publishers/google/models/${MODEL}:fetchPredictOperation`;
    const bad = await post(path, { operationName: 'nope' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
    const unknown = await post(path, { operationName: `publishers/google/models/${MODEL}/operations/task_unknown` });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
    const anon = await fetch(`${s.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anon.status).toBe(401);
    expect(await anon.json()).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
  });
});
