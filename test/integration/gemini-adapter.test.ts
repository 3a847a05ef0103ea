// The Gemini API adapter constructed directly, over real loopback HTTP against
// the strict fake (UPSTREAM.md §1): Veo through predictLongRunning (with a
// hypothetically live id), Omni through the Interactions API, errors of both
// envelopes, check(). Every call must come back as an outcome.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/domain/catalog.ts';
import type { UpstreamFailure } from '../../src/domain/failures.ts';
import { geminiAdapter } from '../../src/providers/gemini/gemini-adapter.ts';
import type { ChannelCheck, PollOutcome, SubmitOutcome, UpstreamAdapter, UpstreamJob } from '../../src/providers/upstream/upstream-provider.ts';
import { OMNI, startGeminiFake, type GeminiFake } from '../fakes/gemini.ts';
import { sampleMp4, type Recorded } from '../fakes/http-fake.ts';

const KEY = 'AIza-adapter-test-key-0123456789';
const BAD_KEY = 'AIza-wrong-key-must-never-leak-42';
const LIVE_VEO = 'veo-3.1-generate-001';
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const catalog = loadCatalog();
// A public id the Gemini API no longer serves: only upstreamModel may reach the wire.
const PUBLIC = catalog.find('veo-3.1-generate-preview') ?? catalog.models[0]!;
const job = (over: Partial<UpstreamJob> = {}): UpstreamJob => ({
  taskId: 'task_g', model: PUBLIC, upstreamModel: LIVE_VEO, prompt: 'a slow push in', negativePrompt: null,
  aspectRatio: '16:9', seconds: 8, width: 1280, height: 720, fps: 24, seed: 7, generateAudio: true, images: [PNG], options: {}, ...over,
});
const omniJob = (over: Partial<UpstreamJob> = {}) => job({ upstreamModel: OMNI, seconds: 6, ...over });
const never = new AbortController().signal;

let fake: GeminiFake;
let dir: string;
/** Every failure message and check detail any test saw, to prove no key leaked into one. */
const messages: string[] = [];

const adapterFor = (apiKey = KEY, over: { requestTimeoutMs?: number } = {}): UpstreamAdapter => geminiAdapter({
  apiKey, baseUrl: fake.baseUrl, requestTimeoutMs: over.requestTimeoutMs ?? 5000,
  download: { maxBytes: 50 * 1024 * 1024, timeoutMs: 10_000 }, policy: { allowPrivate: false },
});

function seen<T extends SubmitOutcome | PollOutcome>(o: T): T {
  if ('failure' in o) messages.push(o.failure.message);
  return o;
}
const submitOk = async (a: UpstreamAdapter, j: UpstreamJob) => {
  const r = seen(await a.submit(j, never));
  if (!r.ok) throw new Error(`submit failed: ${r.failure.message}`);
  return r.id;
};
const submitFails = async (a: UpstreamAdapter, j: UpstreamJob): Promise<UpstreamFailure> => {
  const r = seen(await a.submit(j, never));
  if (r.ok) throw new Error(`submit unexpectedly accepted: ${r.id}`);
  return r.failure;
};
/** Polls until the job leaves "running" (the fake's pollsUntilDone bounds it). */
async function settle(a: UpstreamAdapter, id: string): Promise<Exclude<PollOutcome, { state: 'running' }>> {
  for (let i = 0; i < 20; i++) {
    const o = seen(await a.poll(id, never));
    if (o.state !== 'running') return o;
  }
  throw new Error('still running after 20 polls');
}
const since = (n: number) => fake.requests.slice(n);
const posts = (rs: Recorded[], suffix: string) => rs.filter((r) => r.method === 'POST' && r.path.endsWith(suffix));

