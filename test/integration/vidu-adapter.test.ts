import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/domain/catalog.ts';
import type { UpstreamFailure } from '../../src/domain/failures.ts';
import type { PollOutcome, UpstreamAdapter, UpstreamJob } from '../../src/providers/upstream/upstream-provider.ts';
import { viduAdapter } from '../../src/providers/vidu/vidu-adapter.ts';
import { sampleMp4 } from '../fakes/http-fake.ts';
import { startViduFake, VIDU_MAX_BODY, type ViduFake } from '../fakes/vidu.ts';
import { makeImage } from '../helpers/images.ts';

const KEY = 'vda_adapter_key_0123456789abcdef';
const catalog = loadCatalog();
let fake: ViduFake;
let vidu: UpstreamAdapter;
let dir: string;
let photo: Buffer;
/** Every failure message the adapter returned: none may carry the key. */
const messages: string[] = [];

const adapter = (apiKey = KEY, callbackUrl?: (id: string) => string) => viduAdapter({
  apiKey, baseUrl: fake.baseUrl, requestTimeoutMs: 1500, download: { maxBytes: 50 * 1024 * 1024, timeoutMs: 5000 },
  policy: { allowPrivate: true }, ...(callbackUrl ? { callbackUrl } : {}),
});
const signal = () => new AbortController().signal;

function job(extra: Partial<UpstreamJob> = {}): UpstreamJob {
  return {
    taskId: 'vid_test', model: catalog.find('viduq2-turbo')!, upstreamModel: 'viduq2-turbo', prompt: 'a slow push in', negativePrompt: null,
    aspectRatio: '16:9', seconds: 4, width: 1280, height: 720, fps: 24, seed: 3_000_000_000, generateAudio: true, images: [photo],
    options: {}, ...extra,
  };
}
async function submitted(j = job(), a = vidu): Promise<string> {
  const r = await a.submit(j, signal());
  if (!r.ok) throw new Error(r.failure.message);
  return r.id;
}
async function refused(j = job(), a = vidu): Promise<UpstreamFailure> {
  const r = await a.submit(j, signal());
  if (r.ok) throw new Error('expected a refusal');
  messages.push(r.failure.message);
  return r.failure;
}
async function polled(id: string, a = vidu): Promise<PollOutcome> {
  const p = await a.poll(id, signal());
  if (p.state === 'failed') messages.push(p.failure.message);
  return p;
}
const states = async (id: string, n: number) => { const out: string[] = []; for (let i = 0; i < n; i++) out.push((await polled(id)).state); return out; };

beforeAll(async () => {
  fake = await startViduFake(KEY);
  vidu = adapter();
  dir = mkdtempSync(join(tmpdir(), 'vidu-adapter-'));
  photo = await makeImage(800, 450);
});
afterEach(() => {
  Object.assign(fake, { outcome: 'ok', failCode: 'ImageObjectsUndetected', accountCredits: null, unavailableModels: [] });
  fake.script = { submit: [], poll: [], cancel: [], pollState: [] };
});
afterAll(async () => {
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
  for (const m of messages) expect(m).not.toContain(KEY);
});

