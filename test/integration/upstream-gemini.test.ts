// The Gemini API channel end to end, through Reelay's server, against the
// strict fake: gemini-omni-1.1-flash over the Interactions API (what is live,
// UPSTREAM.md §0, §1.3), and Veo over predictLongRunning on a channel that
// maps a public name to a Veo id explicitly (§1.1; none is live by default).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.ts';
import { probeBytes } from '../helpers/ffprobe.ts';
import { OMNI, startGeminiFake, type GeminiFake } from '../fakes/gemini.ts';
import type { Recorded } from '../fakes/http-fake.ts';
import { expectFailedAndRefunded, runTask, submit } from '../helpers/upstream.ts';

const KEY = 'AIza-test-gemini-key-0123456789';
const ADMIN = 'admin-token-gemini-0123456789';
const TASK = { model: OMNI, seconds: 4 };
/** Stands in for a Veo id live again on the Gemini API [U]; the fake serves only the ids a test names. */
const LIVE_VEO = 'veo-3.1-fast-generate-001';
let fake: GeminiFake;
let s: TestServer;
// Transient failures provoked on purpose below must not rest the shared channel for the next test.
const env = () => ({
  GEMINI_API_KEY: KEY, GEMINI_BASE_URL: fake.baseUrl, REELAY_UPSTREAM_POLL_MS: '20', REELAY_UPSTREAM_TIMEOUT_MS: '400',
  REELAY_UPSTREAM_MAX_POLL_FAILURES: '3', REELAY_CHANNEL_FAILURES_TO_REST: '1000', REELAY_CHANNEL_REST_MS: '100',
});
const creates = (f: GeminiFake, from = 0) => f.requests.slice(from).filter((r) => r.method === 'POST' && r.path === '/v1beta/interactions');
const isPng = (b64: unknown) => typeof b64 === 'string' && Buffer.from(b64, 'base64').subarray(0, 4).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47]));

beforeAll(async () => {
  fake = await startGeminiFake(KEY);
  s = await startServer(env());
});
afterAll(async () => {
  await s?.close();
  await fake?.close();
});

/** The created interaction's body, with its image and text parts. */
function interactionBody(r: Recorded) {
  const body = r.body as { input: Record<string, unknown>[]; [k: string]: unknown };
  return { body, image: body.input.find((p) => p.type === 'image'), text: body.input.find((p) => p.type === 'text') };
}

