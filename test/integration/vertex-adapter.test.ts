// The Vertex adapter constructed directly, over real loopback HTTP against the
// strict fakes of Vertex AI (UPSTREAM.md §3), Google's token endpoint and the
// Cloud Storage JSON API. Every call must come back as an outcome.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/domain/catalog.ts';
import type { UpstreamFailure } from '../../src/domain/failures.ts';
import type { PollOutcome, UpstreamAdapter, UpstreamJob } from '../../src/providers/upstream/upstream-provider.ts';
import { vertexAdapter } from '../../src/providers/vertex/vertex-adapter.ts';
import { readServiceAccountKeyFile, serviceAccountTokenSource, staticTokenSource, type TokenSource } from '../../src/providers/vertex/service-account.ts';
import { startGoogleAuthFake, type GoogleAuthFake } from '../fakes/google-auth.ts';
import { startStorageFake, type StorageFake } from '../fakes/cloud-storage.ts';
import { startVertexFake, type VertexFake } from '../fakes/vertex.ts';
import { sampleMp4, sendJson, startFake } from '../fakes/http-fake.ts';

const PROJECT = 'reelay-test';
const LOCATION = 'europe-west4';
const STORAGE_URI = 'gs://reelay-out/veo/';
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const catalog = loadCatalog();
// The public model is deliberately one Vertex no longer serves: only upstreamModel may reach the wire.
const PUBLIC = catalog.find('veo-3.0-generate-001') ?? catalog.models.find((m) => m.family === 'veo')!;
const job = (over: Partial<UpstreamJob> = {}): UpstreamJob => ({
  taskId: 'task_v', model: PUBLIC, upstreamModel: 'veo-3.1-generate-001', prompt: 'a slow push in', negativePrompt: null,
  aspectRatio: '16:9', seconds: 8, width: 1280, height: 720, fps: 24, seed: 7, generateAudio: true, images: [PNG], options: {}, ...over,
});
const never = new AbortController().signal;

let auth: GoogleAuthFake;
let storage: StorageFake;
let vertex: VertexFake;
let dir: string;
/** Every failure message any test saw, to prove no token leaked into one. */
const messages: string[] = [];
const tokensSeen = new Set<string>();

beforeAll(async () => {
  auth = await startGoogleAuthFake();
  storage = await startStorageFake(auth);
  vertex = await startVertexFake({ project: PROJECT, location: LOCATION, token: auth, storage });
});
afterAll(async () => {
  await Promise.all([auth?.close(), storage?.close(), vertex?.close()]);
});
beforeEach(async () => {
  Object.assign(vertex, { outcome: 'ok', pollsUntilDone: 2, retryAfter: null, script: { submit: [], poll: [], get: [] } });
  auth.failNext = [];
  dir = await mkdtemp(join(tmpdir(), 'reelay-vertex-adapter-'));
});
afterEach(async () => {
  for (const r of [...vertex.requests, ...storage.requests]) {
    const t = String(r.headers.authorization ?? '').replace(/^Bearer /, '');
    if (t) tokensSeen.add(t);
  }
  await rm(dir, { recursive: true, force: true });
});

const serviceAccount = () => serviceAccountTokenSource(readServiceAccountKeyFile(auth.keyFile), { timeoutMs: 2000 });

function adapter(o: { token?: TokenSource; storageUri?: string; project?: string; baseUrl?: string } = {}): UpstreamAdapter {
  return vertexAdapter({
    project: o.project ?? PROJECT, location: LOCATION, baseUrl: o.baseUrl ?? vertex.baseUrl, token: o.token ?? serviceAccount(),
    storageUri: o.storageUri, storageBaseUrl: storage.baseUrl, requestTimeoutMs: 2000,
    download: { maxBytes: 50 * 1024 * 1024, timeoutMs: 10_000 }, policy: { allowPrivate: true },
  });
}

function refused(r: { ok: true } | { ok: false; failure: UpstreamFailure } | PollOutcome): UpstreamFailure {
  const f = 'failure' in r ? r.failure : undefined;
  if (!f) throw new Error(`expected a failure, got ${JSON.stringify(r)}`);
  messages.push(f.message);
  return f;
}

