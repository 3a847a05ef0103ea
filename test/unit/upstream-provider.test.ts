import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { loadCatalog } from '../../src/domain/catalog.ts';
import { ProviderError, type GenerationJob } from '../../src/providers/provider.ts';
import { upstreamProvider, type UpstreamAdapter, type UpstreamName } from '../../src/providers/upstream/upstream-provider.ts';
import { redact } from '../../src/providers/upstream/http-call.ts';

const model = loadCatalog().find('veo-3.0-generate-001')!;
const job: GenerationJob = {
  taskId: 't', model, prompt: 'p', negativePrompt: null, aspectRatio: '16:9', seconds: 4, width: 1280, height: 720,
  fps: 24, seed: 1, generateAudio: true, images: [Buffer.from('x')], options: {},
};

function adapter(name: UpstreamName, o: { submit?: () => Promise<string>; pollsUntilDone?: number; onCancel?: () => void } = {}): UpstreamAdapter & { polls: number[] } {
  const polls: number[] = [];
  return {
    name, polls,
    submit: o.submit ?? (async () => `${name}-op`),
    async poll() {
      polls.push(Date.now());
      return polls.length > (o.pollsUntilDone ?? 3) ? { done: true, video: { kind: 'bytes', data: Buffer.from('mp4') } } : { done: false };
    },
    async cancel() { o.onCancel?.(); },
    async download() { throw new Error('not used'); },
  };
}

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'reelay-up-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

describe('upstreamProvider', () => {
  it('polls with a growing interval, reports capped progress, writes inline bytes', async () => {
    const a = adapter('gemini', { pollsUntilDone: 5 });
    const progress: number[] = [];
    const r = await upstreamProvider('gemini', { gemini: a }, { pollMs: 10, maxWaitMs: 60_000, expectedMs: 50 })
      .generate(job, { signal: new AbortController().signal, workDir: dir, onProgress: (p) => progress.push(p) });
    expect(await readFile(r.videoPath, 'utf8')).toBe('mp4');
    expect(r.details).toEqual({ provider: 'gemini', upstream: { provider: 'gemini', id: 'gemini-op' } });
    const gaps = a.polls.slice(1).map((t, i) => t - a.polls[i]!);
    expect(gaps.at(-1)!).toBeGreaterThanOrEqual(gaps[0]!);
    expect(Math.max(...progress)).toBeLessThanOrEqual(90);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!).toBeGreaterThanOrEqual(progress[i - 1]!);
  });

  it('fails over on a retryable submit error only, in the model\'s provider order', async () => {
    const busy = adapter('gemini', { submit: async () => { throw new ProviderError('upstream_unavailable', 'HTTP 429', { retryable: true }); } });
    const ok = adapter('vertex', { pollsUntilDone: 0 });
    const r = await upstreamProvider('gemini', { gemini: busy, vertex: ok }, { pollMs: 5, maxWaitMs: 60_000 })
      .generate(job, { signal: new AbortController().signal, workDir: dir, onProgress: () => {} });
    expect(r.details).toMatchObject({ provider: 'vertex', failover_from: ['gemini'] });

    const rejecting = adapter('gemini', { submit: async () => { throw new ProviderError('upstream_rejected', 'HTTP 400'); } });
    await expect(upstreamProvider('gemini', { gemini: rejecting, vertex: ok }, { pollMs: 5, maxWaitMs: 60_000 })
      .generate(job, { signal: new AbortController().signal, workDir: dir, onProgress: () => {} })).rejects.toMatchObject({ code: 'upstream_rejected' });
  });

  it('on abort, cancels the upstream job and stops', async () => {
    let cancelled = 0;
    const a = adapter('vidu', { pollsUntilDone: 1_000, onCancel: () => { cancelled++; } });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    await expect(upstreamProvider('vidu', { vidu: a }, { pollMs: 5, maxWaitMs: 60_000 })
      .generate({ ...job, model: { ...model, providers: ['vidu'] } }, { signal: ac.signal, workDir: dir, onProgress: () => {} })).rejects.toBeDefined();
    expect(cancelled).toBe(1);
  });

  it('gives up after maxWaitMs as upstream_timeout', async () => {
    const a = adapter('gemini', { pollsUntilDone: 1_000 });
    await expect(upstreamProvider('gemini', { gemini: a }, { pollMs: 5, maxWaitMs: 1_000 })
      .generate(job, { signal: new AbortController().signal, workDir: dir, onProgress: () => {} })).rejects.toMatchObject({ code: 'upstream_timeout' });
  });

  it('redacts credentials from upstream messages', () => {
    expect(redact('key AIza123 is invalid', ['AIza123'])).toBe('key [redacted] is invalid');
  });
});

describe('upstream configuration', () => {
  it('enables only channels with credentials, with documented defaults', () => {
    const c = loadConfig({ GEMINI_API_KEY: 'k1', VIDU_API_KEY: 'k2' });
    expect(c.upstreams.gemini).toEqual({ apiKey: 'k1', baseUrl: 'https://generativelanguage.googleapis.com' });
    expect(c.upstreams.vidu).toEqual({ apiKey: 'k2', baseUrl: 'https://api.vidu.com/ent/v2' });
    expect(c.upstreams.vertex).toBeNull();
    expect(c.upstreams.pollMs).toBe(2000);
    const v = loadConfig({ VERTEX_PROJECT: 'p', VERTEX_ACCESS_TOKEN: 't' });
    expect(v.upstreams.vertex).toEqual({ project: 'p', location: 'us-central1', accessToken: 't', baseUrl: 'https://us-central1-aiplatform.googleapis.com' });
    expect(loadConfig({}).upstreams).toMatchObject({ gemini: null, vertex: null, vidu: null });
  });

  it('requires VERTEX_PROJECT and VERTEX_ACCESS_TOKEN together and never echoes a credential', () => {
    expect(() => loadConfig({ VERTEX_PROJECT: 'p' })).toThrow(ConfigError);
    let err: unknown;
    try {
      loadConfig({ GEMINI_BASE_URL: 'not a url', REELAY_UPSTREAM_TIMEOUT_MS: 'x', VERTEX_ACCESS_TOKEN: 'ya29.secret' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).not.toContain('ya29.secret');
    expect((err as ConfigError).problems.join('\n')).toContain('GEMINI_BASE_URL');
  });
});