describe('Vidu adapter against the strict fake', () => {
  it('submits img2video, polls through the running states, downloads the creation', async () => {
    const cb = adapter(KEY, (t) => `https://reelay.example/v1/upstream/vidu/callback?task=${t}&channel=vidu`);
    const id = await submitted(job({ model: { ...catalog.find('viduq2-turbo')!, id: 'public-name' }, upstreamModel: 'viduq2-turbo', options: { audio_type: 'speech_only' } }), cb);
    const sent = fake.created.at(-1)!;
    expect(sent.id).toBe(id);
    expect(sent.body).toMatchObject({
      model: 'viduq2-turbo', prompt: 'a slow push in', duration: 4, resolution: '720p', seed: 3_000_000_000 % 2 ** 31, audio: true, audio_type: 'speech_only',
      callback_url: 'https://reelay.example/v1/upstream/vidu/callback?task=vid_test&channel=vidu',
    });
    expect(sent.body).not.toHaveProperty('off_peak');
    expect(JSON.stringify(sent.body)).not.toContain('public-name');
    expect(sent.image).toEqual({ format: 'png', width: 800, height: 450 });
    const auth = fake.requests.find((r) => r.path === '/ent/v2/img2video')!.headers.authorization;
    expect(auth).toBe(`Token ${KEY}`);
    expect(await states(id, 2)).toEqual(['running', 'running']);
    const done = await polled(id);
    if (done.state !== 'done' || done.video.kind !== 'url') throw new Error(`not done: ${JSON.stringify(done)}`);
    const path = join(dir, 'out.mp4');
    expect(await vidu.download(done.video.url, path, signal())).toEqual({ ok: true });
    expect(readFileSync(path).equals(sampleMp4())).toBe(true);
  });

  it('crops the start image to the task\'s aspect; 2K on viduq4-preview; off_peak asks for Vidu\'s own off-peak', async () => {
    const id = await submitted(job({ upstreamModel: 'viduq4-preview', aspectRatio: '1:1', width: 1440, height: 1440, seconds: 3, offPeak: true }));
    expect(fake.created.at(-1)!.body).toMatchObject({ model: 'viduq4-preview', resolution: '2K', duration: 3, off_peak: true });
    expect(fake.created.at(-1)!.image).toMatchObject({ width: 450, height: 450 });
    // Off-peak: scheduled first, then queueing/processing; all of it is "running", then done.
    expect(await states(id, 4)).toEqual(['running', 'running', 'running', 'running']);
    expect((await polled(id)).state).toBe('done');
    expect(fake.answered.filter((a) => a.id === id).map((a) => a.state)).toEqual(['scheduled', 'scheduled', 'queueing', 'processing', 'success']);
  });

  it('scheduled and states Vidu may add later keep the job running, never failed', async () => {
    const id = await submitted(job({ offPeak: true }));
    fake.script.pollState.push('scheduled', 'reviewing', 'created', 'queueing', 'processing');
    expect(await states(id, 5)).toEqual(['running', 'running', 'running', 'running', 'running']);
    expect(fake.answered.filter((a) => a.id === id).map((a) => a.state)).toEqual(['scheduled', 'reviewing', 'created', 'queueing', 'processing']);
  });

  it('a body over 20 MB is never sent: a noise image is re-encoded until Vidu takes it', async () => {
    const [w, h] = [3200, 1800];
    const big = await sharp(randomBytes(w * h * 3), { raw: { width: w, height: h, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer();
    expect(Math.ceil(big.length / 3) * 4).toBeGreaterThan(VIDU_MAX_BODY);
    // The fake refuses what Vidu refuses: the image as it stands.
    const raw = await fetch(`${fake.baseUrl}/img2video`, {
      method: 'POST', headers: { authorization: `Token ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'viduq2-turbo', images: [`data:image/png;base64,${big.toString('base64')}`] }),
    });
    expect(raw.status).toBe(413);
    const id = await submitted(job({ upstreamModel: 'viduq2-turbo', width: 1920, height: 1080, images: [big] }));
    const sent = fake.created.at(-1)!;
    expect(sent.id).toBe(id);
    expect(sent.bytes).toBeLessThan(VIDU_MAX_BODY);
    expect(sent.image.format).toBe('jpeg');
    expect(Math.abs(sent.image.width / sent.image.height - 16 / 9)).toBeLessThan(0.01);
  });

  it('moderation → content_filtered, at submit and on the finished task', async () => {
    fake.script.submit.push({ status: 400, reason: 'TaskPromptPolicyViolation', message: 'prompt violates policy' }, { status: 400, reason: 'AuditSubmitIllegal', message: 'image illegal' });
    expect(await refused()).toMatchObject({ code: 'content_filtered', fault: 'content', message: expect.stringContaining('prompt violates policy') });
    expect(await refused()).toMatchObject({ code: 'content_filtered', fault: 'content' });
    Object.assign(fake, { outcome: 'failed', failCode: 'CreationPolicyViolation' });
    const id = await submitted();
    expect(await states(id, 2)).toEqual(['running', 'running']);
    expect(await polled(id)).toMatchObject({ state: 'failed', failure: { code: 'content_filtered', fault: 'content', message: expect.stringContaining('CreationPolicyViolation') } });
  });

  it('the account out of credits → channel fault upstream_quota; a refused key → upstream_auth, never quoting the key', async () => {
    fake.accountCredits = 1;
    expect(await refused()).toMatchObject({ code: 'upstream_quota', fault: 'channel', message: expect.stringContaining('CreditInsufficient') });
    fake.accountCredits = null;
    const stranger = adapter('vda_wrong_key_for_this_test');
    expect(await refused(job(), stranger)).toMatchObject({ code: 'upstream_auth', fault: 'channel', message: expect.stringContaining('HTTP 401') });
    fake.script.submit.push({ status: 403, reason: 'Forbidden', message: `token ${KEY} is disabled` });
    const f = await refused();
    expect(f).toMatchObject({ code: 'upstream_auth', fault: 'channel' });
    expect(f.message).toContain('[redacted]');
  });

  it('ModelUnavailable → model fault; a reference-only model on img2video → request fault quoting Vidu', async () => {
    fake.unavailableModels = ['viduq3-pro'];
    expect(await refused(job({ upstreamModel: 'viduq3-pro' }))).toMatchObject({ code: 'model_unavailable', fault: 'model' });
    Object.assign(fake, { outcome: 'failed', failCode: 'ModelUnavailable' });
    const id = await submitted();
    await states(id, 2);
    expect(await polled(id)).toMatchObject({ state: 'failed', failure: { code: 'model_unavailable', fault: 'model' } });
    expect(await refused(job({ upstreamModel: 'viduq3' }))).toMatchObject({
      code: 'upstream_rejected', fault: 'request', message: expect.stringContaining('FieldInvalid: model viduq3 does not support img2video'),
    });
  });

  it('429 → throttled with the Retry-After; 5xx and OperationInProcess → transient', async () => {
    fake.script.submit.push({ status: 429, reason: 'SystemThrottling', message: 'busy', retryAfter: '7' }, { status: 500 }, { status: 400, reason: 'OperationInProcess' });
    expect(await refused()).toMatchObject({ code: 'upstream_unavailable', fault: 'throttled', retryAfterMs: 7000 });
    expect(await refused()).toMatchObject({ fault: 'transient', message: expect.stringContaining('InternalServiceFailure') });
    expect(await refused()).toMatchObject({ code: 'upstream_unavailable', fault: 'transient' });
  });

  it('polling a task Vidu does not know → upstream_lost_job; a hung or garbled poll → transient', async () => {
    expect(await polled('4040404040404')).toMatchObject({ state: 'failed', failure: { code: 'upstream_lost_job', fault: 'transient', message: expect.stringContaining('TaskNotFound') } });
    const id = await submitted();
    fake.script.poll.push('malformed', 'hang');
    expect(await polled(id)).toMatchObject({ state: 'failed', failure: { fault: 'transient' } });
    expect(await polled(id)).toMatchObject({ state: 'failed', failure: { code: 'upstream_timeout', fault: 'transient' } });
    expect((await polled(id)).state).toBe('running');
  });

  it('a field Vidu refuses → request fault with its message; no start image → refused before any call', async () => {
    fake.script.submit.push({ status: 400, reason: 'FieldInvalid', message: 'duration is invalid' });
    expect(await refused()).toMatchObject({ code: 'upstream_rejected', fault: 'request', message: expect.stringContaining('FieldInvalid: duration is invalid') });
    const before = fake.requests.length;
    expect(await refused(job({ images: [] }))).toMatchObject({ code: 'upstream_rejected', fault: 'request' });
    expect(fake.requests.length).toBe(before);
  });

  it('cancel: stops a running task; best effort (never throws) on a finished, scheduled, unknown or hung task', async () => {
    fake.outcome = 'never';
    const id = await submitted();
    await polled(id);
    await vidu.cancel!(id);
    expect(fake.cancelled).toContain(id);
    expect(fake.requests.at(-1)).toMatchObject({ path: `/ent/v2/tasks/${id}/cancel`, body: { id }, headers: { authorization: `Token ${KEY}` } });
    // Seen later (someone else's cancel, or ours racing a poll): the job is gone, not the request's fault.
    expect(await polled(id)).toMatchObject({ state: 'failed', failure: { code: 'upstream_lost_job', fault: 'transient', message: expect.stringContaining('UserCancelled') } });
    await expect(vidu.cancel!(id)).resolves.toBeUndefined();
    const scheduled = await submitted(job({ offPeak: true }));
    await polled(scheduled);
    await expect(vidu.cancel!(scheduled)).resolves.toBeUndefined();
    expect(fake.cancelled).not.toContain(scheduled);
    await expect(vidu.cancel!('999')).resolves.toBeUndefined();
    fake.script.cancel.push('hang');
    await expect(vidu.cancel!(id)).resolves.toBeUndefined();
  });

  it('an aborted signal throws; nothing is sent', async () => {
    const ac = new AbortController();
    ac.abort(new Error('shutdown'));
    const before = fake.requests.length;
    await expect(vidu.submit(job(), ac.signal)).rejects.toThrow('shutdown');
    await expect(vidu.poll('1', ac.signal)).rejects.toThrow('shutdown');
    expect(fake.requests.length).toBe(before);
  });

  it('check(): the key checked without generating; models reported as uncheckable', async () => {
    const before = fake.created.length;
    const good = await vidu.check(['viduq2-turbo', 'viduq4-preview'], signal());
    expect(good.credentials.ok).toBe(true);
    expect(good.models).toEqual(['viduq2-turbo', 'viduq4-preview'].map((upstreamModel) => ({ upstreamModel, ok: null, detail: expect.stringContaining('no way to check a model') })));
    const bad = await adapter('vda_wrong_key_for_this_test').check(['viduq2-turbo'], signal());
    expect(bad.credentials).toMatchObject({ ok: false, detail: expect.stringContaining('HTTP 401') });
    expect(bad.models[0]!.ok).toBeNull();
    fake.script.poll.push({ status: 503 });
    const down = await vidu.check(['viduq2-turbo'], signal());
    expect(down.credentials).toMatchObject({ ok: false, detail: expect.stringContaining('could not be checked') });
    expect(fake.created.length).toBe(before);
    messages.push(good.credentials.detail, bad.credentials.detail, down.credentials.detail);
  });
});