describe('Gemini Omni over the Interactions API', () => {
  it('create → poll → completed → download → re-hosted under Reelay\'s own URL', async () => {
    fake.interactions.outcome = 'ok';
    const before = fake.requests.length;
    const t = await runTask(s, { ...TASK, size: '720p', negative_prompt: 'blur' });
    expect(t.status).toBe('succeeded');
    expect(t.provider).toBe('gemini');
    expect(t.metadata).toMatchObject({ provider: 'gemini', channel: 'gemini', upstream_model: OMNI, upstream: { provider: 'gemini' }, width: 320, height: 180 });
    expect(t.metadata!.upstream!.id).toMatch(/^interactions\/v1_[A-Za-z0-9_-]+$/);
    expect(t.url!.startsWith(s.base)).toBe(true);
    expect(JSON.stringify(t)).not.toContain(fake.origin);
    const video = await fetch(t.url!);
    expect(video.status).toBe(200);
    expect((await probeBytes(await video.arrayBuffer())).videoCodec).toBe('h264');

    const mine = fake.requests.slice(before);
    const [create] = creates(fake, before);
    expect(create!.headers['x-goog-api-key']).toBe(KEY);
    expect(create!.headers['content-type']).toBe('application/json');
    const { body, image, text } = interactionBody(create!);
    expect(body).toMatchObject({
      model: OMNI, background: true,
      response_format: { type: 'video', aspect_ratio: '16:9', resolution: '720p', duration: '4s' },
    });
    // A protobuf Duration string, never a number; the image as an Interactions part, not a Veo image object.
    expect(Object.keys(image!).sort()).toEqual(['data', 'mime_type', 'type']);
    expect(image!.mime_type).toBe('image/png');
    expect(isPng(image!.data)).toBe(true);
    // No negative-prompt field exists here: the user's words still reach the model.
    expect(text!.text).toContain('a slow push in');
    expect(text!.text).toContain('blur');
    const id = t.metadata!.upstream!.id.slice('interactions/'.length);
    expect(mine.filter((r) => r.method === 'GET' && r.path === `/v1beta/interactions/${id}`).length).toBeGreaterThanOrEqual(3);
    // The download went to the file URI with the key, then followed the redirect.
    expect(mine.some((r) => /^\/v1beta\/files\/[a-z0-9]+:download\?alt=media$/.test(r.path) && r.headers['x-goog-api-key'] === KEY)).toBe(true);
    expect(mine.some((r) => r.path.startsWith('/blob/'))).toBe(true);

    // This channel serves no Veo name by default: Veo stays with the local renderer.
    const models = ((await (await s.api('/v1/models')).json()) as { data: { id: string; providers: string[] }[] }).data;
    expect(models.find((m) => m.id === OMNI)?.providers).toEqual(['gemini']);
    expect(models.find((m) => m.id === 'veo-3.0-fast-generate-001')?.providers).toEqual(['local']);
  });

  it('accepts an inline video (base64 data) in the completed interaction', async () => {
    fake.interactions.outcome = 'inline';
    const downloads = fake.downloads;
    const t = await runTask(s, TASK);
    fake.interactions.outcome = 'ok';
    expect(t.status).toBe('succeeded');
    expect(t.metadata?.provider).toBe('gemini');
    expect(fake.downloads).toBe(downloads);
  });

  it('400 at create → failed upstream_rejected with the upstream message, refunded', async () => {
    fake.script.submit.push({ status: 400, message: 'The prompt contains words that violate policy.' });
    const t = await runTask(s, TASK);
    expectFailedAndRefunded(t, 'upstream_rejected');
    expect(t.error!.message).toContain('The prompt contains words that violate policy.');
  });

  it('a text-only completion (a safety refusal) → content_filtered, refunded', async () => {
    fake.interactions.outcome = 'refusal';
    const t = await runTask(s, TASK);
    fake.interactions.outcome = 'ok';
    expectFailedAndRefunded(t, 'content_filtered');
    expect(t.error!.message).toContain('against our policy');
  });

  it('a failed interaction → upstream_rejected', async () => {
    fake.interactions.outcome = 'failed';
    const t = await runTask(s, TASK);
    fake.interactions.outcome = 'ok';
    expectFailedAndRefunded(t, 'upstream_rejected');
    expect(t.error!.message).toContain('The input image could not be processed.');
  });

  it('429 at create with no other upstream → upstream_unavailable', async () => {
    fake.script.submit.push({ status: 429, message: 'Resource has been exhausted (e.g. check quota).' });
    const t = await runTask(s, TASK);
    expectFailedAndRefunded(t, 'upstream_unavailable');
  });

  it('malformed JSON on every poll → retried up to the limit, then upstream_invalid_response', async () => {
    fake.script.poll.push('malformed', 'malformed', 'malformed');
    const t = await runTask(s, TASK);
    expectFailedAndRefunded(t, 'upstream_invalid_response');
    expect(fake.script.poll).toHaveLength(0);
  });

  it('a hanging create is bounded by the request timeout', async () => {
    fake.script.submit.push('hang');
    const t = await runTask(s, TASK);
    expectFailedAndRefunded(t, 'upstream_unavailable');
    expect(t.error!.message).toMatch(/did not answer within 0\.4 s/);
  });

  it('a poll that keeps hanging ends the task as upstream_timeout', async () => {
    fake.script.poll.push('hang', 'hang', 'hang');
    const t = await runTask(s, TASK);
    expectFailedAndRefunded(t, 'upstream_timeout');
  });
});

describe('a Gemini key the service refuses (400 API_KEY_INVALID)', () => {
  it('fails the task upstream_unavailable as the service\'s problem, rests the channel, and the next task makes no call', async () => {
    // Its own server: the channel rests for the default 30 s, which no other test should inherit.
    const bad = await startServer({ GEMINI_API_KEY: 'AIza-wrong-key-should-never-leak', GEMINI_BASE_URL: fake.baseUrl, REELAY_ADMIN_TOKEN: ADMIN, REELAY_UPSTREAM_POLL_MS: '20' });
    try {
      const before = fake.requests.length;
      const t = await runTask(bad, TASK);
      expectFailedAndRefunded(t, 'upstream_unavailable');
      expect(t.error!.message).toMatch(/problem with the service, not with your request/);
      expect(creates(fake, before)).toHaveLength(1);
      expect(JSON.stringify(t)).not.toContain('AIza-wrong-key');

      const admin = await fetch(`${bad.base}/v1/admin/channels`, { headers: { authorization: `Bearer ${ADMIN}` } });
      expect(admin.status).toBe(200);
      const text = await admin.text();
      expect(text).not.toContain('AIza-wrong-key');
      const gemini = (JSON.parse(text) as { data: { name: string; state: string; rest_until: string | null; last_error: { code: string } | null }[] }).data
        .find((c) => c.name === 'gemini');
      expect(gemini).toMatchObject({ state: 'resting', last_error: { code: 'upstream_auth' } });
      expect(Date.parse(gemini!.rest_until!)).toBeGreaterThan(Date.now());

      const calls = fake.requests.length;
      const next = await runTask(bad, TASK);
      expectFailedAndRefunded(next, 'upstream_unavailable');
      expect(next.error!.message).toMatch(/gemini is resting until/);
      expect(fake.requests.length).toBe(calls);
      const models = await (await bad.api('/v1/models')).text();
      expect(models).not.toContain('AIza-wrong-key');
    } finally {
      await bad.close();
    }
  });
});

