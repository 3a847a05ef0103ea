import { randomBytes } from 'node:crypto';
// The Vertex adapter with a service-account key and Cloud Storage results,
// over real loopback HTTP against strict fakes of Google's token endpoint,
// Vertex AI and the Cloud Storage JSON API. The token fake verifies every JWT
// with the key it handed out, so a wrong signature or claim fails these tests.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/domain/catalog.ts';
import { ProviderError, type GenerationJob } from '../../src/providers/provider.ts';
import type { ResultVideo, UpstreamAdapter } from '../../src/providers/upstream/upstream-provider.ts';
import { vertexAdapter } from '../../src/providers/vertex/vertex-adapter.ts';
import {
  parseServiceAccountKey, readServiceAccountKeyFile, serviceAccountTokenSource, staticTokenSource, type TokenSource,
} from '../../src/providers/vertex/service-account.ts';
import { startGoogleAuthFake, type GoogleAuthFake } from '../fakes/google-auth.ts';
import { startStorageFake, type StorageFake } from '../fakes/cloud-storage.ts';
import { startVertexFake, type VertexFake } from '../fakes/vertex.ts';
import { sampleMp4, startFake, type FakeServer } from '../fakes/http-fake.ts';
import { generateKeyPairSync } from 'node:crypto';

const PROJECT = 'reelay-test';
const LOCATION = 'europe-west4';
const STORAGE_URI = 'gs://reelay-out/veo/';
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const job: GenerationJob = {
  taskId: 'task_sa', model: loadCatalog().find('veo-3.0-generate-001')!, prompt: 'a slow push in', negativePrompt: null,
  aspectRatio: '16:9', seconds: 4, width: 1280, height: 720, fps: 24, seed: 7, generateAudio: false, images: [PNG], options: {},
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

/** submit, then poll until done (the fake counts polls; nothing to wait for). */
async function run(a: UpstreamAdapter): Promise<{ id: string; video: ResultVideo; polls: number }> {
  const id = await a.submit(job, never);
  for (let polls = 1; polls < 20; polls++) {
    const r = await a.poll(id, never);
    if (r.done) return { id, video: r.video, polls };
  }
  throw new Error('the fake never finished');
}

async function refusal(p: Promise<unknown>): Promise<ProviderError> {
  const e = await p.then(() => { throw new Error('expected a ProviderError'); }, (err: unknown) => err);
  expect(e).toBeInstanceOf(ProviderError);
  return e as ProviderError;
}

const bearer = (r: { headers: Record<string, string | string[] | undefined> }) => String(r.headers.authorization ?? '').replace(/^Bearer /, '');

describe('service-account tokens', () => {
  it('one token, signed and verified, serves the submit and every poll', async () => {
    const tokensBefore = auth.tokenRequests;
    const vertexBefore = vertex.requests.length;
    const { video, polls } = await run(adapter(serviceAccount()));
    expect(video.kind).toBe('bytes');
    expect(polls).toBe(3);
    expect(auth.tokenRequests - tokensBefore).toBe(1);
    expect(auth.refusals).toEqual([]);
    const sent = vertex.requests.slice(vertexBefore);
    expect(sent.length).toBe(4);
    const tokens = new Set(sent.map(bearer));
    expect(tokens.size).toBe(1);
    expect(auth.isValid([...tokens][0]!)).toBe(true);
  });

  it('a token revoked before its expiry is dropped and the call retried once with a fresh one', async () => {
    const a = adapter(serviceAccount());
    const id = await a.submit(job, never);
    const before = auth.tokenRequests;
    const vertexBefore = vertex.requests.length;
    // Revoke every token issued so far: Vertex now answers 401 to the cached one.
    auth.issued.clear();
    await expect(a.poll(id, never)).resolves.toBeDefined();
    expect(auth.tokenRequests - before).toBe(1);
    const sent = vertex.requests.slice(vertexBefore).map(bearer);
    expect(sent.length).toBe(2);
    expect(sent[0]).not.toBe(sent[1]);
    expect(auth.isValid(sent[1]!)).toBe(true);
  });

  it('an inline video well over 8 MB is read whole (the answer cap is 256 MB for polls)', async () => {
    vertex.inlineVideo = randomBytes(12 * 1024 * 1024);
    try {
      const { video } = await run(adapter(serviceAccount()));
      expect(video.kind === 'bytes' && video.data.equals(vertex.inlineVideo)).toBe(true);
    } finally {
      vertex.inlineVideo = null;
    }
  });

  it('a gs:// result outside the configured bucket is refused, never fetched', async () => {
    vertex.outcome = 'foreign-gcs';
    const storageBefore = storage.requests.length;
    const e = await refusal(run(adapter(serviceAccount(), { storageUri: 'gs://my-results/veo/' })));
    expect(e.code).toBe('upstream_invalid_response');
    expect(e.message).toContain('my-results');
    expect(storage.requests.length).toBe(storageBefore);
  });

  it('refreshes five minutes before expiry, and the fake refuses a token past it', async () => {
    const a = adapter(serviceAccount());
    const before = auth.tokenRequests;
    const id = await a.submit(job, never);
    const first = bearer(vertex.requests.at(-1)!);
    offset = (3600 - 300) * 1000 - 1000; // 1 s before the refresh point: still cached
    await a.poll(id, never);
    expect(auth.tokenRequests - before).toBe(1);
    expect(bearer(vertex.requests.at(-1)!)).toBe(first);
    offset += 2000; // 1 s past it: a new token, though the old one is still valid
    await a.poll(id, never);
    expect(auth.tokenRequests - before).toBe(2);
    const second = bearer(vertex.requests.at(-1)!);
    expect(second).not.toBe(first);
    expect(auth.isValid(first)).toBe(true);

    offset += 301_000; // the first token has now expired
    const e = await refusal(adapter(staticTokenSource(first)).poll(id, never));
    expect(e.code).toBe('upstream_auth');
    expect(e.message).not.toContain(first);
    await expect(a.poll(id, never)).resolves.toBeTruthy(); // the refreshed one still works
  });

  it('concurrent first calls share exactly one token request', async () => {
    auth.delayMs = 100;
    const a = adapter(serviceAccount());
    const before = auth.tokenRequests;
    const vertexBefore = vertex.requests.length;
    const ids = await Promise.all(Array.from({ length: 12 }, () => a.submit(job, never)));
    expect(new Set(ids).size).toBe(12);
    expect(auth.tokenRequests - before).toBe(1);
    expect(new Set(vertex.requests.slice(vertexBefore).map(bearer)).size).toBe(1);
  });

  it('invalid_grant → upstream_auth, final, with Google\'s description and no key material; not cached', async () => {
    auth.failNext.push('invalid_grant');
    const a = adapter(serviceAccount());
    const vertexBefore = vertex.requests.length;
    const e = await refusal(a.submit(job, never));
    expect(e.code).toBe('upstream_auth');
    expect(e.retryable).toBe(false);
    expect(e.message).toContain('invalid_grant: Invalid grant: account not found');
    expect(e.message).toContain('reelay-test@reelay-test.iam.gserviceaccount.com');
    expect(e.message).not.toContain('PRIVATE KEY');
    expect(e.message).not.toContain(auth.keyJson.private_key!.split('\n')[3]!);
    for (const assertion of auth.assertions) expect(e.message).not.toContain(assertion.split('.')[2]!);
    expect(vertex.requests.length).toBe(vertexBefore); // Vertex never saw a call without a token

    const before = auth.tokenRequests;
    await expect(a.submit(job, never)).resolves.toMatch(/\/operations\//);
    expect(auth.tokenRequests - before).toBe(1);
  });

  it('503 from the token endpoint → retryable upstream_unavailable; the next call gets a token', async () => {
    auth.failNext.push(503);
    const a = adapter(serviceAccount());
    const e = await refusal(a.submit(job, never));
    expect(e).toMatchObject({ code: 'upstream_unavailable', retryable: true });
    expect(e.message).toContain('HTTP 503');
    await expect(a.submit(job, never)).resolves.toMatch(/\/operations\//);
  });

  it('a token endpoint that never answers → retryable upstream_timeout', async () => {
    auth.failNext.push('hang');
    const e = await refusal(adapter(serviceAccount({ timeoutMs: 300 })).submit(job, never));
    expect(e).toMatchObject({ code: 'upstream_timeout', retryable: true });
  });

  it('the fake checks the signature and the clock: another key or a skewed clock is refused', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const forged = serviceAccountTokenSource(parseServiceAccountKey({ ...auth.keyJson, private_key: other }), { timeoutMs: 2000, now });
    const e = await refusal(adapter(forged).submit(job, never));
    expect(e.code).toBe('upstream_auth');
    expect(e.message).toContain('Invalid JWT Signature.');

    const skewed = serviceAccountTokenSource(readServiceAccountKeyFile(auth.keyFile), { timeoutMs: 2000, now: () => now() + 2 * 3600_000 });
    const late = await refusal(adapter(skewed).submit(job, never));
    expect(late.code).toBe('upstream_auth');
    expect(late.message).toContain('Check your iat and exp values');
    expect(auth.refusals.slice(-2)).toEqual([
      'invalid_grant: Invalid JWT Signature.',
      expect.stringContaining('Token must be a short-lived token'),
    ]);
    auth.refusals.length = 0;
  });

  it('a token the endpoint never issued is refused by Vertex (static tokens keep working as before)', async () => {
    const e = await refusal(adapter(staticTokenSource('ya29.never-issued')).submit(job, never));
    expect(e.code).toBe('upstream_auth');
    expect(e.message).not.toContain('ya29.never-issued');
  });
});

describe('Cloud Storage (gs://) results', () => {
  it('storageUri in the request → gs:// result → downloaded with the same token, byte-identical', async () => {
    const a = adapter(serviceAccount(), { storageUri: STORAGE_URI });
    const before = auth.tokenRequests;
    const vertexBefore = vertex.requests.length;
    const { video } = await run(a);
    expect(vertex.requests[vertexBefore]!.body).toMatchObject({ parameters: { storageUri: STORAGE_URI } });
    expect(video.kind).toBe('url');
    const url = (video as { url: string }).url;
    expect(url).toMatch(/^gs:\/\/reelay-out\/veo\/\d+\/sample_0\.mp4$/);

    const downloadsBefore = storage.downloads;
    const out = join(dir, 'video.mp4');
    await a.download(url, out, never);
    expect((await readFile(out)).equals(sampleMp4())).toBe(true);
    expect(storage.downloads - downloadsBefore).toBe(1);
    const get = storage.requests.at(-1)!;
    const object = url.slice('gs://reelay-out/'.length);
    expect(get.path).toBe(`/storage/v1/b/reelay-out/o/${encodeURIComponent(object)}?alt=media`);
    expect(bearer(get)).toBe(bearer(vertex.requests[vertexBefore]!));
    expect(auth.tokenRequests - before).toBe(1);
  });

  it('without storageUri the request carries none and the bytes come inline', async () => {
    const vertexBefore = vertex.requests.length;
    const { video } = await run(adapter(serviceAccount()));
    expect((vertex.requests[vertexBefore]!.body as { parameters: object }).parameters).not.toHaveProperty('storageUri');
    expect(video.kind).toBe('bytes');
  });

  it('an object that is gone (404) → upstream_rejected naming it', async () => {
    vertex.outcome = 'gcs'; // a gs:// URI whose object was never written
    const a = adapter(serviceAccount(), { storageUri: STORAGE_URI });
    const { video } = await run(a);
    const uri = `${STORAGE_URI.match(/^gs:\/\/[^/]+/)![0]}/123/sample_0.mp4`;
    expect(video).toEqual({ kind: 'url', url: uri });
    const e = await refusal(a.download(uri, join(dir, 'x.mp4'), never));
    expect(e).toMatchObject({ code: 'upstream_rejected', retryable: false });
    expect(e.message).toContain(`${uri} does not exist in Cloud Storage (HTTP 404)`);
  });

  it('a redirect to another origin is followed without the Authorization header', async () => {
    const a = adapter(serviceAccount(), { storageUri: STORAGE_URI });
    const { video } = await run(a);
    storage.redirectNext.push(`${elsewhere.origin}/signed/sample_0.mp4?X-Goog-Signature=abc`);
    const before = elsewhere.requests.length;
    const out = join(dir, 'redirected.mp4');
    await a.download((video as { url: string }).url, out, never);
    expect((await readFile(out)).equals(sampleMp4())).toBe(true);
    expect(bearer(storage.requests.at(-1)!)).not.toBe('');
    const followed = elsewhere.requests.slice(before);
    expect(followed.map((r) => r.path)).toEqual(['/signed/sample_0.mp4?X-Goog-Signature=abc']);
    expect(followed[0]!.headers.authorization).toBeUndefined();
  });

  it('storage refusing the token → upstream_auth with a hint; a malformed gs:// URI is not fetched', async () => {
    storage.put('reelay-out', 'manual/sample_0.mp4', sampleMp4());
    const bad = adapter(staticTokenSource('ya29.never-issued'));
    const e = await refusal(bad.download('gs://reelay-out/manual/sample_0.mp4', join(dir, 'a.mp4'), never));
    expect(e.code).toBe('upstream_auth');
    expect(e.message).toContain('storage.objects.get');

    const before = storage.requests.length;
    const m = await refusal(adapter(serviceAccount()).download('gs://Not_A_Bucket/x.mp4', join(dir, 'b.mp4'), never));
    expect(m.code).toBe('upstream_invalid_response');
    expect(storage.requests.length).toBe(before);
  });
});
