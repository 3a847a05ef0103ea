import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { loadCatalog } from '../../src/domain/catalog.ts';
import { failure, type UpstreamFailure } from '../../src/domain/failures.ts';
import { rateBucket } from '../../src/infra/rate-bucket.ts';
import type { GenerationJob } from '../../src/providers/provider.ts';
import { afterFailure, afterSuccess, createChannelHealth, type HealthRow } from '../../src/providers/upstream/channel-health.ts';
import { candidatesFor, orderCandidates, submitWithFailover, upstreamModelFor, type Channel } from '../../src/providers/upstream/channels.ts';
import type { SubmitOutcome, UpstreamAdapter, UpstreamJob, UpstreamName } from '../../src/providers/upstream/upstream-provider.ts';

const catalog = loadCatalog();
const veo30 = catalog.find('veo-3.0-generate-001')!;
const job: GenerationJob = {
  taskId: 't', model: veo30, prompt: 'p', negativePrompt: null, aspectRatio: '16:9', seconds: 4, width: 1280, height: 720,
  fps: 24, seed: 1, generateAudio: true, images: [Buffer.from('x')], options: {},
};

function adapter(name: UpstreamName, submit?: (j: UpstreamJob) => Promise<SubmitOutcome>): UpstreamAdapter & { sent: UpstreamJob[] } {
  const sent: UpstreamJob[] = [];
  return {
    name, sent,
    async submit(j) { sent.push(j); return submit ? submit(j) : { ok: true, id: `${name}-op` }; },
    async poll() { return { state: 'running' }; },
    async download() { return { ok: true }; },
    async check() { return { credentials: { ok: true, detail: '' }, models: [] }; },
  };
}

function channel(name: string, provider: UpstreamName, o: Partial<Omit<Channel, 'models'>> & { models?: Record<string, string | null> } = {}): Channel {
  const { models, ...rest } = o;
  return { name, provider, priority: 0, weight: 1, rate: rateBucket(1000, 1000), adapter: adapter(provider), ...rest, models: models ? new Map(Object.entries(models)) : null };
}

function memoryHealth(now = () => 1_000_000, policy = { restMs: 30_000, restMaxMs: 600_000, failuresToRest: 3 }) {
  const rows = new Map<string, HealthRow>();
  const store = { all: async () => [...rows.values()], save: async (r: HealthRow) => { rows.set(`${r.channel}|${r.upstream_model}`, r); } };
  return { rows, health: createChannelHealth(store, policy, now, 0) };
}

const refuse = (f: UpstreamFailure) => async (): Promise<SubmitOutcome> => ({ ok: false, failure: f });
const seq = (...xs: number[]) => { let i = 0; return () => xs[i++ % xs.length]!; };

describe('public model → upstream id per channel', () => {
  it('the default map follows Google\'s migration table; a list keeps it; an object overrides it', () => {
    const v = channel('v', 'vertex');
    expect(upstreamModelFor(v, veo30, catalog)).toBe('veo-3.1-generate-001');
    expect(upstreamModelFor(v, catalog.find('veo-3.0-fast-generate-001')!, catalog)).toBe('veo-3.1-fast-generate-001');
    expect(upstreamModelFor(v, catalog.find('veo-3.1-generate-preview')!, catalog)).toBe('veo-3.1-generate-001');
    expect(upstreamModelFor(v, catalog.find('veo-3.1-lite-generate-001')!, catalog)).toBe('veo-3.1-lite-generate-001');
    // Veo 2 is retired everywhere: no channel serves it unless it maps it explicitly.
    expect(upstreamModelFor(v, catalog.find('veo-2.0-generate-001')!, catalog)).toBeUndefined();
    // No Veo id is live on the Gemini API: a Gemini channel serves Omni by default, Veo only when mapped.
    const g = channel('g', 'gemini');
    expect(upstreamModelFor(g, veo30, catalog)).toBeUndefined();
    expect(upstreamModelFor(g, catalog.find('gemini-omni-1.1-flash')!, catalog)).toBe('gemini-omni-1.1-flash');
    const listed = channel('vl', 'vertex', { models: { 'veo-3.0-generate-001': null } });
    expect(upstreamModelFor(listed, veo30, catalog)).toBe('veo-3.1-generate-001');
    expect(upstreamModelFor(listed, catalog.find('veo-3.1-generate-001')!, catalog)).toBeUndefined();
    const mapped = channel('gm', 'gemini', { models: { 'veo-3.1-generate-preview': 'gemini-omni-1.1-flash', 'veo-2.0-generate-001': 'veo-2.0-generate-001' } });
    expect(upstreamModelFor(mapped, catalog.find('veo-3.1-generate-preview')!, catalog)).toBe('gemini-omni-1.1-flash');
    expect(upstreamModelFor(mapped, catalog.find('veo-2.0-generate-001')!, catalog)).toBe('veo-2.0-generate-001');
  });

  it('config: models as a list or an object', () => {
    const c = loadConfig({
      REELAY_UPSTREAM_CHANNELS: JSON.stringify([
        { name: 'a', provider: 'vertex', project: 'p', accessToken: 't', models: ['veo-3.0-generate-001'] },
        { name: 'b', provider: 'gemini', apiKey: 'k', models: { 'veo-3.1-generate-preview': 'gemini-omni-1.1-flash' } },
        { name: 'c', provider: 'vertex', project: 'p', accessToken: 't', location: 'global' },
      ]),
    });
    expect(c.upstreams.channels.map((x) => x.models)).toEqual([{ 'veo-3.0-generate-001': null }, { 'veo-3.1-generate-preview': 'gemini-omni-1.1-flash' }, null]);
    expect(c.upstreams.channels[2]!.baseUrl).toBe('https://aiplatform.googleapis.com');
  });
});

