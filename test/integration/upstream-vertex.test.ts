import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.ts';
import { startGeminiFake, type GeminiFake } from '../fakes/gemini.ts';
import { startVertexFake, type VertexFake } from '../fakes/vertex.ts';
import { expectFailedAndRefunded, runTask } from '../helpers/upstream.ts';
import { startGoogleAuthFake, type GoogleAuthFake } from '../fakes/google-auth.ts';
import { startStorageFake, type StorageFake } from '../fakes/cloud-storage.ts';
import { sampleMp4 } from '../fakes/http-fake.ts';

const GEMINI_KEY = 'AIza-test-gemini-key-failover';
const TOKEN = 'ya29.test-vertex-token';
const PROJECT = 'reelay-test';
let gemini: GeminiFake;
let vertex: VertexFake;
let vertexOnly: TestServer;
let both: TestServer;

const vertexEnv = () => ({ VERTEX_PROJECT: PROJECT, VERTEX_LOCATION: 'europe-west4', VERTEX_ACCESS_TOKEN: TOKEN, VERTEX_BASE_URL: vertex.baseUrl, REELAY_UPSTREAM_POLL_MS: '20', REELAY_UPSTREAM_TIMEOUT_MS: '400' });

beforeAll(async () => {
  gemini = await startGeminiFake(GEMINI_KEY);
  vertex = await startVertexFake({ project: PROJECT, location: 'europe-west4', token: TOKEN });
  vertexOnly = await startServer(vertexEnv());
  both = await startServer({ ...vertexEnv(), GEMINI_API_KEY: GEMINI_KEY, GEMINI_BASE_URL: gemini.baseUrl });
});
afterAll(async () => {
  await vertexOnly?.close();
  await both?.close();
  await gemini?.close();
  await vertex?.close();
});

describe('Vertex AI adapter against the strict fake', () => {
  it('submit → fetchPredictOperation → inline bytes → re-hosted', async () => {
    const before = vertex.requests.length;
    const t = await runTask(vertexOnly, { model: 'veo-3.0-generate-001', seconds: 6, generate_audio: false, seed: 7 });
    expect(t.status).toBe('succeeded');
    expect(t.provider).toBe('vertex');
    expect(t.metadata).toMatchObject({ provider: 'vertex', upstream: { provider: 'vertex' } });
    expect(t.url!.startsWith(vertexOnly.base)).toBe(true);
    const mine = vertex.requests.slice(before);
    const create = mine[0]!;
    expect(create.path).toBe(`/v1/projects/${PROJECT}/locations/europe-west4/publishers/google/models/veo-3.0-generate-001:predictLongRunning`);
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
    });
  });
  afterAll(async () => {
    await sa?.close();
    await Promise.all([auth?.close(), storage?.close(), saVertex?.close()]);
  });

  // First in this block: the server has no cached token yet.
  it('a refused service account → failed upstream_auth, refunded, Google\'s reason shown, no key material', async () => {
    auth.failNext.push('invalid_grant');
    const t = await runTask(sa, { model: 'veo-3.0-generate-001', seconds: 4 });
    expectFailedAndRefunded(t, 'upstream_auth');
    expect(t.error!.message).toContain('invalid_grant: Invalid grant: account not found');
    const shown = JSON.stringify(t);
    expect(shown).not.toContain('PRIVATE KEY');
    expect(shown).not.toContain(auth.keyJson.private_key!.split('\n')[3]!);
    for (const assertion of auth.assertions) expect(shown).not.toContain(assertion.split('.')[2]!);
  });

  it('signs its own token, Vertex writes to Cloud Storage, the gs:// result is re-hosted byte for byte', async () => {
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

describe('failover between upstream channels', () => {
  it('routes to the first configured provider in the model list', async () => {
    const models = (await (await both.api('/v1/models')).json()) as unknown;
    expect(JSON.stringify(models)).not.toContain(TOKEN);
    expect(JSON.stringify(models)).not.toContain(GEMINI_KEY);
  });

  it('429 at the first upstream\'s submit → the task runs on the next one', async () => {
    gemini.script.submit.push({ status: 429, message: 'Resource has been exhausted (e.g. check quota).' });
    const t = await runTask(both, { model: 'veo-3.0-fast-generate-001', seconds: 4 });
    expect(t.status).toBe('succeeded');
    // The task names the provider that accepted it, the same as its metadata.
    expect(t.provider).toBe('vertex');
    expect(t.metadata).toMatchObject({ provider: 'vertex', upstream: { provider: 'vertex' }, failover_from: ['gemini'] });
  });

  it('every upstream unavailable → failed upstream_unavailable, refunded', async () => {
    gemini.script.submit.push({ status: 503, message: 'The service is currently unavailable.' });
    vertex.script.submit.push({ status: 500, message: 'Internal error encountered.' });
    const t = await runTask(both, { model: 'veo-3.0-fast-generate-001', seconds: 4 });
    expectFailedAndRefunded(t, 'upstream_unavailable');
    expect(t.error!.message).toContain('HTTP 503');
    expect(t.error!.message).toContain('HTTP 500');
  });

  it('a 400 is final: no failover', async () => {
    const before = vertex.requests.length;
    gemini.script.submit.push({ status: 400, message: 'Invalid argument.' });
    const t = await runTask(both, { model: 'veo-3.0-fast-generate-001', seconds: 4 });
    expectFailedAndRefunded(t, 'upstream_rejected');
    expect(vertex.requests.length).toBe(before);
  });
});
