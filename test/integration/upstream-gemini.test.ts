import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.ts';
import { probeBytes } from '../helpers/ffprobe.ts';
import { startGeminiFake, type GeminiFake } from '../fakes/gemini.ts';
import { expectFailedAndRefunded, runTask } from '../helpers/upstream.ts';

const KEY = 'AIza-test-gemini-key-0123456789';
let fake: GeminiFake;
let s: TestServer;
const env = () => ({ GEMINI_API_KEY: KEY, GEMINI_BASE_URL: fake.baseUrl, REELAY_UPSTREAM_POLL_MS: '20', REELAY_UPSTREAM_TIMEOUT_MS: '400', REELAY_UPSTREAM_MAX_POLL_FAILURES: '3' });

beforeAll(async () => {
  fake = await startGeminiFake(KEY);
  s = await startServer(env());
});
afterAll(async () => {
  await s?.close();
  await fake?.close();
});

describe('Gemini API adapter against the strict fake', () => {
  it('submit → operation → done → download → re-hosted under Reelay\'s own URL', async () => {
    fake.outcome = 'ok';
    const before = fake.requests.length;
    const t = await runTask(s, { model: 'veo-3.0-fast-generate-001', seconds: 4, size: '720p', negative_prompt: 'blur' });
    expect(t.status).toBe('succeeded');
    expect(t.provider).toBe('gemini');
    expect(t.metadata).toMatchObject({ provider: 'gemini', upstream: { provider: 'gemini' }, width: 320, height: 180 });
    expect(t.metadata!.upstream!.id).toMatch(/^models\/veo-3\.0-fast-generate-001\/operations\/[a-z0-9]+$/);
    expect(t.url!.startsWith(s.base)).toBe(true);
    expect(JSON.stringify(t)).not.toContain(fake.origin);
    const video = await fetch(t.url!);
    expect(video.status).toBe(200);
    expect((await probeBytes(await video.arrayBuffer())).videoCodec).toBe('h264');

    const mine = fake.requests.slice(before);
    const create = mine.find((r) => r.path.endsWith(':predictLongRunning'))!;
    expect(create.headers['x-goog-api-key']).toBe(KEY);
    expect(create.headers['content-type']).toBe('application/json');
    expect(create.body).toMatchObject({
      instances: [{ prompt: 'a slow push in', image: { inlineData: { mimeType: 'image/png' } } }],
      parameters: { aspectRatio: '16:9', durationSeconds: 4, resolution: '720p', negativePrompt: 'blur', personGeneration: 'allow_adult' },
    });
    expect((create.body as { parameters: Record<string, unknown> }).parameters).not.toHaveProperty('generateAudio');
    const polls = mine.filter((r) => r.method === 'GET' && r.path.startsWith('/v1beta/models/'));
    expect(polls.length).toBeGreaterThanOrEqual(3);
    // The download went to the file URI with the key, then followed the redirect.
    expect(mine.some((r) => /^\/v1beta\/files\/[a-z0-9]+:download\?alt=media$/.test(r.path) && r.headers['x-goog-api-key'] === KEY)).toBe(true);
    expect(mine.some((r) => r.path.startsWith('/blob/'))).toBe(true);
  });

  it('accepts an inline encodedVideo result', async () => {
    fake.outcome = 'encoded';
    const t = await runTask(s, { model: 'veo-2.0-generate-001', seconds: 5 });
    fake.outcome = 'ok';
    expect(t.status).toBe('succeeded');
    expect(t.metadata?.provider).toBe('gemini');
  });

  it('400 at submit → failed upstream_rejected with the upstream message, refunded', async () => {
    fake.script.submit.push({ status: 400, message: 'The prompt contains words that violate policy.' });
    const t = await runTask(s, { model: 'veo-3.0-generate-001', seconds: 4 });
    expectFailedAndRefunded(t, 'upstream_rejected');
    expect(t.error!.message).toContain('The prompt contains words that violate policy.');
  });

  it('a safety-filtered result → content_filtered, refunded', async () => {
    fake.outcome = 'filtered';
    const t = await runTask(s, { model: 'veo-3.0-generate-001', seconds: 4 });
    fake.outcome = 'ok';
    expectFailedAndRefunded(t, 'content_filtered');
  });

  it('a failed operation → upstream_rejected', async () => {
    fake.outcome = 'failed';
    const t = await runTask(s, { model: 'veo-3.0-generate-001', seconds: 4 });
    fake.outcome = 'ok';
    expectFailedAndRefunded(t, 'upstream_rejected');
    expect(t.error!.message).toContain('The prompt could not be processed.');
  });

  it('429 at submit with no other upstream → upstream_unavailable', async () => {
    fake.script.submit.push({ status: 429, message: 'Resource has been exhausted (e.g. check quota).' });
    const t = await runTask(s, { model: 'veo-3.0-generate-001', seconds: 4 });
    expectFailedAndRefunded(t, 'upstream_unavailable');
  });

  it('malformed JSON while polling → upstream_invalid_response', async () => {
    fake.script.poll.push('malformed');
    const t = await runTask(s, { model: 'veo-3.0-generate-001', seconds: 4 });
    expectFailedAndRefunded(t, 'upstream_invalid_response');
  });

  it('a hanging submit is bounded by the request timeout', async () => {
    fake.script.submit.push('hang');
    const started = Date.now();
    const t = await runTask(s, { model: 'veo-3.0-generate-001', seconds: 4 });
    expectFailedAndRefunded(t, 'upstream_unavailable');
    expect(t.error!.message).toMatch(/did not answer within 0\.4 s/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a poll that keeps hanging ends the task as upstream_timeout', async () => {
    fake.script.poll.push('hang', 'hang', 'hang');
    const t = await runTask(s, { model: 'veo-3.0-generate-001', seconds: 4 });
    expectFailedAndRefunded(t, 'upstream_timeout');
  });

  it('a wrong key → upstream_auth, and the key appears nowhere', async () => {
    const bad = await startServer({ ...env(), GEMINI_API_KEY: 'AIza-wrong-key-should-never-leak' });
    try {
      const t = await runTask(bad, { model: 'veo-3.0-generate-001', seconds: 4 });
      expectFailedAndRefunded(t, 'upstream_auth');
      expect(JSON.stringify(t)).not.toContain('AIza-wrong-key');
      const models = await (await bad.api('/v1/models')).text();
      expect(models).not.toContain('AIza-wrong-key');
    } finally {
      await bad.close();
    }
  });
});