beforeAll(async () => {
  fake = await startGeminiFake(KEY, { liveVeo: [LIVE_VEO], maxPageSize: 3 });
});
afterAll(async () => {
  await fake?.close();
  const all = messages.join('\n');
  expect(all).not.toContain(KEY);
  expect(all).not.toContain(BAD_KEY);
});
beforeEach(async () => {
  Object.assign(fake, { outcome: 'ok', pollsUntilDone: 1, refusePersonGeneration: false, script: { submit: [], poll: [], list: [] } });
  Object.assign(fake.interactions, { outcome: 'ok', refuse: [], cancelled: [] });
  dir = await mkdtemp(join(tmpdir(), 'reelay-gemini-adapter-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Veo through predictLongRunning', () => {
  it('happy path: bytesBase64Encoded images, no Vertex-only field, the upstream id in the path; uri downloaded with the key through the redirect', async () => {
    const a = adapterFor();
    const before = fake.requests.length;
    const id = await submitOk(a, job({ images: [PNG, PNG], seconds: 6, negativePrompt: 'blur', seed: 123, generateAudio: false }));
    expect(id).toMatch(/^models\/veo-3\.1-generate-001\/operations\/[a-z0-9]+$/);
    const [create] = posts(since(before), ':predictLongRunning');
    expect(create!.path).toBe(`/v1beta/models/${LIVE_VEO}:predictLongRunning`);
    expect(create!.headers['x-goog-api-key']).toBe(KEY);
    const body = create!.body as { instances: Record<string, unknown>[]; parameters: Record<string, unknown> };
    expect(body.instances[0]!.image).toEqual({ bytesBase64Encoded: PNG.toString('base64'), mimeType: 'image/png' });
    expect(body.instances[0]!.lastFrame).toEqual({ bytesBase64Encoded: PNG.toString('base64'), mimeType: 'image/png' });
    expect(body.parameters).toEqual({ aspectRatio: '16:9', durationSeconds: 6, resolution: '720p', negativePrompt: 'blur', personGeneration: 'allow_adult', sampleCount: 1 });
    expect(JSON.stringify(create!.body)).not.toMatch(/inlineData|seed|generateAudio/);

    expect(seen(await a.poll(id, never))).toEqual({ state: 'running' });
    const done = await settle(a, id);
    expect(done.state).toBe('done');
    if (done.state !== 'done' || done.video.kind !== 'url') throw new Error('expected a url');
    const mark = fake.requests.length;
    const path = join(dir, 'out.mp4');
    expect(await a.download(done.video.url, path, never)).toEqual({ ok: true });
    expect(await readFile(path)).toEqual(sampleMp4());
    const dl = since(mark);
    expect(dl.map((r) => r.path.split('?')[0])).toEqual([expect.stringMatching(/^\/v1beta\/files\/[a-z0-9]+:download$/), expect.stringMatching(/^\/blob\//)]);
    expect(dl[0]!.headers['x-goog-api-key']).toBe(KEY);
  });

  it('encodedVideo → bytes; the generatedVideos spelling is read too', async () => {
    const a = adapterFor();
    fake.outcome = 'encoded';
    expect(await settle(a, await submitOk(a, job()))).toEqual({ state: 'done', video: { kind: 'bytes', data: sampleMp4() } });
    fake.outcome = 'generated_videos';
    expect(await settle(a, await submitOk(a, job()))).toMatchObject({ state: 'done', video: { kind: 'url' } });
  });

  it('a retired id or one never served here → model fault (never the user\'s)', async () => {
    const a = adapterFor();
    const retired = await submitFails(a, job({ upstreamModel: 'veo-3.1-generate-preview' }));
    expect(retired).toMatchObject({ code: 'model_unavailable', fault: 'model', message: expect.stringContaining('is no longer available') });
    const unknown = await submitFails(a, job({ upstreamModel: 'veo-3.1-fast-generate-001' }));
    expect(unknown).toMatchObject({ code: 'model_unavailable', fault: 'model', message: expect.stringContaining('is not found') });
  });

  it('a wrong key (400 API_KEY_INVALID) → channel upstream_auth on submit, poll and check; the key is quoted nowhere', async () => {
    const a = adapterFor(BAD_KEY);
    expect(await submitFails(a, job())).toMatchObject({ code: 'upstream_auth', fault: 'channel' });
    expect(await submitFails(a, omniJob())).toMatchObject({ code: 'upstream_auth', fault: 'channel' });
    expect(seen(await a.poll('models/veo-3.1-generate-001/operations/abc', never))).toMatchObject({ state: 'failed', failure: { code: 'upstream_auth', fault: 'channel' } });
    const check = await a.check([LIVE_VEO], never);
    messages.push(check.credentials.detail, ...check.models.map((m) => m.detail));
    expect(check.credentials.ok).toBe(false);
    expect(check.models).toEqual([{ upstreamModel: LIVE_VEO, ok: null, detail: expect.any(String) }]);
  });

  it('429 → throttled with Retry-After; 503 → transient; FAILED_PRECONDITION → channel quota; array-wrapped 400 → request with Google\'s words', async () => {
    const a = adapterFor();
    fake.script.submit.push({ status: 429, message: 'Resource has been exhausted (e.g. check quota).', retryAfter: '7' });
    expect(await submitFails(a, job())).toMatchObject({ fault: 'throttled', retryAfterMs: 7000 });
    fake.script.submit.push({ status: 503, message: 'The service is currently unavailable.' });
    expect(await submitFails(a, job())).toMatchObject({ code: 'upstream_unavailable', fault: 'transient' });
    fake.script.submit.push({ status: 400, rpcStatus: 'FAILED_PRECONDITION', message: 'User location is not supported for the API use.' });
    expect(await submitFails(a, job())).toMatchObject({ code: 'upstream_quota', fault: 'channel' });
    fake.script.submit.push({ status: 400, array: true, message: `Request contains an invalid argument (key=${KEY}).` });
    const rejected = await submitFails(a, job());
    expect(rejected).toMatchObject({ code: 'upstream_rejected', fault: 'request', message: expect.stringContaining('Request contains an invalid argument') });
    expect(rejected.message).not.toContain(KEY);
  });

  it('finished operations: filtered → content; error → classified; a 400 naming personGeneration is final; an unknown operation → lost job', async () => {
    const a = adapterFor();
    fake.outcome = 'filtered';
    expect(await settle(a, await submitOk(a, job()))).toMatchObject({ failure: { code: 'content_filtered', fault: 'content' } });
    fake.outcome = 'failed';
    expect(await settle(a, await submitOk(a, job()))).toMatchObject({ failure: { code: 'upstream_rejected', fault: 'request', message: expect.stringContaining('could not be processed') } });
    fake.outcome = 'failed_string';
    expect(await settle(a, await submitOk(a, job()))).toMatchObject({ failure: { message: expect.stringContaining('could not be processed') } });
    fake.refusePersonGeneration = true;
    expect(await submitFails(a, job())).toMatchObject({ code: 'upstream_rejected', fault: 'request', message: expect.stringContaining('personGeneration') });
    expect(seen(await a.poll('models/veo-3.1-generate-001/operations/0123abcd', never))).toMatchObject({ failure: { code: 'upstream_lost_job', fault: 'transient' } });
  });

  it('timeouts and unreadable answers come back as transient outcomes; an aborted signal throws', async () => {
    const a = adapterFor(KEY, { requestTimeoutMs: 300 });
    fake.script.submit.push('hang');
    expect(await submitFails(a, job())).toMatchObject({ code: 'upstream_timeout', fault: 'transient' });
    fake.script.poll.push('malformed');
    expect(seen(await a.poll('models/veo-3.1-generate-001/operations/abc', never))).toMatchObject({ failure: { code: 'upstream_invalid_response', fault: 'transient' } });
    const ac = new AbortController();
    ac.abort(new Error('shutdown'));
    await expect(a.submit(job(), ac.signal)).rejects.toThrow('shutdown');
  });
});

describe('Omni through the Interactions API', () => {
  it('happy path: background, video modality, duration as a string; uri downloaded with the key', async () => {
    const a = adapterFor();
    const before = fake.requests.length;
    const id = await submitOk(a, omniJob({ seconds: 6, width: 640, height: 360 }));
    expect(id).toMatch(/^interactions\/v1_[A-Za-z0-9_-]+$/);
    const [create] = posts(since(before), '/v1beta/interactions');
    expect(create!.headers['x-goog-api-key']).toBe(KEY);
    expect(create!.body).toMatchObject({
      model: OMNI, background: true, response_modalities: ['video'],
      input: [{ type: 'image', mime_type: 'image/png', data: PNG.toString('base64') }, { type: 'text', text: 'a slow push in' }],
      response_format: { type: 'video', aspect_ratio: '16:9', resolution: '360p', duration: '6s', delivery: 'uri' },
      generation_config: { video_config: { task: 'image_to_video' }, seed: 7 },
    });
    const done = await settle(a, id);
    if (done.state !== 'done' || done.video.kind !== 'url') throw new Error(`expected a url, got ${JSON.stringify(done)}`);
    expect(new URL(done.video.url).searchParams.get('alt')).toBe('media');
    const mark = fake.requests.length;
    const path = join(dir, 'omni.mp4');
    expect(await a.download(done.video.url, path, never)).toEqual({ ok: true });
    expect(await readFile(path)).toEqual(sampleMp4());
    expect(since(mark)[0]!.headers['x-goog-api-key']).toBe(KEY);
  });

  it('inline delivery → bytes', async () => {
    const a = adapterFor();
    fake.interactions.outcome = 'inline';
    expect(await settle(a, await submitOk(a, omniJob()))).toEqual({ state: 'done', video: { kind: 'bytes', data: sampleMp4() } });
  });

  it('a text-only answer → content_filtered quoting it; completed without video → transient, then the next read succeeds', async () => {
    const a = adapterFor();
    fake.interactions.outcome = 'refusal';
    expect(await settle(a, await submitOk(a, omniJob()))).toMatchObject({ failure: { code: 'content_filtered', fault: 'content', message: expect.stringContaining('policy') } });
    fake.interactions.outcome = 'empty_once';
    const id = await submitOk(a, omniJob());
    expect(await settle(a, id)).toMatchObject({ state: 'failed', failure: { code: 'upstream_invalid_response', fault: 'transient' } });
    expect(seen(await a.poll(id, never))).toMatchObject({ state: 'done', video: { kind: 'url' } });
  });

  it('failed → classified from its string code; budget_exceeded → channel quota; cancelled upstream → lost job', async () => {
    const a = adapterFor();
    fake.interactions.outcome = 'failed';
    expect(await settle(a, await submitOk(a, omniJob()))).toMatchObject({ failure: { code: 'upstream_rejected', fault: 'request', message: expect.stringContaining('could not be processed') } });
    fake.interactions.outcome = 'budget_exceeded';
    expect(await settle(a, await submitOk(a, omniJob()))).toMatchObject({ failure: { code: 'upstream_quota', fault: 'channel' } });
    fake.interactions.outcome = 'cancelled';
    expect(await settle(a, await submitOk(a, omniJob()))).toMatchObject({ failure: { code: 'upstream_lost_job', fault: 'transient' } });
  });

  it('an unknown interaction (400 "Invalid interaction name") → upstream_lost_job; a retired Omni id → model fault', async () => {
    const a = adapterFor();
    expect(seen(await a.poll('interactions/v1_never-created', never))).toMatchObject({ state: 'failed', failure: { code: 'upstream_lost_job', fault: 'transient' } });
    expect(await submitFails(a, omniJob({ upstreamModel: 'gemini-omni-flash-preview' }))).toMatchObject({ code: 'model_unavailable', fault: 'model' });
  });

  it('cancel reaches the fake for an interaction, never throws, and sends nothing for a Veo operation', async () => {
    const a = adapterFor();
    fake.pollsUntilDone = 100;
    const id = await submitOk(a, omniJob());
    await a.cancel!(id);
    expect(fake.interactions.cancelled).toEqual([id.slice('interactions/'.length)]);
    expect(await settle(a, id)).toMatchObject({ failure: { code: 'upstream_lost_job' } });
    await expect(a.cancel!(id)).resolves.toBeUndefined(); // already cancelled: the fake refuses, the adapter shrugs
    await expect(a.cancel!('interactions/v1_unknown')).resolves.toBeUndefined();
    const mark = fake.requests.length;
    await expect(a.cancel!('models/veo-3.1-generate-001/operations/abc')).resolves.toBeUndefined();
    expect(since(mark)).toEqual([]);
  });

  it('[U] a 400 naming response_modalities: resent once without it, and left out from then on', async () => {
    const a = adapterFor();
    fake.interactions.refuse = ['response_modalities'];
    const before = fake.requests.length;
    await submitOk(a, omniJob());
    await submitOk(a, omniJob());
    const creates = posts(since(before), '/v1beta/interactions').map((r) => r.body as Record<string, unknown>);
    expect(creates.map((b) => 'response_modalities' in b)).toEqual([true, false, false]);
  });

  it('[U] a 400 naming seed: resent without it; a request the service refuses for good is not resent', async () => {
    const a = adapterFor();
    fake.interactions.refuse = ['seed'];
    const before = fake.requests.length;
    await submitOk(a, omniJob());
    const creates = posts(since(before), '/v1beta/interactions').map((r) => (r.body as { generation_config: Record<string, unknown> }).generation_config);
    expect(creates.map((g) => 'seed' in g)).toEqual([true, false]);
    const mark = fake.requests.length;
    expect(await submitFails(a, omniJob({ seconds: 12 }))).toMatchObject({ code: 'upstream_rejected', fault: 'request', message: expect.stringContaining('duration') });
    expect(posts(since(mark), '/v1beta/interactions')).toHaveLength(1);
  });

  it('Interactions errors with string codes: 429 throttled, 503 transient', async () => {
    const a = adapterFor();
    fake.script.submit.push({ status: 429, message: 'Too many requests.', retryAfter: '3' });
    expect(await submitFails(a, omniJob())).toMatchObject({ fault: 'throttled', retryAfterMs: 3000 });
    fake.script.poll.push({ status: 503, message: 'Service unavailable.' });
    expect(seen(await a.poll('interactions/v1_x', never))).toMatchObject({ failure: { fault: 'transient' } });
  });
});

describe('check()', () => {
  it('pages through the model list: live Veo with predictLongRunning ok, retired/unserved not, Omni listed', async () => {
    const a = adapterFor();
    const before = fake.requests.length;
    const check: ChannelCheck = await a.check([LIVE_VEO, 'veo-3.1-generate-preview', 'veo-3.1-fast-generate-001', OMNI], never);
    messages.push(check.credentials.detail, ...check.models.map((m) => m.detail));
    expect(check.credentials.ok).toBe(true);
    expect(check.models.map((m) => [m.upstreamModel, m.ok])).toEqual([[LIVE_VEO, true], ['veo-3.1-generate-preview', false], ['veo-3.1-fast-generate-001', false], [OMNI, true]]);
    const lists = since(before).filter((r) => r.path.startsWith('/v1beta/models'));
    expect(lists.length).toBeGreaterThan(1);
    expect(lists.every((r) => r.method === 'GET' && r.headers['x-goog-api-key'] === KEY)).toBe(true);
    expect(lists.slice(1).every((r) => new URL(r.path, 'http://x').searchParams.has('pageToken'))).toBe(true);
    expect(since(before).some((r) => r.method === 'POST')).toBe(false);
  });

  it('a Veo id listed without predictLongRunning is not ok', async () => {
    const other = await startGeminiFake(KEY, { extraModels: [{ id: 'veo-9-test', methods: ['generateContent'] }] });
    try {
      const a = geminiAdapter({ apiKey: KEY, baseUrl: other.baseUrl, requestTimeoutMs: 5000, download: { maxBytes: 1e6, timeoutMs: 5000 }, policy: { allowPrivate: false } });
      const check = await a.check(['veo-9-test'], never);
      expect(check.models).toEqual([{ upstreamModel: 'veo-9-test', ok: false, detail: expect.stringContaining('without predictLongRunning') }]);
    } finally {
      await other.close();
    }
  });
});
