/**
 * The creative inputs reach Vertex as the strict fake (UPSTREAM.md §3) takes
 * them, through the whole server: reference images as `asset` references (the
 * start image first, 8 s); an extension as the source video — by its gs://
 * result when Vertex made it into the channel's bucket, by its bytes when the
 * local renderer did — at Veo's 8 s / 720p, the task adding 7 s; a channel
 * mapped to an upstream id without references is refused at submit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStorageFake, type StorageFake } from '../fakes/cloud-storage.ts';
import { renderClip, startVertexFake, type VertexFake } from '../fakes/vertex.ts';
import { dataUri, makeImage } from '../helpers/images.ts';
import { startServer, waitForTask, type TaskJson, type TestServer } from '../helpers/server.ts';

const TOKEN = 'ya29.creative-token';
const PROJECT = 'reelay-test';
const LOCATION = 'us-central1';
const VEO = 'veo-3.1-fast-generate-001';
const S = '/v1/video/generations';

type Task = TaskJson & { provider: string; seconds: string; size: string; credits: { reserved: number; charged: number; refunded: number }; extend_task_id: string | null };
interface Sent { path: string; body: { instances: Record<string, unknown>[]; parameters: Record<string, unknown> } }

let storage: StorageFake;
let vertex: VertexFake;
let s: TestServer;
let start: Buffer;
let subject: Buffer;

const creates = (from: number) => vertex.requests.slice(from).filter((r) => r.path.endsWith(':predictLongRunning')) as unknown as Sent[];
async function run(server: TestServer, json: Record<string, unknown>): Promise<Task> {
  const res = await server.api(S, { method: 'POST', json: { model: VEO, prompt: 'the fox from the pictures runs', ...json } });
  expect(res.status, await res.clone().text()).toBe(200);
  const t = (await waitForTask(server, ((await res.json()) as Task).id, 60_000)).task as Task;
  expect(t.status, JSON.stringify(t.error)).toBe('succeeded');
  return t;
}

beforeAll(async () => {
  storage = await startStorageFake(TOKEN);
  vertex = await startVertexFake({ project: PROJECT, location: LOCATION, token: TOKEN, storage });
  // What Veo returns: a 720p, 24 fps clip with sound — a video Vertex would also take back as an extension's input.
  vertex.inlineVideo = renderClip({ width: 1280, height: 720, seconds: 2, audio: true });
  vertex.pollsUntilDone = 1;
  start = await makeImage(640, 360, 'png');
  subject = await makeImage(300, 300, 'jpeg');
  s = await startServer({
    VERTEX_PROJECT: PROJECT, VERTEX_LOCATION: LOCATION, VERTEX_ACCESS_TOKEN: TOKEN, VERTEX_BASE_URL: vertex.baseUrl,
    VERTEX_STORAGE_URI: 'gs://reelay-out/veo/', VERTEX_STORAGE_BASE_URL: storage.baseUrl, REELAY_UPSTREAM_POLL_MS: '20', REELAY_UPSTREAM_TIMEOUT_MS: '5000',
  });
});
afterAll(async () => {
  await s?.close();
  await vertex?.close();
  await storage?.close();
});

describe('creative inputs through a Vertex channel', () => {
  let withReferences: Task;
  let resultUri: string;

  it('reference_images: `asset` references, the start image first, 8 s; the gs:// result is recorded for later', async () => {
    const before = vertex.requests.length;
    withReferences = await run(s, { aspect_ratio: '16:9', images: [dataUri(start)], reference_images: [dataUri(subject, 'image/jpeg'), dataUri(subject, 'image/jpeg')] });
    expect(withReferences).toMatchObject({ provider: 'vertex', seconds: '8' });
    const [sent] = creates(before);
    const inst = sent!.body.instances[0]!;
    expect(inst).not.toHaveProperty('image');
    expect(inst.referenceImages).toEqual([
      { image: { bytesBase64Encoded: start.toString('base64'), mimeType: 'image/png' }, referenceType: 'asset' },
      { image: { bytesBase64Encoded: subject.toString('base64'), mimeType: 'image/jpeg' }, referenceType: 'asset' },
      { image: { bytesBase64Encoded: subject.toString('base64'), mimeType: 'image/jpeg' }, referenceType: 'asset' },
    ]);
    expect(sent!.body.parameters).toMatchObject({ durationSeconds: 8, resolution: '720p', storageUri: 'gs://reelay-out/veo/' });
    // Where Vertex wrote it is kept for an extension, not shown: the owner has Reelay's url.
    const stored = JSON.parse((await s.app.store.tasks.find(withReferences.id))!.metadata_json!) as { upstream: { result_uri: string } };
    expect(stored.upstream.result_uri).toMatch(/^gs:\/\/reelay-out\/veo\/.+\/sample_0\.mp4$/);
    expect(withReferences.metadata).toMatchObject({ upstream: { provider: 'vertex' } });
    expect(JSON.stringify(withReferences)).not.toContain('gs://');
    resultUri = stored.upstream.result_uri;
  });

  it('extend_task_id of a Vertex result: the video by its gs:// URI, 8 s at 720p upstream; the task adds 7 s and is priced so', async () => {
    const before = vertex.requests.length;
    const t = await run(s, { extend_task_id: withReferences.id, prompt: 'the fox leaps over the fence' });
    expect(t).toMatchObject({ seconds: '7', size: '720p', extend_task_id: withReferences.id, credits: { reserved: 7 * (10 + 5), charged: 7 * (10 + 5) } });
    const [sent] = creates(before);
    expect(sent!.body.instances[0]).toEqual({ prompt: 'the fox leaps over the fence', video: { gcsUri: resultUri, mimeType: 'video/mp4' } });
    expect(sent!.body.parameters).toMatchObject({ durationSeconds: 8, resolution: '720p', aspectRatio: '16:9' });
  });

  it('extend_task_id of a local render: the video\'s bytes (Vertex cannot reach our storage)', async () => {
    // Veo 2 is served by the local renderer only: a 720p, 24 fps source.
    const src = await run(s, { model: 'veo-2.0-generate-001', aspect_ratio: '16:9', seconds: 5, images: [dataUri(start)] });
    expect(src.provider).toBe('local');
    const bytes = Buffer.from(await (await fetch(src.url!)).arrayBuffer());
    const before = vertex.requests.length;
    await run(s, { extend_task_id: src.id });
    const [sent] = creates(before);
    expect(sent!.body.instances[0]!.video).toEqual({ bytesBase64Encoded: bytes.toString('base64'), mimeType: 'video/mp4' });
  });

  it('a last frame with references (no Veo mode takes both) is refused at submit; nothing is sent', async () => {
    const before = vertex.requests.length;
    const bad = await s.api(S, { method: 'POST', json: { model: VEO, prompt: 'p', aspect_ratio: '16:9', images: [dataUri(start), dataUri(start)], reference_images: [dataUri(subject)] } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('reference_images');
    expect(vertex.requests.length).toBe(before);
  });
});

describe('a channel that maps the model to an upstream id without references', () => {
  it('is refused at submit, naming the upstream id and the rule; nothing is stored or sent', async () => {
    const lite = await startServer({
      REELAY_UPSTREAM_CHANNELS: JSON.stringify([{
        name: 'vertex-lite', provider: 'vertex', project: PROJECT, location: LOCATION, accessToken: TOKEN, baseUrl: vertex.baseUrl,
        models: { [VEO]: 'veo-3.1-lite-generate-001' },
      }]),
      REELAY_ROLE: 'api',
    });
    try {
      const before = vertex.requests.length;
      const res = await lite.api(S, { method: 'POST', json: { model: VEO, prompt: 'p', aspect_ratio: '16:9', images: [dataUri(start)], reference_images: [dataUri(subject)] } });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: unknown }).error).toMatchObject({
        code: 'invalid_reference_images', param: 'reference_images',
        message: `${VEO} is served here by veo-3.1-lite-generate-001, which cannot render this: veo-3.1-lite-generate-001 takes no reference images.`,
      });
      expect(((await (await lite.api(S)).json()) as { data: unknown[] }).data).toHaveLength(0);
      expect(vertex.requests.length).toBe(before);
    } finally {
      await lite.close();
    }
  });
});
