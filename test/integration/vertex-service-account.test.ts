// The Vertex adapter with a service-account key and Cloud Storage results,
// over real loopback HTTP against strict fakes of Google's token endpoint,
// Vertex AI and the Cloud Storage JSON API. The token fake verifies every JWT
// with the key it handed out, so a wrong signature or claim fails these tests.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/domain/catalog.ts';
import type { UpstreamFailure } from '../../src/domain/failures.ts';
import type {
  DownloadOutcome, PollOutcome, ResultVideo, SubmitOutcome, UpstreamAdapter, UpstreamJob,
} from '../../src/providers/upstream/upstream-provider.ts';
import { vertexAdapter } from '../../src/providers/vertex/vertex-adapter.ts';
import {
  parseServiceAccountKey, readServiceAccountKeyFile, serviceAccountTokenSource, staticTokenSource, type TokenSource,
} from '../../src/providers/vertex/service-account.ts';
import { startGoogleAuthFake, type GoogleAuthFake } from '../fakes/google-auth.ts';
import { startStorageFake, type StorageFake } from '../fakes/cloud-storage.ts';
import { startVertexFake, type VertexFake } from '../fakes/vertex.ts';
import { sampleMp4, startFake, type FakeServer } from '../fakes/http-fake.ts';

const PROJECT = 'reelay-test';
const LOCATION = 'europe-west4';
const STORAGE_URI = 'gs://reelay-out/veo/';
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
// A deprecated public model served by its live successor: only the upstream id may reach Vertex (the fake 404s veo-3.0-*).
const UPSTREAM_MODEL = 'veo-3.1-generate-001';
const job: UpstreamJob = {
  taskId: 'task_sa', model: loadCatalog().find('veo-3.0-generate-001')!, upstreamModel: UPSTREAM_MODEL, prompt: 'a slow push in',
  negativePrompt: null, aspectRatio: '16:9', seconds: 4, width: 1280, height: 720, fps: 24, seed: 7, generateAudio: false,
  images: [PNG], options: {},
};
const never = new AbortController().signal;

// One clock for the client and the fakes, moved by the tests: no sleeping for expiry.
let offset = 0;
const now = () => Date.now() + offset;

let auth: GoogleAuthFake;
let storage: StorageFake;
let vertex: VertexFake;
let elsewhere: FakeServer;
let dir: string;

beforeAll(async () => {
  auth = await startGoogleAuthFake({ now });
  storage = await startStorageFake(auth);
  vertex = await startVertexFake({ project: PROJECT, location: LOCATION, token: auth, storage });
  // Another origin, as a signed-URL redirect from Cloud Storage would lead to.
  elsewhere = await startFake((_req, res) => { res.writeHead(200, { 'content-type': 'video/mp4' }); res.end(sampleMp4()); });
});
afterAll(async () => {
  await Promise.all([auth?.close(), storage?.close(), vertex?.close(), elsewhere?.close()]);
});
beforeEach(async () => {
  offset = 0;
  Object.assign(auth, { expiresIn: 3600, delayMs: 0, failNext: [] });
  vertex.outcome = 'ok';
  vertex.pollsUntilDone = 2;
  dir = await mkdtemp(join(tmpdir(), 'reelay-vertex-sa-'));
});
afterEach(async () => {
  expect(auth.failNext).toEqual([]); // every scripted failure was played
  await rm(dir, { recursive: true, force: true });
});

const serviceAccount = (o: { timeoutMs?: number } = {}) =>
  serviceAccountTokenSource(readServiceAccountKeyFile(auth.keyFile), { timeoutMs: o.timeoutMs ?? 2000, now });

function adapter(token: TokenSource, o: { storageUri?: string } = {}): UpstreamAdapter {
  return vertexAdapter({
    project: PROJECT, location: LOCATION, baseUrl: vertex.baseUrl, token, storageUri: o.storageUri, storageBaseUrl: storage.baseUrl,
    requestTimeoutMs: 2000, download: { maxBytes: 50 * 1024 * 1024, timeoutMs: 10_000 }, policy: { allowPrivate: true },
  });
}