describe('Veo over predictLongRunning on a channel that maps it explicitly', () => {
  let veo: GeminiFake;
  let v: TestServer;
  beforeAll(async () => {
    veo = await startGeminiFake(KEY, { liveVeo: [LIVE_VEO] });
    v = await startServer({
      REELAY_UPSTREAM_POLL_MS: '20', REELAY_UPSTREAM_TIMEOUT_MS: '2000',
      REELAY_UPSTREAM_CHANNELS: JSON.stringify([{ name: 'gemini-veo', provider: 'gemini', apiKey: KEY, baseUrl: veo.baseUrl, models: { 'veo-3.0-fast-generate-001': LIVE_VEO } }]),
    });
  });
  afterAll(async () => {
    await v?.close();
    await veo?.close();
  });
  const VEO = { model: 'veo-3.0-fast-generate-001', seconds: 4 };

  it('submit → operation → done → download, calling the mapped id with the only image spelling the service takes', async () => {
    const t = await runTask(v, { ...VEO, size: '720p', negative_prompt: 'blur' });
    expect(t.status).toBe('succeeded');
    expect(t.metadata).toMatchObject({ provider: 'gemini', channel: 'gemini-veo', upstream_model: LIVE_VEO });
    expect(t.metadata!.upstream!.id).toMatch(/^models\/veo-3\.1-fast-generate-001\/operations\/[a-z0-9]+$/);
    const create = veo.requests.find((r) => r.path.endsWith(':predictLongRunning'))!;
    expect(create.path).toBe(`/v1beta/models/${LIVE_VEO}:predictLongRunning`);
    expect(create.headers['x-goog-api-key']).toBe(KEY);
    expect(create.body).toMatchObject({
      instances: [{ prompt: 'a slow push in', image: { mimeType: 'image/png' } }],
      parameters: { aspectRatio: '16:9', durationSeconds: 4, resolution: '720p', negativePrompt: 'blur', personGeneration: 'allow_adult' },
    });
    const body = create.body as { instances: { image: Record<string, unknown> }[]; parameters: Record<string, unknown> };
    expect(isPng(body.instances[0]!.image.bytesBase64Encoded)).toBe(true);
    expect(body.instances[0]!.image).not.toHaveProperty('inlineData');
    expect(body.parameters).not.toHaveProperty('generateAudio');
    expect(body.parameters).not.toHaveProperty('seed');
    expect(veo.requests.filter((r) => r.method === 'GET' && r.path === `/v1beta/${t.metadata!.upstream!.id}`).length).toBeGreaterThanOrEqual(3);
    expect(veo.requests.some((r) => /^\/v1beta\/files\/[a-z0-9]+:download\?alt=media$/.test(r.path) && r.headers['x-goog-api-key'] === KEY)).toBe(true);
  });

  it('accepts an inline encodedVideo result', async () => {
    veo.outcome = 'encoded';
    const t = await runTask(v, VEO);
    veo.outcome = 'ok';
    expect(t.status).toBe('succeeded');
  });

  it('a safety-filtered operation → content_filtered; a failed one → upstream_rejected; both refunded', async () => {
    veo.outcome = 'filtered';
    const filtered = await runTask(v, VEO);
    veo.outcome = 'failed';
    const failed = await runTask(v, VEO);
    veo.outcome = 'ok';
    expectFailedAndRefunded(filtered, 'content_filtered');
    expectFailedAndRefunded(failed, 'upstream_rejected');
    expect(failed.error!.message).toContain('The prompt could not be processed.');
  });

  it('only the mapped name goes to this channel: Omni is not served by it', async () => {
    const id = await submit(v, TASK);
    const row = await v.app.store.tasks.find(id);
    expect(row?.provider).toBe('local');
    await v.api(`/v1/video/generations/${id}/cancel`, { method: 'POST' });
  });
});