describe('channel routing', () => {
  it('orders by priority, then the model\'s provider order; channels that do not serve the model are not candidates', () => {
    const chans = [
      channel('v1', 'vertex'), channel('g-mapped', 'gemini', { models: { 'veo-3.0-generate-001': 'veo-3.0-generate-001' } }), channel('vidu', 'vidu'),
      channel('v-other-model', 'vertex', { models: { 'veo-3.1-lite-generate-001': null } }),
      channel('v-backup', 'vertex', { priority: -1 }), channel('v-first', 'vertex', { priority: 5 }),
    ];
    const order = orderCandidates(candidatesFor(chans, veo30, catalog), veo30, seq(0));
    // veo-3.0 lists vertex; a gemini channel that maps it explicitly comes after the listed providers of its priority.
    expect(order.map((c) => [c.channel.name, c.upstreamModel])).toEqual([
      ['v-first', 'veo-3.1-generate-001'], ['v1', 'veo-3.1-generate-001'], ['g-mapped', 'veo-3.0-generate-001'], ['v-backup', 'veo-3.1-generate-001'],
    ]);
  });

  it('splits new tasks among equal channels by weight, and every channel still appears once for failover', () => {
    const chans = [channel('a', 'vertex', { weight: 3 }), channel('b', 'vertex', { weight: 1 })];
    let a = 0;
    let r = 12345;
    const random = () => ((r = (r * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 4000; i++) {
      const order = orderCandidates(candidatesFor(chans, veo30, catalog), veo30, random).map((c) => c.channel.name);
      expect([...order].sort()).toEqual(['a', 'b']);
      if (order[0] === 'a') a++;
    }
    expect(a / 4000).toBeGreaterThan(0.72);
    expect(a / 4000).toBeLessThan(0.78);
  });
});

describe('failover and channel health', () => {
  const signal = new AbortController().signal;
  const cands = (...cs: Channel[]) => candidatesFor(cs, veo30, catalog);

  it('sends the channel\'s upstream id, never the public name', async () => {
    const v = channel('v', 'vertex');
    const { health } = memoryHealth();
    const r = await submitWithFailover(cands(v), job, signal, health);
    expect(r.ok).toBe(true);
    expect((v.adapter as ReturnType<typeof adapter>).sent[0]).toMatchObject({ upstreamModel: 'veo-3.1-generate-001', model: { id: 'veo-3.0-generate-001' } });
  });

  it('a channel fault moves the task on and rests the channel, so the next task skips it without a call', async () => {
    const bad = channel('bad-key', 'vertex', { adapter: adapter('vertex', refuse(failure('upstream_auth', 'channel', 'key refused'))) });
    const good = channel('good', 'vertex', { priority: -1 });
    const { health, rows } = memoryHealth();
    const r = await submitWithFailover(cands(bad, good), job, signal, health);
    expect(r).toMatchObject({ ok: true, tried: ['bad-key'] });
    expect(rows.get('bad-key|')).toMatchObject({ rests: 1, rest_until: 1_000_000 + 30_000, last_error_code: 'upstream_auth', last_error: 'key refused' });
    const again = await submitWithFailover(cands(bad, good), job, signal, health);
    expect(again).toMatchObject({ ok: true, tried: ['bad-key'] });
    expect((bad.adapter as ReturnType<typeof adapter>).sent).toHaveLength(1);
  });

  it('a model fault rests only that channel × upstream model', async () => {
    const gone = channel('v', 'vertex', { adapter: adapter('vertex', refuse(failure('model_unavailable', 'model', 'is no longer available'))) });
    const { health, rows } = memoryHealth();
    const r = await submitWithFailover(cands(gone), job, signal, health);
    expect(r).toMatchObject({ ok: false, failure: { code: 'model_unavailable', fault: 'model' } });
    expect(r.ok || r.failure.message).toContain('not with your request');
    expect(rows.get('v|veo-3.1-generate-001')).toMatchObject({ rests: 1 });
    expect(rows.has('v|')).toBe(false);
    expect(health.restingUntil('v', 'veo-3.1-generate-001')).not.toBeNull();
    expect(health.restingUntil('v', 'veo-3.1-fast-generate-001')).toBeNull();
  });

  it('the request\'s own fault is final and rests nothing; none left → upstream_unavailable', async () => {
    const rejecting = channel('r', 'vertex', { adapter: adapter('vertex', refuse(failure('upstream_rejected', 'request', 'durationSeconds 4 is not supported'))) });
    const other = channel('o', 'vertex', { priority: -1 });
    const { health, rows } = memoryHealth();
    expect(await submitWithFailover(cands(rejecting, other), job, signal, health)).toMatchObject({ ok: false, failure: { code: 'upstream_rejected' }, tried: [] });
    expect((other.adapter as ReturnType<typeof adapter>).sent).toHaveLength(0);
    expect(rows.size).toBe(0);
    const down = channel('d', 'vertex', { adapter: adapter('vertex', refuse(failure('upstream_unavailable', 'transient', 'HTTP 503'))) });
    const r = await submitWithFailover(cands(down), job, signal, health);
    expect(r).toMatchObject({ ok: false, failure: { code: 'upstream_unavailable' } });
  });

  it('a 429 pauses the channel and sends it last next time', async () => {
    const busy = channel('busy', 'vertex', { adapter: adapter('vertex', refuse(failure('upstream_unavailable', 'throttled', 'HTTP 429', 5000))) });
    const ok = channel('ok', 'vertex', { priority: -1 });
    const { health } = memoryHealth();
    expect(await submitWithFailover(cands(busy, ok), job, signal, health)).toMatchObject({ ok: true, tried: ['busy'] });
    expect(busy.rate.waitMs()).toBeGreaterThan(4000);
    expect(await submitWithFailover(cands(busy, ok), job, signal, health)).toMatchObject({ ok: true, tried: [] });
  });

  it('rests double per rest in a row up to the cap; transient failures rest after N in a row; a success resets the streak', () => {
    const p = { restMs: 1000, restMaxMs: 5000, failuresToRest: 3 };
    const f = failure('upstream_auth', 'channel', 'x');
    let row: HealthRow = { channel: 'c', upstream_model: '', failures: 0, rests: 0, rest_until: null, last_error_code: null, last_error: null, last_error_at: null, last_success_at: null };
    const untils: number[] = [];
    for (let i = 0; i < 5; i++) { row = afterFailure(row, f, 0, p); untils.push(row.rest_until!); }
    expect(untils).toEqual([1000, 2000, 4000, 5000, 5000]);
    row = afterSuccess(row, 10);
    const t = failure('upstream_timeout', 'transient', 'slow');
    row = afterFailure(afterFailure(row, t, 100, p), t, 100, p);
    expect(row).toMatchObject({ failures: 2, rests: 0 });
    row = afterFailure(row, t, 100, p);
    expect(row).toMatchObject({ failures: 0, rests: 1, rest_until: 1100 });
    expect(afterFailure(row, failure('content_filtered', 'content', 'blocked'), 200, p)).toBe(row);
  });
});
