import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.ts';
import { startVertexFake, type VertexFake } from '../fakes/vertex.ts';
import { expectFailedAndRefunded, runTask } from '../helpers/upstream.ts';
import { startGoogleAuthFake, type GoogleAuthFake } from '../fakes/google-auth.ts';
import { startStorageFake, type StorageFake } from '../fakes/cloud-storage.ts';
import { sampleMp4 } from '../fakes/http-fake.ts';

const TOKEN = 'ya29.test-vertex-token';
const PROJECT = 'reelay-test';
let vertex: VertexFake;
let vertexOnly: TestServer;

const vertexEnv = () => ({ VERTEX_PROJECT: PROJECT, VERTEX_LOCATION: 'europe-west4', VERTEX_ACCESS_TOKEN: TOKEN, VERTEX_BASE_URL: vertex.baseUrl, REELAY_UPSTREAM_POLL_MS: '20', REELAY_UPSTREAM_TIMEOUT_MS: '400' });

beforeAll(async () => {
  vertex = await startVertexFake({ project: PROJECT, location: 'europe-west4', token: TOKEN });
  vertexOnly = await startServer(vertexEnv());
});
afterAll(async () => {
  await vertexOnly?.close();
  await vertex?.close();
});

describe('Vertex AI adapter against the strict fake', () => {
  it('submit → fetchPredictOperation → inline bytes → re-hosted; the doc\'s retired name goes upstream as its live successor', async () => {
    const before = vertex.requests.length;
    const t = await runTask(vertexOnly, { model: 'veo-3.0-generate-001', seconds: 6, generate_audio: false, seed: 7 });
    expect(t.status).toBe('succeeded');
    expect(t.provider).toBe('vertex');
    expect(t.model).toBe('veo-3.0-generate-001');
    expect(t.metadata).toMatchObject({ provider: 'vertex', channel: 'vertex', upstream_model: 'veo-3.1-generate-001', upstream: { provider: 'vertex' } });
    expect(t.url!.startsWith(vertexOnly.base)).toBe(true);
    const mine = vertex.requests.slice(before);
    const create = mine[0]!;
    expect(create.path).toBe(`/v1/projects/${PROJECT}/locations/europe-west4/publishers/google/models/veo-3.1-generate-001:predictLongRunning`);
    expect(create.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(create.body).toMatchObject({
      instances: [{ prompt: 'a slow push in', image: { mimeType: 'image/png' } }],
      parameters: { aspectRatio: '16:9', durationSeconds: 6, sampleCount: 1, seed: 7, generateAudio: false, resolution: '720p' },
    });
    const polls = mine.filter((r) => r.path.endsWith(':fetchPredictOperation'));
    expect(polls.length).toBeGreaterThanOrEqual(3);
    expect(polls[0]!.body).toEqual({ operationName: t.metadata!.upstream!.id });
  });

});

describe('Vertex AI with GOOGLE_APPLICATION_CREDENTIALS and VERTEX_STORAGE_URI', () => {
  let auth: GoogleAuthFake;
  let storage: StorageFake;
  let saVertex: VertexFake;
  let sa: TestServer;
  beforeAll(async () => {
    auth = await startGoogleAuthFake();
    storage = await startStorageFake(auth);
    saVertex = await startVertexFake({ project: PROJECT, location: 'europe-west4', token: auth, storage });
    sa = await startServer({
      VERTEX_PROJECT: PROJECT, VERTEX_LOCATION: 'europe-west4', GOOGLE_APPLICATION_CREDENTIALS: auth.keyFile, VERTEX_BASE_URL: saVertex.baseUrl,
      VERTEX_STORAGE_URI: 'gs://reelay-out/veo/', VERTEX_STORAGE_BASE_URL: storage.baseUrl, REELAY_UPSTREAM_POLL_MS: '20', REELAY_UPSTREAM_TIMEOUT_MS: '2000',
      // The refused account below rests the channel; a short rest lets the next test use it again.
      REELAY_CHANNEL_REST_MS: '100',
    });
  });
  afterAll(async () => {
    await sa?.close();
    await Promise.all([auth?.close(), storage?.close(), saVertex?.close()]);
  });

  // First in this block: the server has no cached token yet.
  it('a refused service account is the channel\'s fault: failed upstream_unavailable, refunded, Google\'s reason shown, no key material', async () => {
    auth.failNext.push('invalid_grant');
    const t = await runTask(sa, { model: 'veo-3.0-generate-001', seconds: 4 });
    expectFailedAndRefunded(t, 'upstream_unavailable');
    expect(t.error!.message).toContain('invalid_grant: Invalid grant: account not found');
    expect(t.error!.message).toContain('not with your request');
    const shown = JSON.stringify(t);
    expect(shown).not.toContain('PRIVATE KEY');
    expect(shown).not.toContain(auth.keyJson.private_key!.split('\n')[3]!);
    for (const assertion of auth.assertions) expect(shown).not.toContain(assertion.split('.')[2]!);
  });

  it('signs its own token, Vertex writes to Cloud Storage, the gs:// result is re-hosted byte for byte', async () => {
    // Past the 100 ms rest the refused account above earned the channel.
    await new Promise((r) => setTimeout(r, 150));
    const before = { tokens: auth.tokenRequests, vertex: saVertex.requests.length, downloads: storage.downloads };
    const t = await runTask(sa, { model: 'veo-3.0-generate-001', seconds: 4 });
    expect(t.status).toBe('succeeded');
    expect(auth.tokenRequests - before.tokens).toBe(1);
    expect(auth.refusals).toEqual(['invalid_grant: Invalid grant: account not found']); // only the scripted one
    const sent = saVertex.requests.slice(before.vertex);
    expect(sent[0]!.body).toMatchObject({ parameters: { storageUri: 'gs://reelay-out/veo/' } });
    expect(new Set(sent.map((r) => r.headers.authorization)).size).toBe(1);
    expect(storage.downloads - before.downloads).toBe(1);
    expect(storage.requests.at(-1)!.headers.authorization).toBe(sent[0]!.headers.authorization);
    expect(t.url!.startsWith(sa.base)).toBe(true);
    const video = await fetch(t.url!);
    expect(video.status).toBe(200);
    expect(Buffer.from(await video.arrayBuffer()).equals(sampleMp4())).toBe(true);
  });
});
