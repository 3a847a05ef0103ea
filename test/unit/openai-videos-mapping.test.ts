import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { loadCatalog } from '../../src/domain/catalog.ts';
import { failure } from '../../src/domain/failures.ts';
import { rateBucket } from '../../src/infra/rate-bucket.ts';
import { serverErrorMessage, submitFailure } from '../../src/providers/openai-videos/errors.ts';
import { acceptRecord, readRecord } from '../../src/providers/openai-videos/job-record.ts';
import { createRequest } from '../../src/providers/openai-videos/request-mapping.ts';
import { createChannelHealth, type HealthRow } from '../../src/providers/upstream/channel-health.ts';
import { candidatesFor, submitWithFailover, type Channel } from '../../src/providers/upstream/channels.ts';
import { pollBeforeEnd, remainingFromProgress } from '../../src/providers/upstream/poll-schedule.ts';
import type { SubmitOutcome, UpstreamAdapter, UpstreamJob } from '../../src/providers/upstream/upstream-provider.ts';

const CATALOG = fileURLToPath(new URL('../../docs/examples/self-hosted-catalog.json', import.meta.url));
const CHANNELS = fileURLToPath(new URL('../../docs/examples/self-hosted-channels.json', import.meta.url));
const catalog = loadCatalog(JSON.parse(readFileSync(CATALOG, 'utf8')));
const wan = catalog.find('wan2.2-i2v-a14b')!;
const png = await sharp({ create: { width: 64, height: 36, channels: 3, background: '#468' } }).png().toBuffer();

const job = (o: Partial<UpstreamJob> = {}): UpstreamJob => ({
  taskId: 't', model: wan, prompt: 'a slow push in', negativePrompt: null, aspectRatio: '16:9', seconds: 5, width: 832, height: 480,
  fps: 24, seed: 1234, generateAudio: false, images: [png], options: {}, upstreamModel: 'Wan-AI/Wan2.2-I2V-A14B-Diffusers', userSeed: false, ...o,
});

describe('the example files', () => {
  it('the self-hosted catalog loads over the built-in one, and the example channels parse with it', () => {
    expect(catalog.find('wan2.2-ti2v-5b')!.providers).toEqual(['openai-videos']);
    expect(catalog.dimensions('480p', '9:16')).toEqual({ width: 480, height: 832 });
    expect(catalog.find('veo-3.1-generate-001')).toBeDefined();
    const c = loadConfig({ REELAY_CONFIG: CHANNELS });
    const [gpu1, gpu2, ltx, dynamo] = c.upstreams.channels;
    expect(gpu1).toMatchObject({ provider: 'openai-videos', dialect: 'vllm-omni', baseUrl: 'http://gpu-1:8091/v1', maxConcurrent: 1, pollMs: 500 });
    // A root URL without /v1 means the same server.
    expect(gpu2!.baseUrl).toBe('http://gpu-2:8091/v1');
    expect(ltx).toMatchObject({ dialect: 'sglang', apiKey: 'sk-local-ltx', models: { 'ltx-2': 'Lightricks/LTX-2' } });
    expect(dynamo).toMatchObject({ dialect: 'dynamo', maxConcurrent: 2, pollMs: 1000 });
  });
});