/** The id of an accepted submit; a refusal fails the test with the adapter's own words. */
async function submitted(a: UpstreamAdapter): Promise<string> {
  const r = await a.submit(job, never);
  if (!r.ok) throw new Error(`submit refused: ${r.failure.code}: ${r.failure.message}`);
  return r.id;
}

/** submit, then poll until the operation ends (the fake counts polls; nothing to wait for). */
async function run(a: UpstreamAdapter): Promise<{ id: string; end: Exclude<PollOutcome, { state: 'running' }>; polls: number }> {
  const id = await submitted(a);
  for (let polls = 1; polls < 20; polls++) {
    const end = await a.poll(id, never);
    if (end.state !== 'running') return { id, end, polls };
  }
  throw new Error('the fake never finished');
}

async function finished(a: UpstreamAdapter): Promise<{ id: string; video: ResultVideo; polls: number }> {
  const { id, end, polls } = await run(a);
  if (end.state === 'failed') throw new Error(`poll failed: ${end.failure.code}: ${end.failure.message}`);
  return { id, video: end.video, polls };
}

/** The failure an outcome carries; an outcome without one fails the test. */
function failureOf(o: SubmitOutcome | PollOutcome | DownloadOutcome): UpstreamFailure {
  if ('failure' in o) return o.failure;
  throw new Error(`expected a failure, got ${'state' in o ? `state ${o.state}` : 'ok'}`);
}

const bearer = (r: { headers: Record<string, string | string[] | undefined> }) => String(r.headers.authorization ?? '').replace(/^Bearer /, '');
const MODEL_PATH = `/v1/projects/${PROJECT}/locations/${LOCATION}/publishers/google/models/${UPSTREAM_MODEL}`;