async function submitted(a: UpstreamAdapter, j = job()): Promise<string> {
  const r = await a.submit(j, never);
  if (!r.ok) throw new Error(`submit failed: ${r.failure.message}`);
  return r.id;
}

/** Poll until the operation is no longer running (the fake counts polls; nothing to wait for). */
async function finished(a: UpstreamAdapter, id: string): Promise<PollOutcome> {
  for (let i = 0; i < 10; i++) {
    const r = await a.poll(id, never);
    if (r.state !== 'running') return r;
  }
  throw new Error('the fake never finished');
}

const since = (n: number) => vertex.requests.slice(n);

describe('happy paths', () => {
  it('inline: the path carries the upstream id, the fake accepts the body, the bytes come back', async () => {
    const before = vertex.requests.length;
    const a = adapter();
    const id = await submitted(a);
    const done = await finished(a, id);
    expect(done).toEqual({ state: 'done', video: { kind: 'bytes', data: sampleMp4() } });
    const sent = since(before);
    const model = `/v1/projects/${PROJECT}/locations/${LOCATION}/publishers/google/models/veo-3.1-generate-001`;
    expect(sent.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST ${model}:predictLongRunning`, ...Array(3).fill(`POST ${model}:fetchPredictOperation`),
    ]);
    expect(JSON.stringify(sent)).not.toContain(PUBLIC.id);
    expect(sent[0]!.body).toMatchObject({ parameters: { durationSeconds: 8, resolution: '720p', generateAudio: true, seed: 7, sampleCount: 1, personGeneration: 'allow_adult' } });
    expect(sent[1]!.body).toEqual({ operationName: id });
    expect(id.startsWith(`${model.slice(4)}/operations/`)).toBe(true);
  });

  it('gs://: storageUri sent, the result downloaded from the configured bucket with the same token', async () => {
    const a = adapter({ storageUri: STORAGE_URI });
    const before = vertex.requests.length;
    const done = await finished(a, await submitted(a, job({ upstreamModel: 'veo-3.1-fast-generate-001', width: 1920, height: 1080 })));
    expect(since(before)[0]!.body).toMatchObject({ parameters: { storageUri: STORAGE_URI, resolution: '1080p' } });
    if (done.state !== 'done' || done.video.kind !== 'url') throw new Error(JSON.stringify(done));
    expect(done.video.url).toMatch(/^gs:\/\/reelay-out\/veo\/\d+\/sample_0\.mp4$/);
    const out = join(dir, 'v.mp4');
    expect(await a.download(done.video.url, out, never)).toEqual({ ok: true });
    expect((await readFile(out)).equals(sampleMp4())).toBe(true);
    expect(storage.requests.at(-1)!.headers.authorization).toBe(since(before)[0]!.headers.authorization);

    // Revoked between poll and download: Cloud Storage's 401 drops the token and the download is tried once more.
    auth.issued.clear();
    const storageBefore = storage.requests.length;
    expect(await a.download(done.video.url, join(dir, 'again.mp4'), never)).toEqual({ ok: true });
    const gets = storage.requests.slice(storageBefore).map((r) => r.headers.authorization);
    expect(gets.length).toBe(2);
    expect(gets[0]).not.toBe(gets[1]);
  });

  it('lite serves text-to-video at 720p', async () => {
    const a = adapter();
    const done = await finished(a, await submitted(a, job({ upstreamModel: 'veo-3.1-lite-generate-001', images: [], seconds: 4 })));
    expect(done.state).toBe('done');
  });
});

describe('create failures are outcomes', () => {
  it.each(['veo-3.0-generate-001', 'veo-2.0-generate-001', 'veo-3.1-generate-preview'])('retired %s → model fault', async (upstreamModel) => {
    const f = refused(await adapter().submit(job({ upstreamModel }), never));
    expect(f).toMatchObject({ code: 'model_unavailable', fault: 'model' });
    expect(f.message).toContain(`does not serve ${upstreamModel} in ${LOCATION} (HTTP 404 NOT_FOUND)`);
    expect(f.message).toContain('was not found or your project does not have access to it');
  });

  it('403 PERMISSION_DENIED → channel fault upstream_auth', async () => {
    const f = refused(await adapter({ project: 'someone-else' }).submit(job(), never));
    expect(f).toMatchObject({ code: 'upstream_auth', fault: 'channel' });
    expect(f.message).toContain('HTTP 403 PERMISSION_DENIED');
    expect(f.message).toContain("Permission 'aiplatform.endpoints.predict' denied");
  });

  it('a revoked token is dropped and the call retried once with a fresh one', async () => {
    const a = adapter();
    const id = await submitted(a);
    const tokens = auth.tokenRequests;
    const before = vertex.requests.length;
    auth.issued.clear(); // Vertex now answers 401 to the cached token
    expect((await a.poll(id, never)).state).toBe('running');
    const sent = since(before).map((r) => r.headers.authorization);
    expect(sent.length).toBe(2);
    expect(sent[0]).not.toBe(sent[1]);
    expect(auth.tokenRequests - tokens).toBe(1);
  });

  it('a fresh token refused too → channel fault, after exactly one retry; a static token is not retried', async () => {
    let n = 0;
    const dropped: string[] = [];
    const revoked: TokenSource = { token: async () => `ya29.revoked-${++n}`, invalidate: (t) => { dropped.push(t); } };
    const before = vertex.requests.length;
    const f = refused(await adapter({ token: revoked }).submit(job(), never));
    expect(f).toMatchObject({ code: 'upstream_auth', fault: 'channel' });
    expect(f.message).toContain('HTTP 401 UNAUTHENTICATED');
    expect(dropped).toEqual(['ya29.revoked-1']);
    expect(since(before).map((r) => r.headers.authorization)).toEqual(['Bearer ya29.revoked-1', 'Bearer ya29.revoked-2']);

    const mid = vertex.requests.length;
    expect(refused(await adapter({ token: staticTokenSource('ya29.static-bad') }).submit(job(), never)).fault).toBe('channel');
    expect(since(mid).length).toBe(1);
  });

  it('429 → throttled with the Retry-After in ms', async () => {
    vertex.retryAfter = '7';
    vertex.script.submit.push({ status: 429, message: 'Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model.' });
    const f = refused(await adapter().submit(job(), never));
    expect(f).toMatchObject({ code: 'upstream_unavailable', fault: 'throttled', retryAfterMs: 7000 });
    expect(f.message).toContain('Quota exceeded');
  });

  it('503 → transient', async () => {
    vertex.script.submit.push({ status: 503, message: 'The service is currently unavailable.' });
    expect(refused(await adapter().submit(job(), never))).toMatchObject({ code: 'upstream_unavailable', fault: 'transient' });
  });

  it('4 s at 1080p → the fake\'s 400 → final request fault quoting it', async () => {
    const before = vertex.requests.length;
    const f = refused(await adapter().submit(job({ seconds: 4, width: 1920, height: 1080 }), never));
    expect(since(before)[0]!.body).toMatchObject({ parameters: { durationSeconds: 4, resolution: '1080p' } });
    expect(f).toMatchObject({ code: 'upstream_rejected', fault: 'request' });
    expect(f.message).toBe('Vertex AI rejected the request (HTTP 400): durationSeconds 4 is not supported with resolution 1080p; it requires durationSeconds 8.');
  });

  it('4k on lite → the 400 naming resolution is a final request fault', async () => {
    const f = refused(await adapter().submit(job({ upstreamModel: 'veo-3.1-lite-generate-001', width: 3840, height: 2160 }), never));
    expect(f).toMatchObject({ code: 'upstream_rejected', fault: 'request' });
    expect(f.message).toContain('resolution "4k" is not supported by veo-3.1-lite-generate-001');
  });

  it('an upstream message quoting the token is redacted', async () => {
    const token = await serviceAccount().token(never);
    vertex.script.submit.push({ status: 400, message: `Malformed header: Bearer ${token}` });
    const f = refused(await adapter({ token: staticTokenSource(token) }).submit(job(), never));
    expect(f.message).toContain('Malformed header: Bearer [redacted]');
    expect(f.message).not.toContain(token);
  });

  it('the caller\'s abort is the one thing that throws', async () => {
    vertex.script.submit.push('hang');
    const ac = new AbortController();
    const p = adapter().submit(job(), ac.signal);
    setTimeout(() => ac.abort(new Error('cancelled')), 50);
    await expect(p).rejects.toThrow('cancelled');
  });
});

describe('poll outcomes', () => {
  it('an operation Vertex does not know → upstream_lost_job (transient)', async () => {
    const name = `projects/${PROJECT}/locations/${LOCATION}/publishers/google/models/veo-3.1-generate-001/operations/00000000-0000-4000-8000-000000000000`;
    const f = refused(await adapter().poll(name, never));
    expect(f).toMatchObject({ code: 'upstream_lost_job', fault: 'transient' });
    expect(f.message).toContain('HTTP 404');
    expect(refused(await adapter().poll('not-an-operation', never)).code).toBe('upstream_lost_job');
  });

  it.each([
    [3, 'Unsupported image content.', 'upstream_rejected', 'request'],
    [3, 'The prompt could not be submitted. It contains words that violate Vertex AI\'s usage guidelines. Support codes: 58061214', 'content_filtered', 'content'],
    [8, 'Quota exceeded.', 'upstream_unavailable', 'throttled'],
    [13, 'Internal error.', 'upstream_unavailable', 'transient'],
    [14, 'Service unavailable.', 'upstream_unavailable', 'transient'],
    [4, 'Deadline exceeded.', 'upstream_unavailable', 'transient'],
    [7, 'Permission denied on the output bucket.', 'upstream_auth', 'channel'],
  ])('done + error code %i → %s', async (code, message, failureCode, fault) => {
    vertex.outcome = 'failed';
    vertex.operationError = { code, message };
    const a = adapter();
    const f = refused(await finished(a, await submitted(a)));
    expect(f).toMatchObject({ code: failureCode, fault });
    expect(f.message).toContain(message);
  });

  it('filtered output → content_filtered with Google\'s reason', async () => {
    vertex.outcome = 'filtered';
    const a = adapter();
    const f = refused(await finished(a, await submitted(a)));
    expect(f).toMatchObject({ code: 'content_filtered', fault: 'content' });
    expect(f.message).toContain('usage guidelines');
  });

  it('a gs:// result outside the configured bucket (or with none configured) is refused and never fetched', async () => {
    vertex.outcome = 'foreign-gcs';
    const storageBefore = storage.requests.length;
    const a = adapter({ storageUri: 'gs://my-results/veo/' });
    const f = refused(await finished(a, await submitted(a)));
    expect(f).toMatchObject({ code: 'upstream_invalid_response', fault: 'transient' });
    expect(f.message).toContain('my-results');
    expect(refused(await a.download('gs://someone-elses-bucket/secret.mp4', join(dir, 'x.mp4'), never)).code).toBe('upstream_invalid_response');
    expect(refused(await adapter().download('gs://reelay-out/veo/x.mp4', join(dir, 'y.mp4'), never)).message).toContain('no VERTEX_STORAGE_URI');
    expect(storage.requests.length).toBe(storageBefore);
  });

  it('a gs:// object that is gone → upstream_lost_job; storage refusing → upstream_auth with the permission named', async () => {
    vertex.outcome = 'gcs';
    const a = adapter({ storageUri: STORAGE_URI });
    const done = await finished(a, await submitted(a));
    if (done.state !== 'done' || done.video.kind !== 'url') throw new Error(JSON.stringify(done));
    expect(refused(await a.download(done.video.url, join(dir, 'gone.mp4'), never))).toMatchObject({ code: 'upstream_lost_job', fault: 'transient' });
    storage.put('reelay-out', 'veo/manual/sample_0.mp4', sampleMp4());
    const bad = adapter({ token: staticTokenSource('ya29.never-issued'), storageUri: STORAGE_URI });
    const f = refused(await bad.download('gs://reelay-out/veo/manual/sample_0.mp4', join(dir, 'a.mp4'), never));
    expect(f).toMatchObject({ code: 'upstream_auth', fault: 'channel' });
    expect(f.message).toContain('storage.objects.get');
  });
});

describe('Google error bodies the fake does not send', () => {
  it('an envelope wrapped in a one-element array is unwrapped; BILLING_DISABLED is the channel\'s account', async () => {
    const answers = [
      [404, [{ error: { code: 404, message: 'Publisher Model `x` was not found.', status: 'NOT_FOUND' } }]],
      [403, [{ error: { code: 403, message: 'This API method requires billing to be enabled.', status: 'PERMISSION_DENIED', details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'BILLING_DISABLED' }] } }]],
    ] as const;
    let i = 0;
    const raw = await startFake((_req, res) => { const [s, b] = answers[i++]!; sendJson(res, s, b); });
    try {
      const a = adapter({ baseUrl: raw.origin, token: staticTokenSource('ya29.x') });
      const nf = refused(await a.submit(job(), never));
      expect(nf).toMatchObject({ code: 'model_unavailable', fault: 'model' });
      expect(nf.message).toContain('HTTP 404 NOT_FOUND');
      expect(nf.message).toContain('Publisher Model `x` was not found.');
      expect(refused(await a.submit(job(), never))).toMatchObject({ code: 'upstream_quota', fault: 'channel' });
    } finally {
      await raw.close();
    }
  });
});

describe('check()', () => {
  it('a good token: live ids served, retired ids not; nothing is generated', async () => {
    const before = vertex.requests.length;
    const c = await adapter().check(['veo-3.1-generate-001', 'veo-3.1-lite-generate-001', 'veo-3.0-generate-001'], never);
    expect(c.credentials.ok).toBe(true);
    expect(c.models).toEqual([
      { upstreamModel: 'veo-3.1-generate-001', ok: true, detail: 'Vertex AI serves veo-3.1-generate-001 (launch stage GA).' },
      { upstreamModel: 'veo-3.1-lite-generate-001', ok: true, detail: 'Vertex AI serves veo-3.1-lite-generate-001 (launch stage PUBLIC_PREVIEW).' },
      { upstreamModel: 'veo-3.0-generate-001', ok: false, detail: expect.stringContaining('does not serve veo-3.0-generate-001') },
    ]);
    expect(since(before).map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /v1/publishers/google/models/veo-3.1-generate-001', 'GET /v1/publishers/google/models/veo-3.1-lite-generate-001', 'GET /v1/publishers/google/models/veo-3.0-generate-001',
    ]);
  });

  it('a service account the token endpoint refuses: credentials not ok, its reason redacted, no model called', async () => {
    auth.failNext.push('invalid_grant');
    const before = vertex.requests.length;
    const c = await adapter().check(['veo-3.1-generate-001'], never);
    expect(c.credentials.ok).toBe(false);
    expect(c.credentials.detail).toContain('invalid_grant: Invalid grant: account not found');
    for (const a of auth.assertions) expect(c.credentials.detail).not.toContain(a);
    expect(c.models).toEqual([{ upstreamModel: 'veo-3.1-generate-001', ok: null, detail: 'not checked: no access token' }]);
    expect(vertex.requests.length).toBe(before);
    messages.push(c.credentials.detail);
  });

  it('a static token Vertex refuses: credentials not ok', async () => {
    const c = await adapter({ token: staticTokenSource('ya29.never-issued') }).check(['veo-3.1-generate-001', 'veo-3.1-fast-generate-001'], never);
    expect(c.credentials).toMatchObject({ ok: false, detail: expect.stringContaining('HTTP 401') });
    expect(c.models.map((m) => m.ok)).toEqual([null, null]);
    messages.push(c.credentials.detail);
  });

  it('a 5xx says nothing about the model (ok null); a 404 without Google\'s envelope is an unknown route, not a retired model', async () => {
    vertex.script.get.push({ status: 503, message: 'The service is currently unavailable.' });
    const c = await adapter().check(['veo-3.1-generate-001'], never);
    expect(c.models[0]).toMatchObject({ ok: null, detail: expect.stringContaining('HTTP 503') });
    const html = await startFake((_req, res) => { res.writeHead(404, { 'content-type': 'text/html' }).end('<p>Not Found</p>'); });
    try {
      const d = await adapter({ baseUrl: html.origin, token: staticTokenSource('ya29.x') }).check(['veo-3.1-generate-001'], never);
      expect(d.models[0]!.ok).toBeNull();
    } finally {
      await html.close();
    }
  });
});

describe('secrets', () => {
  it('no failure message any test saw contains a token', () => {
    expect(messages.length).toBeGreaterThan(20);
    expect(tokensSeen.size).toBeGreaterThan(2);
    for (const m of messages) for (const t of tokensSeen) expect(m).not.toContain(t);
  });
});