describe('channel config', () => {
  const parse = (ch: Record<string, unknown>) => loadConfig({ REELAY_UPSTREAM_CHANNELS: JSON.stringify([{ name: 'g', provider: 'openai-videos', dialect: 'vllm-omni', baseUrl: 'http://g:8000', models: ['wan2.2-i2v-a14b'], ...ch }]) });
  const problems = (ch: Record<string, unknown>) => {
    try { parse(ch); } catch (e) { return (e as ConfigError).problems.join('\n'); }
    return '';
  };

  it('refuses a knob the dialect does not take, one Reelay sets itself, a bad value and a missing map — naming the field, never the value', () => {
    expect(problems({ params: { 'wan2.2-i2v-a14b': { num_steps: 30 } } })).toContain('[0.params.wan2.2-i2v-a14b.num_steps]: vllm-omni takes no num_steps');
    expect(problems({ params: { 'wan2.2-i2v-a14b': { seconds: 8 } } })).toContain('seconds is set by Reelay');
    expect(problems({ params: { 'wan2.2-i2v-a14b': { num_inference_steps: 500 } } })).toContain('not a valid num_inference_steps');
    expect(problems({ models: undefined })).toContain('[0.models]');
    expect(problems({ dialect: 'comfy' })).toContain('[0.dialect]');
    expect(problems({ maxConcurrent: 0 })).toContain('[0.maxConcurrent]');
    expect(problems({ apiKey: 'sk-secret-123', dialect: 'nope' })).not.toContain('sk-secret-123');
    // SGLang allows unknown fields, so any knob name passes there.
    expect(problems({ dialect: 'sglang', params: { 'wan2.2-i2v-a14b': { sample_solver: 'unipc' } } })).toBe('');
    expect(problems({ dialect: 'dynamo', params: { 'wan2.2-i2v-a14b': { flow_shift: 3 } } })).toContain('dynamo takes no flow_shift');
  });
});

describe('create bodies per dialect (UPSTREAM.md §6.2)', () => {
  it('vLLM-Omni: multipart, seconds a string, the image the file input_reference, the channel\'s model name', () => {
    const r = createRequest('vllm-omni', job(), { num_inference_steps: 40, guidance_scale: 3.5, generate_sound: false }, png);
    expect(r.body.kind).toBe('multipart');
    if (r.body.kind !== 'multipart') return;
    expect(Object.fromEntries(r.body.fields)).toEqual({
      model: 'Wan-AI/Wan2.2-I2V-A14B-Diffusers', prompt: 'a slow push in', seconds: '5', size: '832x480', seed: '1234',
      num_inference_steps: '40', guidance_scale: '3.5', generate_sound: 'false',
    });
    expect(r.body.files.input_reference).toMatchObject({ filename: 'image.png', contentType: 'image/png', data: png });
  });

  it('SGLang: JSON, seconds an integer, the image a data: URI', () => {
    const r = createRequest('sglang', job({ seconds: 3 }), { num_inference_steps: 30 }, png);
    expect(r.body).toEqual({ kind: 'json', json: {
      model: 'Wan-AI/Wan2.2-I2V-A14B-Diffusers', prompt: 'a slow push in', size: '832x480', seconds: 3, seed: 1234, num_inference_steps: 30,
      input_reference: `data:image/png;base64,${png.toString('base64')}`,
    } });
  });

  it('Dynamo: JSON, no seconds but nvext.num_frames at the model\'s fps, response_format url', () => {
    const r = createRequest('dynamo', job(), { fps: 16, num_inference_steps: 40, guidance_scale_2: 3 }, png);
    expect(r.body.kind).toBe('json');
    const json = (r.body as { json: Record<string, unknown> }).json;
    expect(json).not.toHaveProperty('seconds');
    expect(json).toMatchObject({ model: 'Wan-AI/Wan2.2-I2V-A14B-Diffusers', size: '832x480', response_format: 'url',
      nvext: { num_frames: 80, fps: 16, seed: 1234, num_inference_steps: 40, guidance_scale_2: 3 } });
    expect(String(json.input_reference)).toMatch(/^data:image\/png;base64,/);
  });

  it('the operator\'s defaults fill what the request leaves open; the user\'s negative prompt and seed win', () => {
    const defaults = { negative_prompt: 'blurry', seed: 42 };
    const open = createRequest('sglang', job(), defaults, png);
    expect(open.seed).toBe(42);
    expect((open.body as { json: Record<string, unknown> }).json).toMatchObject({ negative_prompt: 'blurry', seed: 42 });
    const given = createRequest('sglang', job({ negativePrompt: 'text, watermark', seed: 7, userSeed: true }), defaults, png);
    expect(given.seed).toBe(7);
    expect((given.body as { json: Record<string, unknown> }).json).toMatchObject({ negative_prompt: 'text, watermark', seed: 7 });
  });
});

