// Last frame, reference images and extension through the Vertex adapter, over
// real loopback HTTP against the strict Vertex and Cloud Storage fakes
// (UPSTREAM.md §3): the exact request the fake received, and the outcome.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/domain/catalog.ts';
import type { ExtendSource } from '../../src/providers/provider.ts';
import type { SubmitOutcome, UpstreamAdapter, UpstreamJob } from '../../src/providers/upstream/upstream-provider.ts';
import { staticTokenSource } from '../../src/providers/vertex/service-account.ts';
import { vertexAdapter } from '../../src/providers/vertex/vertex-adapter.ts';
import { startStorageFake, type StorageFake } from '../fakes/cloud-storage.ts';
import { sampleMp4 } from '../fakes/http-fake.ts';
import { renderClip, startVertexFake, type VertexFake } from '../fakes/vertex.ts';
import { makeImage } from '../helpers/images.ts';

const TOKEN = 'ya29.vertex-creative-token';
const PROJECT = 'reelay-test';
const LOCATION = 'us-central1';
const catalog = loadCatalog();
const never = new AbortController().signal;
const b64 = (b: Buffer) => b.toString('base64');
const model = (id: string) => `/v1/projects/${PROJECT}/locations/${LOCATION}/publishers/google/models/${id}`;

let vertex: VertexFake;
let storage: StorageFake;
let first: Buffer;
let last: Buffer;
let subject: Buffer;

beforeAll(async () => {
  storage = await startStorageFake(TOKEN);
  vertex = await startVertexFake({ project: PROJECT, location: LOCATION, token: TOKEN, storage });
  [first, last, subject] = await Promise.all([makeImage(1280, 720), makeImage(1280, 720, 'jpeg'), makeImage(600, 800, 'webp')]);
});
afterAll(async () => {
  await Promise.all([vertex?.close(), storage?.close()]);
});
beforeEach(() => {
  Object.assign(vertex, { outcome: 'ok', pollsUntilDone: 1, script: { submit: [], poll: [], get: [] } });
});

const adapter = (storageUri?: string): UpstreamAdapter => vertexAdapter({
  project: PROJECT, location: LOCATION, baseUrl: vertex.baseUrl, token: staticTokenSource(TOKEN), storageUri, storageBaseUrl: storage.baseUrl,
  requestTimeoutMs: 5000, download: { maxBytes: 50 * 1024 * 1024, timeoutMs: 10_000 }, policy: { allowPrivate: true },
});
const job = (over: Partial<UpstreamJob> = {}): UpstreamJob => ({
  taskId: 'task_c', model: catalog.find('veo-3.1-generate-001')!, upstreamModel: 'veo-3.1-generate-001', prompt: 'the fox runs to the river', negativePrompt: null,
  aspectRatio: '16:9', seconds: 8, width: 1280, height: 720, fps: 24, seed: 11, generateAudio: true, images: [first], options: {}, ...over,
});
const source = (over: Partial<ExtendSource> = {}): ExtendSource => ({
  taskId: 'task_src', video: renderClip({ width: 1280, height: 720, seconds: 2, audio: true }), mimeType: 'video/mp4', duration: 2, width: 1280, height: 720, fps: 24, hasAudio: true, ...over,
});

/** Submits, polls to the end, and returns what the fake received for the create(s). */
async function run(a: UpstreamAdapter, j: UpstreamJob) {
  const before = vertex.requests.length;
  const r: SubmitOutcome = await a.submit(j, never);
  const creates = vertex.requests.slice(before).filter((x) => x.path.endsWith(':predictLongRunning'));
  if (!r.ok) return { r, creates, done: null };
  let p = await a.poll(r.id, never);
  for (let i = 0; p.state === 'running' && i < 5; i++) p = await a.poll(r.id, never);
  return { r, creates, done: p };
}

