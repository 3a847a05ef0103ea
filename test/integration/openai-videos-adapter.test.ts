// The openai-videos adapter on its own against the strict fakes: explicit outcomes for everything a server says.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/domain/catalog.ts';
import { openAiVideosAdapter } from '../../src/providers/openai-videos/openai-videos-adapter.ts';
import type { OpenAiVideosDialect } from '../../src/providers/upstream/openai-videos-config.ts';
import type { UpstreamJob } from '../../src/providers/upstream/upstream-provider.ts';
import { startGpuServer, type GpuServer } from '../fakes/openai-videos.ts';

const WAN = 'Wan-AI/Wan2.2-I2V-A14B-Diffusers';
const model = loadCatalog().find('veo-3.1-generate-001')!;
const png = await sharp({ create: { width: 320, height: 180, channels: 3, background: '#284' } }).png().toBuffer();
const job: UpstreamJob = {
  taskId: 't', model, prompt: 'p', negativePrompt: null, aspectRatio: '16:9', seconds: 2, width: 1280, height: 720, fps: 24, seed: 5,
  generateAudio: false, images: [png], options: {}, upstreamModel: WAN,
};
const signal = new AbortController().signal;
const open: GpuServer[] = [];
afterEach(async () => { for (const g of open.splice(0)) await g.close(); });

async function setup(dialect: OpenAiVideosDialect, o: { apiKey?: string; serverKey?: string; jobMs?: number } = {}) {
  const g = await startGpuServer({ dialect, model: WAN, jobMs: o.jobMs ?? 100, ...(o.serverKey ? { apiKey: o.serverKey } : {}) });
  open.push(g);
  // Private addresses are refused for URLs an upstream hands back; the configured server itself is trusted.
  const adapter = openAiVideosAdapter({
    baseUrl: g.baseUrl, apiKey: o.apiKey, dialect, params: {}, requestTimeoutMs: 2000, createTimeoutMs: 5000,
    download: { maxBytes: 50_000_000, timeoutMs: 5000 }, policy: { allowPrivate: false },
  });
  return { g, adapter };
}

const until = async <T>(fn: () => Promise<T>, ok: (v: T) => boolean) => {
  for (let i = 0; i < 200; i++) {
    const v = await fn();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('not reached');
};

describe('openai-videos adapter', () => {
  it.each(['vllm-omni', 'sglang', 'dynamo'] as const)('%s: submit → poll → download from the server itself (a private address the operator configured)', async (dialect) => {
    const { adapter } = await setup(dialect);
    const sub = await adapter.submit(job, signal);
    expect(sub.ok).toBe(true);
    if (!sub.ok) return;
    const done = await until(() => adapter.poll(sub.id, signal), (p) => p.state !== 'running');
    expect(done.state).toBe('done');
    if (done.state !== 'done' || done.video.kind !== 'url') return;
    const dir = await mkdtemp(join(tmpdir(), 'reelay-ov-'));
    try {
      expect(await adapter.download(done.video.url, join(dir, 'v.mp4'), signal)).toEqual({ ok: true });
      expect((await stat(join(dir, 'v.mp4'))).size).toBeGreaterThan(1000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a busy server\'s 503 is a throttle; a forgotten job is lost; a wrong key is the channel\'s fault', async () => {
    const { g, adapter } = await setup('sglang', { jobMs: 2000 });
    const first = await adapter.submit(job, signal);
    expect(first.ok).toBe(true);
    expect(await adapter.submit(job, signal)).toMatchObject({ ok: false, failure: { fault: 'throttled', message: expect.stringContaining('busy (HTTP 503)') } });
    g.restart();
    expect(await adapter.poll((first as { id: string }).id, signal)).toMatchObject({ state: 'failed', failure: { code: 'upstream_lost_job', fault: 'transient' } });
    const locked = await setup('vllm-omni', { serverKey: 'sk-right', apiKey: 'sk-wrong' });
    const refused = await locked.adapter.submit(job, signal);
    expect(refused).toMatchObject({ ok: false, failure: { code: 'upstream_auth', fault: 'channel' } });
    expect(JSON.stringify(refused)).not.toContain('sk-wrong');
  });

  it('SGLang cannot stop a running job: after DELETE the record is gone but the GPU stays busy until the job ends', async () => {
    const { g, adapter } = await setup('sglang', { jobMs: 600 });
    const sub = await adapter.submit(job, signal);
    await adapter.cancel!((sub as { id: string }).id);
    expect(g.deleted).toEqual([(sub as { id: string }).id]);
    expect(g.running()).toBe(1);
    expect(await adapter.submit(job, signal)).toMatchObject({ ok: false, failure: { fault: 'throttled' } });
    await until(async () => g.running(), (n) => n === 0);
    expect((await adapter.submit(job, signal)).ok).toBe(true);
  });

  it('a field the server refuses is the request\'s fault, quoted; the model name the server does not serve is the model\'s', async () => {
    const { adapter } = await setup('vllm-omni');
    expect(await adapter.submit({ ...job, upstreamModel: 'other/model' }, signal)).toMatchObject({ ok: false, failure: { code: 'model_unavailable', fault: 'model' } });
    const dyn = await setup('dynamo');
    expect(await dyn.adapter.submit({ ...job, seconds: 0 }, signal)).toMatchObject({ ok: false, failure: { code: 'upstream_rejected', fault: 'request', message: expect.stringContaining('num_frames') } });
  });

  it('channels test: reach and key checked without generating; models unchecked where the server lists none', async () => {
    const { g, adapter } = await setup('vllm-omni', { serverKey: 'sk-1', apiKey: 'sk-1' });
    const check = await adapter.check([WAN], signal);
    expect(check.credentials.ok).toBe(true);
    expect(check.models).toEqual([{ upstreamModel: WAN, ok: null, detail: expect.stringContaining('lists no models') }]);
    expect(g.created).toHaveLength(0);
    const wrong = await setup('vllm-omni', { serverKey: 'sk-1', apiKey: 'sk-2' });
    expect((await wrong.adapter.check([WAN], signal)).credentials).toMatchObject({ ok: false, detail: expect.stringContaining('refused') });
  });
});