describe('job records and errors', () => {
  const ctx = { label: 'vLLM-Omni', base: 'http://g:8000/v1', secrets: ['sk-1'] };

  it('running with the progress the server reports; completed → /content; failed → final, quoted; deleted → lost', () => {
    expect(readRecord({ status: 'in_progress', progress: 37.4 }, 'v1', ctx)).toEqual({ state: 'running', progress: 37 });
    // SGLang: queued until done, no progress field worth reading.
    expect(readRecord({ status: 'queued' }, 'v1', ctx)).toEqual({ state: 'running' });
    expect(readRecord({ status: 'completed' }, 'v/1', ctx)).toEqual({ state: 'done', video: { kind: 'url', url: 'http://g:8000/v1/videos/v%2F1/content' } });
    expect(readRecord({ status: 'failed', error: { code: 'x', message: 'CUDA out of memory (key sk-1)' } }, 'v1', ctx)).toEqual({ state: 'failed',
      failure: { code: 'upstream_rejected', fault: 'request', message: 'vLLM-Omni failed the job: CUDA out of memory (key [redacted]).' } });
    expect(readRecord({ status: 'deleted' }, 'v1', ctx)).toMatchObject({ state: 'failed', failure: { code: 'upstream_lost_job' } });
    expect(readRecord({ progress: 3 }, 'v1', ctx)).toMatchObject({ state: 'failed', failure: { code: 'upstream_invalid_response' } });
  });

  it('a create answered as already done (Dynamo) carries its URL in the id; a server-local file URL is refused, saying what to fix', () => {
    expect(acceptRecord({ id: 'j1', status: 'queued' }, ctx)).toEqual({ ok: true, id: 'j1' });
    expect(acceptRecord({ id: 'j1', status: 'completed', data: [{ url: 'http://g:8080/media/j1.mp4', output_format: 'mp4' }] }, ctx))
      .toEqual({ ok: true, id: 'done:http://g:8080/media/j1.mp4' });
    expect(acceptRecord({ id: 'j1', status: 'completed', data: [{ url: 'file:///tmp/dynamo_media/j1.mp4' }] }, ctx))
      .toMatchObject({ ok: false, failure: { fault: 'request', message: expect.stringContaining('file URL Reelay cannot fetch') } });
    expect(acceptRecord({ id: '../etc', status: 'queued' }, ctx)).toMatchObject({ ok: false, failure: { code: 'upstream_invalid_response' } });
    expect(acceptRecord({ id: 'j2', status: 'failed', error: 'no GPU memory' }, ctx)).toMatchObject({ ok: false, failure: { message: 'vLLM-Omni failed the job: no GPU memory.' } });
  });

  it('reads each server\'s error shape; a 503 at create is busy (a throttle, not a failure)', () => {
    expect(serverErrorMessage({ error: { message: 'bad seconds', type: 'BadRequestError' } })).toBe('bad seconds');
    expect(serverErrorMessage({ detail: 'Generation is still in-progress' })).toBe('Generation is still in-progress');
    expect(serverErrorMessage({ detail: [{ loc: ['body', 'prompt'], msg: 'Field required' }] })).toBe('body.prompt: Field required');
    expect(serverErrorMessage({ message: 'Model not found', code: 404 })).toBe('Model not found');
    expect(submitFailure({ ok: false, status: 503, body: {}, detail: 'busy' }, 'SGLang Diffusion')).toMatchObject({ fault: 'throttled' });
    expect(submitFailure({ ok: false, status: 422, body: {}, detail: 'seconds: bad' }, 'SGLang Diffusion')).toMatchObject({ code: 'upstream_rejected', fault: 'request' });
  });
});

describe('polling a local server just after its job should end', () => {
  it('uses the progress rate, never polls later than the interval nor sooner than 20 ms', () => {
    expect(remainingFromProgress(3000, 50)).toBe(3000);
    expect(remainingFromProgress(3000, 2)).toBeUndefined();
    expect(pollBeforeEnd(500, 3000)).toBe(500);
    expect(pollBeforeEnd(500, 120)).toBe(135);
    expect(pollBeforeEnd(500, 0)).toBe(20);
    expect(pollBeforeEnd(500, undefined)).toBe(500);
  });
});