describe('Vertex creative inputs', () => {
  it('last frame: image and lastFrame as {bytesBase64Encoded, mimeType}; the clip comes back', async () => {
    const { creates, done } = await run(adapter(), job({ images: [first, last], seconds: 6 }));
    expect(creates.map((c) => c.path)).toEqual([`${model('veo-3.1-generate-001')}:predictLongRunning`]);
    expect(creates[0]!.body).toEqual({
      instances: [{ prompt: 'the fox runs to the river', image: { bytesBase64Encoded: b64(first), mimeType: 'image/png' }, lastFrame: { bytesBase64Encoded: b64(last), mimeType: 'image/jpeg' } }],
      parameters: { aspectRatio: '16:9', durationSeconds: 6, sampleCount: 1, seed: 11, personGeneration: 'allow_adult', resolution: '720p', generateAudio: true },
    });
    expect(done).toEqual({ state: 'done', video: { kind: 'bytes', data: sampleMp4() } });
  });

  it('references: the start frame first among the asset references, no image, 8 s, 9:16', async () => {
    const { creates, done } = await run(adapter(), job({
      upstreamModel: 'veo-3.1-fast-generate-001', aspectRatio: '9:16', width: 720, height: 1280, images: [first], referenceImages: [subject, last],
    }));
    expect(creates[0]!.path).toBe(`${model('veo-3.1-fast-generate-001')}:predictLongRunning`);
    expect(creates[0]!.body).toEqual({
      instances: [{
        prompt: 'the fox runs to the river',
        referenceImages: [
          { image: { bytesBase64Encoded: b64(first), mimeType: 'image/png' }, referenceType: 'asset' },
          { image: { bytesBase64Encoded: b64(subject), mimeType: 'image/webp' }, referenceType: 'asset' },
          { image: { bytesBase64Encoded: b64(last), mimeType: 'image/jpeg' }, referenceType: 'asset' },
        ],
      }],
      parameters: { aspectRatio: '9:16', durationSeconds: 8, sampleCount: 1, seed: 11, personGeneration: 'allow_adult', resolution: '720p', generateAudio: true },
    });
    expect(done?.state).toBe('done');
  });

  it('extension: the source MP4 as bytes, alone, durationSeconds 8 at 720p (the job asked for the 7 s Veo adds)', async () => {
    const src = source();
    const { creates, done } = await run(adapter(), job({ images: [], seconds: 7, extend: src }));
    expect(creates[0]!.body).toEqual({
      instances: [{ prompt: 'the fox runs to the river', video: { bytesBase64Encoded: b64(src.video), mimeType: 'video/mp4' } }],
      parameters: { aspectRatio: '16:9', durationSeconds: 8, sampleCount: 1, seed: 11, personGeneration: 'allow_adult', resolution: '720p', generateAudio: true },
    });
    expect(done?.state).toBe('done');
  });

  it('extension of a result in the channel\'s own bucket: sent by gcsUri, which Vertex reads', async () => {
    storage.put('reelay-out', 'veo/42/sample_0.mp4', source().video);
    const { creates, done } = await run(adapter('gs://reelay-out/veo/'), job({ images: [], seconds: 7, extend: source({ upstreamUri: 'gs://reelay-out/veo/42/sample_0.mp4' }) }));
    expect(creates.map((c) => (c.body as { instances: { video: unknown }[] }).instances[0]!.video)).toEqual([{ gcsUri: 'gs://reelay-out/veo/42/sample_0.mp4', mimeType: 'video/mp4' }]);
    expect(done?.state).toBe('done');
  });

  it('a gs:// source gone since (a lifecycle rule): refused, then sent once more as bytes', async () => {
    const src = source({ upstreamUri: 'gs://reelay-out/veo/gone/sample_0.mp4' });
    const { r, creates } = await run(adapter('gs://reelay-out/veo/'), job({ images: [], seconds: 7, extend: src }));
    expect(r.ok).toBe(true);
    expect(creates.map((c) => Object.keys((c.body as { instances: { video: object }[] }).instances[0]!.video).sort())).toEqual([['gcsUri', 'mimeType'], ['bytesBase64Encoded', 'mimeType']]);
  });

  it('a source in another bucket (or with no bucket configured) goes as bytes at once', async () => {
    const src = source({ upstreamUri: 'gs://someone-elses/veo/1/sample_0.mp4' });
    for (const a of [adapter('gs://reelay-out/veo/'), adapter()]) {
      const { creates } = await run(a, job({ images: [], seconds: 7, extend: src }));
      expect(creates.length).toBe(1);
      expect((creates[0]!.body as { instances: { video: object }[] }).instances[0]!.video).toEqual({ bytesBase64Encoded: b64(src.video), mimeType: 'video/mp4' });
    }
  });

  it('what Vertex refuses is a request fault quoting it: lite references or extension, a source over 30 s', async () => {
    const lite = { upstreamModel: 'veo-3.1-lite-generate-001' };
    const refs = await run(adapter(), job({ ...lite, images: [], referenceImages: [subject] }));
    expect(refs.r).toMatchObject({ ok: false, failure: { code: 'upstream_rejected', fault: 'request', message: expect.stringContaining('referenceImages is not supported by veo-3.1-lite-generate-001.') } });
    const ext = await run(adapter(), job({ ...lite, images: [], seconds: 7, extend: source() }));
    expect(ext.r).toMatchObject({ ok: false, failure: { fault: 'request', message: expect.stringContaining('video (extension input) is not supported by veo-3.1-lite-generate-001.') } });
    const long = await run(adapter(), job({ images: [], seconds: 7, extend: source({ video: renderClip({ width: 1280, height: 720, seconds: 31 }), duration: 31 }) }));
    expect(long.r).toMatchObject({ ok: false, failure: { fault: 'request', message: expect.stringMatching(/1 to 30 seconds long for extension/) } });
  });

  it('inputs no Veo instance holds are refused before any call', async () => {
    const before = vertex.requests.length;
    for (const over of [
      { images: [first, last], referenceImages: [subject] },
      { images: [first], seconds: 7, extend: source() },
      { images: [], referenceImages: [subject, subject, subject, subject] },
    ]) {
      const r = await adapter().submit(job(over), never);
      expect(r).toMatchObject({ ok: false, failure: { code: 'upstream_rejected', fault: 'request', message: expect.stringMatching(/^Vertex AI: .+\.$/) } });
    }
    expect(vertex.requests.length).toBe(before);
  });
});
