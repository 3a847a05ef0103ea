/**
 * Creative inputs through the Google drop-in surfaces, driven by the real
 * SDKs: @google/genai 2.x in Gemini mode and 3.x in Vertex express mode.
 * config.lastFrame → images[1], config.referenceImages (asset) →
 * reference_images, source.video → extend_task_id (Gemini: the uri this
 * gateway returned; Vertex: the bytes it returned inline). What the task
 * carries is read back on Reelay's own API and from the rendered video.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError as GeminiApiError, GoogleGenAI as GeminiGenAI, type GenerateVideosOperation as GeminiOperation } from 'google-genai-2';
import { ApiError, GoogleGenAI, VideoGenerationReferenceType, type GenerateVideosOperation } from '@google/genai';
import { makeImage } from '../helpers/images.ts';
import { probeBytes } from '../helpers/ffprobe.ts';
import { startServer, type TaskJson, type TestServer } from '../helpers/server.ts';

const execFileP = promisify(execFile);
const MODEL = 'veo-3.1-fast-generate-001';
const EXTENSION_SECONDS = 7;

let s: TestServer;
let dir: string;
let start: Buffer;
let red: Buffer;
let refs: Buffer[];
beforeAll(async () => {
  s = await startServer();
  dir = await mkdtemp(join(tmpdir(), 'reelay-compat-creative-'));
  start = await makeImage(320, 180, 'png');
  red = await sharp({ create: { width: 320, height: 180, channels: 3, background: '#e01010' } }).png().toBuffer();
  refs = await Promise.all(['#10c010', '#1010e0'].map((c) => sharp({ create: { width: 200, height: 200, channels: 3, background: c } }).png().toBuffer()));
});
afterAll(async () => {
  await s?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const b64 = (b: Buffer) => ({ imageBytes: b.toString('base64'), mimeType: 'image/png' });
const native = async (id: string) => (await (await s.api(`/v1/video/generations/${id}`)).json()) as TaskJson & { extend_task_id: string | null; metadata: Record<string, unknown> | null };
const taskIdOf = (name: string | undefined) => name!.split('/').at(-1)!;

/** Mean RGB of the video's last frame, scaled down. */
async function lastFrameRgb(mp4: Buffer): Promise<[number, number, number]> {
  const file = join(dir, `last-${Math.random().toString(36).slice(2)}.mp4`);
  await writeFile(file, mp4);
  const { stdout } = await execFileP('ffmpeg', ['-v', 'error', '-sseof', '-0.3', '-i', file, '-vf', 'scale=16:9', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { encoding: 'buffer', maxBuffer: 1 << 20 });
  const px = (stdout as Buffer).subarray(-16 * 9 * 3);
  const sum = [0, 0, 0];
  for (let i = 0; i < px.length; i++) sum[i % 3]! += px[i]!;
  return sum.map((v) => v / (px.length / 3)) as [number, number, number];
}

async function poll<T extends { done?: boolean; name?: string }>(op: T, next: (op: T) => Promise<T>): Promise<T> {
  const deadline = Date.now() + 120_000;
  while (!op.done) {
    if (Date.now() > deadline) throw new Error(`operation ${op.name} not done in time`);
    await new Promise((r) => setTimeout(r, 200));
    op = await next(op);
  }
  return op;
}

describe('@google/genai 2.x, Gemini mode', () => {
  let ai: GeminiGenAI;
  let first: { id: string; video: { uri?: string } };
  beforeAll(() => { ai = new GeminiGenAI({ apiKey: s.key, httpOptions: { baseUrl: s.base } }); });
  const done = (op: GeminiOperation) => poll(op, (o) => ai.operations.getVideosOperation({ operation: o }));

  it('config.lastFrame is the last frame: the task has two images and the video ends on it', async () => {
    const op = await done(await ai.models.generateVideos({
      model: MODEL, source: { prompt: 'a slow push in', image: b64(start) },
      config: { lastFrame: b64(red), aspectRatio: '16:9', durationSeconds: 4, resolution: '720p' },
    }));
    expect(op.error).toBeUndefined();
    const id = taskIdOf(op.name);
    const task = await native(id);
    expect(task).toMatchObject({ status: 'succeeded', seconds: '4', metadata: { camera: { last_frame: true } } });
    const path = join(dir, 'gemini-first.mp4');
    await ai.files.download({ file: op.response!.generatedVideos![0]!.video!, downloadPath: path });
    const [r, g, b] = await lastFrameRgb(await readFile(path));
    expect(r).toBeGreaterThan(180);
    expect(Math.max(g, b)).toBeLessThan(60);
    first = { id, video: op.response!.generatedVideos![0]!.video! };
  });

  it('source.video by the uri this gateway returned extends that task: the whole video is source + added seconds', async () => {
    expect(first.video.uri).toContain(`/v1beta/files/${Buffer.from(first.id).toString('hex')}:download`);
    // Google's docs ask for durationSeconds 8 with a video; Veo 3.1 then adds its 7 s.
    const op = await done(await ai.models.generateVideos({
      model: MODEL, source: { prompt: 'the camera keeps pushing in', video: first.video }, config: { durationSeconds: 8 },
    }));
    expect(op.error).toBeUndefined();
    const task = await native(taskIdOf(op.name));
    expect(task).toMatchObject({ status: 'succeeded', extend_task_id: first.id, seconds: String(EXTENSION_SECONDS), aspect_ratio: '16:9' });
    expect(task.metadata).toMatchObject({ extension: { source_task_id: first.id, added_seconds: EXTENSION_SECONDS } });
    expect(Number(task.metadata!.duration)).toBeCloseTo(4 + EXTENSION_SECONDS, 0);
    const path = join(dir, 'gemini-extended.mp4');
    await ai.files.download({ file: op.response!.generatedVideos![0]!.video!, downloadPath: path });
    expect((await probeBytes(await readFile(path))).duration).toBeCloseTo(4 + EXTENSION_SECONDS, 0);
  });

  it('config.referenceImages (asset) become reference_images, recorded on the task', async () => {
    const op = await done(await ai.models.generateVideos({
      model: MODEL, source: { prompt: 'the product turns slowly', image: b64(start) },
      config: {
        durationSeconds: 8,
        referenceImages: refs.map((r) => ({ image: b64(r), referenceType: VideoGenerationReferenceType.ASSET })),
      },
    }));
    expect(op.error).toBeUndefined();
    const task = await native(taskIdOf(op.name));
    expect(task).toMatchObject({ status: 'succeeded', seconds: '8', metadata: { references: { count: 2 } } });
  });

  it('another key\'s video uri is a 404 naming instances[0].video; a foreign uri a 400', async () => {
    const other = new GeminiGenAI({ apiKey: await s.newKey(), httpOptions: { baseUrl: s.base } });
    const gone = await other.models.generateVideos({ model: MODEL, source: { prompt: 'p', video: first.video } }).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(GeminiApiError);
    expect((gone as GeminiApiError).status).toBe(404);
    expect(JSON.parse((gone as GeminiApiError).message)).toMatchObject({
      error: { status: 'NOT_FOUND', details: [{ metadata: { param: 'instances[0].video' } }] },
    });
    const foreign = await ai.models.generateVideos({
      model: MODEL, source: { prompt: 'p', video: { uri: 'https://generativelanguage.googleapis.com/v1beta/files/abc123:download?alt=media' } },
    }).catch((e: unknown) => e);
    expect((foreign as GeminiApiError).status).toBe(400);
    expect((foreign as GeminiApiError).message).toContain('instances[0].video.uri');
  });
});

describe('@google/genai 3.x, Vertex express mode', () => {
  let ai: GoogleGenAI;
  let first: { id: string; bytes: string };
  beforeAll(() => { ai = new GoogleGenAI({ vertexai: true, apiKey: s.key, httpOptions: { baseUrl: s.base } }); });
  const done = (op: GenerateVideosOperation) => poll(op, (o) => ai.operations.getVideosOperation({ operation: o }));

  it('config.lastFrame is the last frame of the inline video', async () => {
    const op = await done(await ai.models.generateVideos({
      model: MODEL, source: { prompt: 'a slow pan right', image: b64(start) }, config: { lastFrame: b64(red), durationSeconds: 4 },
    }));
    expect(op.error).toBeUndefined();
    const id = taskIdOf(op.name);
    expect(await native(id)).toMatchObject({ status: 'succeeded', metadata: { camera: { last_frame: true } } });
    const bytes = op.response!.generatedVideos![0]!.video!.videoBytes!;
    const [r, g, b] = await lastFrameRgb(Buffer.from(bytes, 'base64'));
    expect(r).toBeGreaterThan(180);
    expect(Math.max(g, b)).toBeLessThan(60);
    first = { id, bytes };
  });

  it('source.video as the bytes this gateway returned extends the task whose video they are', async () => {
    const op = await done(await ai.models.generateVideos({
      model: MODEL, source: { prompt: 'the pan goes on', video: { videoBytes: first.bytes, mimeType: 'video/mp4' } },
    }));
    expect(op.error).toBeUndefined();
    const task = await native(taskIdOf(op.name));
    expect(task).toMatchObject({ status: 'succeeded', extend_task_id: first.id, metadata: { extension: { source_task_id: first.id } } });
    const facts = await probeBytes(Buffer.from(op.response!.generatedVideos![0]!.video!.videoBytes!, 'base64'));
    expect(facts.duration).toBeCloseTo(4 + EXTENSION_SECONDS, 0);
  });

  it('bytes that are no video of this key are a 400 saying what to pass instead', async () => {
    const other = new GoogleGenAI({ vertexai: true, apiKey: await s.newKey(), httpOptions: { baseUrl: s.base } });
    for (const [client, bytes] of [[other, first.bytes], [ai, Buffer.from('not a video of ours').toString('base64')]] as const) {
      const e = await client.models.generateVideos({ model: MODEL, source: { prompt: 'p', video: { videoBytes: bytes, mimeType: 'video/mp4' } } })
        .catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ApiError);
      expect((e as ApiError).status).toBe(400);
      const body = JSON.parse((e as ApiError).message) as { error: { message: string; details: { reason: string }[] } };
      expect(body.error.details[0]!.reason).toBe('unknown_video');
      expect(body.error.message).toContain('"instances[0].video" is not the video of any of this key');
    }
  });

  it('config.referenceImages: asset ones are stored as the task\'s reference inputs; a style one is a 400 naming it', async () => {
    const style = await ai.models.generateVideos({
      model: MODEL, source: { prompt: 'p', image: b64(start) },
      config: { durationSeconds: 8, referenceImages: [{ image: b64(refs[0]!), referenceType: VideoGenerationReferenceType.STYLE }] },
    }).catch((e: unknown) => e);
    expect((style as ApiError).status).toBe(400);
    expect((style as ApiError).message).toContain('instances[0].referenceImages[0].referenceType');

    const op = await ai.models.generateVideos({
      model: MODEL, source: { prompt: 'the product turns', image: b64(start) },
      config: { durationSeconds: 8, referenceImages: refs.map((r) => ({ image: b64(r), referenceType: VideoGenerationReferenceType.ASSET })) },
    });
    const id = taskIdOf(op.name);
    // The server kept exactly these pictures as the task's references (inputs/<task>/ref-<n>), in order.
    const stored = await Promise.all(refs.map((_, i) => readFile(join(s.dataDir, 'blobs', 'inputs', id, `ref-${i}.png`))));
    expect(stored).toEqual(refs);
    expect((await s.api(`/v1/video/generations/${id}/cancel`, { method: 'POST' })).status).toBe(200);
  });
});