describe('dispatch to slot-limited servers', () => {
  const signal = new AbortController().signal;
  const adapter = (submit: () => Promise<SubmitOutcome>): UpstreamAdapter & { calls: number } => {
    const a = {
      name: 'openai-videos' as const, calls: 0,
      async submit() { a.calls++; return submit(); },
      async poll() { return { state: 'running' as const }; },
      async download() { return { ok: true as const }; },
      async check() { return { credentials: { ok: true, detail: '' }, models: [] }; },
    };
    return a;
  };
  const server = (name: string, submit: () => Promise<SubmitOutcome> = async () => ({ ok: true, id: `${name}-job` })): Channel & { adapter: ReturnType<typeof adapter> } => ({
    name, provider: 'openai-videos', priority: 0, weight: 1, rate: rateBucket(1000, 1000), adapter: adapter(submit), slots: 1,
    models: new Map([['wan2.2-i2v-a14b', null]]), timing: { pollMs: 500, maxIntervalMs: 500 },
  });
  const health = () => {
    const rows = new Map<string, HealthRow>();
    return createChannelHealth({ all: async () => [...rows.values()], save: async (r) => { rows.set(`${r.channel}|${r.upstream_model}`, r); } },
      { restMs: 30_000, restMaxMs: 600_000, failuresToRest: 3 }, () => 1_000_000, 0);
  };
  const { upstreamModel: _u, ...base } = job();

  it('a full server is skipped without a call; all full → the task waits (no failure counted), naming the full ones', async () => {
    const a = server('a');
    const b = server('b');
    const full = new Set(['a']);
    const r1 = await submitWithFailover(candidatesFor([a, b], wan, catalog), base, signal, health(), { reserve: async (c) => !full.has(c.name) });
    expect(r1).toMatchObject({ ok: true, candidate: { channel: { name: 'b' } }, tried: ['a'] });
    expect(a.adapter.calls).toBe(0);
    full.add('b');
    const r2 = await submitWithFailover(candidatesFor([a, b], wan, catalog), base, signal, health(), { reserve: async (c) => !full.has(c.name) });
    expect(r2).toMatchObject({ ok: false, wait: { why: 'full', ms: 10_000, full: ['a', 'b'], upSince: null } });
  });

  it('a 503 (another client\'s job) waits for its Retry-After; a server that is down waits too (within a limit the worker applies)', async () => {
    const busy = server('busy', async () => ({ ok: false, failure: failure('upstream_unavailable', 'throttled', 'busy (HTTP 503)', 3000) }));
    const r = await submitWithFailover(candidatesFor([busy], wan, catalog), base, signal, health(), { reserve: async () => true });
    expect(r).toMatchObject({ ok: false, wait: { why: 'busy', ms: 3000, full: [] } });
    // The busy server's polls are not paused: its other jobs still need them.
    expect(busy.rate.waitMs()).toBe(0);
    const down = server('down', async () => ({ ok: false, failure: failure('upstream_unavailable', 'transient', 'could not be reached') }));
    expect(await submitWithFailover(candidatesFor([down], wan, catalog), base, signal, health(), { reserve: async () => true }))
      .toMatchObject({ ok: false, failure: { code: 'upstream_unavailable' }, wait: { why: 'down', ms: 2000 } });
    // An outage is timed from when its server last worked, so a task queued long before it is not failed at once.
    let up = true;
    const flaky = server('flaky', async () => (up ? { ok: true, id: 'j' } : { ok: false, failure: failure('upstream_unavailable', 'transient', 'refused') }));
    const h = health();
    expect((await submitWithFailover(candidatesFor([flaky], wan, catalog), base, signal, h, { reserve: async () => true })).ok).toBe(true);
    up = false;
    expect(await submitWithFailover(candidatesFor([flaky], wan, catalog), base, signal, h, { reserve: async () => true }))
      .toMatchObject({ ok: false, wait: { why: 'down', upSince: 1_000_000 } });
    // A refusal of the request itself is final, never a wait.
    const picky = server('picky', async () => ({ ok: false, failure: failure('upstream_rejected', 'request', 'size: bad') }));
    const final = await submitWithFailover(candidatesFor([picky, server('other')], wan, catalog), base, signal, health(), { reserve: async () => true });
    expect(final).toEqual({ ok: false, failure: expect.objectContaining({ code: 'upstream_rejected' }), tried: [] });
  });
});