describe('service-account tokens', () => {
  it('one token, signed and verified, serves the submit and every poll, all sent for the upstream model', async () => {
    const tokensBefore = auth.tokenRequests;
    const vertexBefore = vertex.requests.length;
    const { id, video, polls } = await finished(adapter(serviceAccount()));
    expect(video.kind).toBe('bytes');
    expect(polls).toBe(3);
    expect(id.startsWith(`${MODEL_PATH.slice('/v1/'.length)}/operations/`)).toBe(true);
    expect(auth.tokenRequests - tokensBefore).toBe(1);
    expect(auth.refusals).toEqual([]);
    const sent = vertex.requests.slice(vertexBefore);
    expect(sent.map((r) => r.path)).toEqual([
      `${MODEL_PATH}:predictLongRunning`, ...Array.from({ length: 3 }, () => `${MODEL_PATH}:fetchPredictOperation`),
    ]);
    expect(sent.slice(1).map((r) => r.body)).toEqual(Array.from({ length: 3 }, () => ({ operationName: id })));
    const tokens = new Set(sent.map(bearer));
    expect(tokens.size).toBe(1);
    expect(auth.isValid([...tokens][0]!)).toBe(true);
  });

  it('a token revoked before its expiry is dropped and the call retried once with a fresh one', async () => {
    const a = adapter(serviceAccount());
    const id = await submitted(a);
    const before = auth.tokenRequests;
    const vertexBefore = vertex.requests.length;
    // Revoke every token issued so far: Vertex now answers 401 to the cached one.
    auth.issued.clear();
    expect(await a.poll(id, never)).toEqual({ state: 'running' });
    expect(auth.tokenRequests - before).toBe(1);
    const sent = vertex.requests.slice(vertexBefore).map(bearer);
    expect(sent.length).toBe(2);
    expect(sent[0]).not.toBe(sent[1]);
    expect(auth.isValid(sent[1]!)).toBe(true);
  });

  it('an inline video well over 8 MB is read whole (the answer cap is 256 MB for polls)', async () => {
    vertex.inlineVideo = randomBytes(12 * 1024 * 1024);
    try {
      const { video } = await finished(adapter(serviceAccount()));
      expect(video.kind === 'bytes' && video.data.equals(vertex.inlineVideo)).toBe(true);
    } finally {
      vertex.inlineVideo = null;
    }
  });

  it('a gs:// result outside the configured bucket is refused, never fetched', async () => {
    vertex.outcome = 'foreign-gcs';
    const storageBefore = storage.requests.length;
    const a = adapter(serviceAccount(), { storageUri: 'gs://my-results/veo/' });
    const { end } = await run(a);
    expect(failureOf(end)).toEqual({ code: 'upstream_invalid_response', fault: 'transient', message: expect.stringContaining('my-results') });
    // A stored URL read back later is checked again by download.
    const out = await a.download('gs://someone-elses-bucket/secret.mp4', join(dir, 'foreign.mp4'), never);
    expect(failureOf(out)).toEqual({ code: 'upstream_invalid_response', fault: 'transient', message: expect.stringContaining('my-results') });
    expect(storage.requests.length).toBe(storageBefore);
  });

  it('refreshes five minutes before expiry, and the fake refuses a token past it', async () => {
    const a = adapter(serviceAccount());
    const before = auth.tokenRequests;
    const id = await submitted(a);
    const first = bearer(vertex.requests.at(-1)!);
    offset = (3600 - 300) * 1000 - 1000; // 1 s before the refresh point: still cached
    expect(await a.poll(id, never)).toEqual({ state: 'running' });
    expect(auth.tokenRequests - before).toBe(1);
    expect(bearer(vertex.requests.at(-1)!)).toBe(first);
    offset += 2000; // 1 s past it: a new token, though the old one is still valid
    expect(await a.poll(id, never)).toEqual({ state: 'running' });
    expect(auth.tokenRequests - before).toBe(2);
    const second = bearer(vertex.requests.at(-1)!);
    expect(second).not.toBe(first);
    expect(auth.isValid(first)).toBe(true);

    offset += 301_000; // the first token has now expired
    const refused = failureOf(await adapter(staticTokenSource(first)).poll(id, never));
    expect(refused).toEqual({ code: 'upstream_auth', fault: 'channel', message: expect.stringContaining('HTTP 401') });
    expect(refused.message).not.toContain(first);
    expect(bearer(vertex.requests.at(-1)!)).toBe(first);
    // The refreshed one still works (and the refused poll never reached the operation: this is its third poll).
    expect(await a.poll(id, never)).toMatchObject({ state: 'done', video: { kind: 'bytes' } });
    expect(bearer(vertex.requests.at(-1)!)).toBe(second);
  });

  it('concurrent first calls share exactly one token request', async () => {
    auth.delayMs = 100;
    const a = adapter(serviceAccount());
    const before = auth.tokenRequests;
    const vertexBefore = vertex.requests.length;
    const ids = await Promise.all(Array.from({ length: 12 }, () => submitted(a)));
    expect(new Set(ids).size).toBe(12);
    expect(auth.tokenRequests - before).toBe(1);
    expect(vertex.requests.length - vertexBefore).toBe(12);
    expect(new Set(vertex.requests.slice(vertexBefore).map(bearer)).size).toBe(1);
  });

  it('invalid_grant → upstream_auth (the channel\'s fault) with Google\'s description and no key material; not cached', async () => {
    auth.failNext.push('invalid_grant');
    const a = adapter(serviceAccount());
    const vertexBefore = vertex.requests.length;
    const e = failureOf(await a.submit(job, never));
    expect(e).toEqual({ code: 'upstream_auth', fault: 'channel', message: expect.stringContaining('invalid_grant: Invalid grant: account not found') });
    expect(e.message).toContain('reelay-test@reelay-test.iam.gserviceaccount.com');
    expect(e.message).not.toContain('PRIVATE KEY');
    expect(e.message).not.toContain(auth.keyJson.private_key!.split('\n')[3]!);
    for (const assertion of auth.assertions) expect(e.message).not.toContain(assertion.split('.')[2]!);
    expect(vertex.requests.length).toBe(vertexBefore); // Vertex never saw a call without a token

    const before = auth.tokenRequests;
    expect(await a.submit(job, never)).toEqual({ ok: true, id: expect.stringMatching(/\/operations\//) });
    expect(auth.tokenRequests - before).toBe(1);
  });

  it('503 from the token endpoint → transient upstream_unavailable; the next call gets a token', async () => {
    auth.failNext.push(503);
    const a = adapter(serviceAccount());
    const vertexBefore = vertex.requests.length;
    const before = auth.tokenRequests;
    expect(failureOf(await a.submit(job, never))).toEqual({ code: 'upstream_unavailable', fault: 'transient', message: expect.stringContaining('HTTP 503') });
    expect(vertex.requests.length).toBe(vertexBefore);
    expect(await a.submit(job, never)).toEqual({ ok: true, id: expect.stringMatching(/\/operations\//) });
    expect(auth.tokenRequests - before).toBe(2);
  });

  it('a token endpoint that never answers → transient upstream_timeout; Vertex is not called', async () => {
    auth.failNext.push('hang');
    const vertexBefore = vertex.requests.length;
    const e = failureOf(await adapter(serviceAccount({ timeoutMs: 300 })).submit(job, never));
    expect(e).toEqual({ code: 'upstream_timeout', fault: 'transient', message: expect.stringContaining("Google's token endpoint") });
    expect(vertex.requests.length).toBe(vertexBefore);
  });

  it('the fake checks the signature and the clock: another key or a skewed clock is refused', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const forged = serviceAccountTokenSource(parseServiceAccountKey({ ...auth.keyJson, private_key: other }), { timeoutMs: 2000, now });
    const e = failureOf(await adapter(forged).submit(job, never));
    expect(e).toEqual({ code: 'upstream_auth', fault: 'channel', message: expect.stringContaining('Invalid JWT Signature.') });

    const skewed = serviceAccountTokenSource(readServiceAccountKeyFile(auth.keyFile), { timeoutMs: 2000, now: () => now() + 2 * 3600_000 });
    const late = failureOf(await adapter(skewed).submit(job, never));
    expect(late).toEqual({ code: 'upstream_auth', fault: 'channel', message: expect.stringContaining('Check your iat and exp values') });
    expect(auth.refusals.slice(-2)).toEqual([
      'invalid_grant: Invalid JWT Signature.',
      expect.stringContaining('Token must be a short-lived token'),
    ]);
    auth.refusals.length = 0;
  });

  it('a token the endpoint never issued is refused by Vertex (static tokens keep working as before)', async () => {
    const vertexBefore = vertex.requests.length;
    const e = failureOf(await adapter(staticTokenSource('ya29.never-issued')).submit(job, never));
    expect(e).toEqual({ code: 'upstream_auth', fault: 'channel', message: expect.stringContaining('HTTP 401') });
    expect(e.message).not.toContain('ya29.never-issued');
    // A static token cannot be refreshed: one call, no retry.
    expect(vertex.requests.slice(vertexBefore).map(bearer)).toEqual(['ya29.never-issued']);
  });
});

describe('Cloud Storage (gs://) results', () => {
  it('storageUri in the request → gs:// result → downloaded with the same token, byte-identical', async () => {
    const a = adapter(serviceAccount(), { storageUri: STORAGE_URI });
    const before = auth.tokenRequests;
    const vertexBefore = vertex.requests.length;
    const { video } = await finished(a);
    expect(vertex.requests[vertexBefore]!.body).toMatchObject({ parameters: { storageUri: STORAGE_URI } });
    expect(video.kind).toBe('url');
    const url = (video as { url: string }).url;
    expect(url).toMatch(/^gs:\/\/reelay-out\/veo\/\d+\/sample_0\.mp4$/);

    const downloadsBefore = storage.downloads;
    const out = join(dir, 'video.mp4');
    expect(await a.download(url, out, never)).toEqual({ ok: true });
    expect((await readFile(out)).equals(sampleMp4())).toBe(true);
    expect(storage.downloads - downloadsBefore).toBe(1);
    const get = storage.requests.at(-1)!;
    const object = url.slice('gs://reelay-out/'.length);
    expect(get.path).toBe(`/storage/v1/b/reelay-out/o/${encodeURIComponent(object)}?alt=media`);
    expect(bearer(get)).toBe(bearer(vertex.requests[vertexBefore]!));
    expect(auth.tokenRequests - before).toBe(1);
  });

  it('a token revoked before a download is dropped and the download retried once with a fresh one', async () => {
    const a = adapter(serviceAccount(), { storageUri: STORAGE_URI });
    const { video } = await finished(a);
    const before = auth.tokenRequests;
    const storageBefore = storage.requests.length;
    auth.issued.clear();
    const out = join(dir, 'after-revoke.mp4');
    expect(await a.download((video as { url: string }).url, out, never)).toEqual({ ok: true });
    expect((await readFile(out)).equals(sampleMp4())).toBe(true);
    expect(auth.tokenRequests - before).toBe(1);
    const sent = storage.requests.slice(storageBefore).map(bearer);
    expect(sent.length).toBe(2);
    expect(sent[0]).not.toBe(sent[1]);
    expect(auth.isValid(sent[1]!)).toBe(true);
  });

  it('without storageUri the request carries none and the bytes come inline', async () => {
    const vertexBefore = vertex.requests.length;
    const { video } = await finished(adapter(serviceAccount()));
    expect((vertex.requests[vertexBefore]!.body as { parameters: object }).parameters).not.toHaveProperty('storageUri');
    expect(video.kind).toBe('bytes');
  });

  it('an object that is gone (404) → transient upstream_lost_job naming it', async () => {
    vertex.outcome = 'gcs'; // a gs:// URI whose object was never written
    const a = adapter(serviceAccount(), { storageUri: STORAGE_URI });
    const { video } = await finished(a);
    const uri = 'gs://reelay-out/123/sample_0.mp4';
    expect(video).toEqual({ kind: 'url', url: uri });
    const storageBefore = storage.requests.length;
    const e = failureOf(await a.download(uri, join(dir, 'x.mp4'), never));
    expect(e).toEqual({ code: 'upstream_lost_job', fault: 'transient', message: expect.stringContaining(`${uri} does not exist in Cloud Storage (HTTP 404)`) });
    expect(storage.requests.slice(storageBefore).map((r) => r.path)).toEqual([`/storage/v1/b/reelay-out/o/${encodeURIComponent('123/sample_0.mp4')}?alt=media`]);
  });

  it('a redirect to another origin is followed without the Authorization header', async () => {
    const a = adapter(serviceAccount(), { storageUri: STORAGE_URI });
    const { video } = await finished(a);
    storage.redirectNext.push(`${elsewhere.origin}/signed/sample_0.mp4?X-Goog-Signature=abc`);
    const before = elsewhere.requests.length;
    const out = join(dir, 'redirected.mp4');
    expect(await a.download((video as { url: string }).url, out, never)).toEqual({ ok: true });
    expect((await readFile(out)).equals(sampleMp4())).toBe(true);
    expect(bearer(storage.requests.at(-1)!)).not.toBe('');
    const followed = elsewhere.requests.slice(before);
    expect(followed.map((r) => r.path)).toEqual(['/signed/sample_0.mp4?X-Goog-Signature=abc']);
    expect(followed[0]!.headers.authorization).toBeUndefined();
  });

  it('storage refusing the token → upstream_auth with a hint; a malformed gs:// URI is not fetched', async () => {
    storage.put('reelay-out', 'manual/sample_0.mp4', sampleMp4());
    const bad = adapter(staticTokenSource('ya29.never-issued'), { storageUri: STORAGE_URI });
    const storageBefore = storage.requests.length;
    const e = failureOf(await bad.download('gs://reelay-out/manual/sample_0.mp4', join(dir, 'a.mp4'), never));
    expect(e).toEqual({ code: 'upstream_auth', fault: 'channel', message: expect.stringContaining('storage.objects.get') });
    expect(e.message).not.toContain('ya29.never-issued');
    expect(storage.requests.slice(storageBefore).map(bearer)).toEqual(['ya29.never-issued']);

    const before = storage.requests.length;
    const good = adapter(serviceAccount(), { storageUri: STORAGE_URI });
    // An invalid bucket name, and an object name Cloud Storage forbids inside our own bucket.
    for (const uri of ['gs://Not_A_Bucket/x.mp4', 'gs://reelay-out/..']) {
      const m = failureOf(await good.download(uri, join(dir, 'b.mp4'), never));
      expect(m).toMatchObject({ code: 'upstream_invalid_response', fault: 'transient' });
    }
    expect(storage.requests.length).toBe(before);
  });
});
