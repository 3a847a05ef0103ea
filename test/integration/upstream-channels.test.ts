// Public names → upstream ids per channel, submit-time upstream limits, channel
// faults that fail over and rest, and what operators see of it (API.md §6, §12).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVertexFake, type VertexFake } from '../fakes/vertex.ts';
import { cli } from '../helpers/child-server.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { expectFailedAndRefunded, runTask, submit } from '../helpers/upstream.ts';
import { dataUri, makeImage } from '../helpers/images.ts';

const P = 'reelay-test';
const TOKEN_A = 'ya29.channel-a-token';
const TOKEN_B = 'ya29.channel-b-token';
const ADMIN = 'admin-token-0123456789';
let a: VertexFake;
let b: VertexFake;

const channel = (name: string, fake: VertexFake, token: string, extra: Record<string, unknown> = {}) =>
  ({ name, provider: 'vertex', project: P, location: name === 'vertex-a' ? 'us-central1' : 'europe-west4', accessToken: token, baseUrl: fake.baseUrl, ...extra });
const envFor = (channels: unknown[]) => ({
  REELAY_UPSTREAM_CHANNELS: JSON.stringify(channels), REELAY_ADMIN_TOKEN: ADMIN, REELAY_UPSTREAM_POLL_MS: '20', REELAY_UPSTREAM_TIMEOUT_MS: '2000',
});

interface ModelRow { id: string; available: boolean; providers: string[]; deprecated: boolean; successor: string | null; aliases: string[]; provider: string }
const models = async (s: TestServer) => ((await (await s.api('/v1/models')).json()) as { data: ModelRow[] }).data;
const creates = (f: VertexFake) => f.requests.filter((r) => r.path.endsWith(':predictLongRunning')).length;

beforeAll(async () => {
  a = await startVertexFake({ project: P, location: 'us-central1', token: TOKEN_A });
  b = await startVertexFake({ project: P, location: 'europe-west4', token: TOKEN_B });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
});

describe('the catalog of public names', () => {
  let s: TestServer;
  let local: TestServer;
  beforeAll(async () => {
    s = await startServer(envFor([channel('vertex-a', a, TOKEN_A)]));
    local = await startServer();
  });
  afterAll(async () => {
    await s?.close();
    await local?.close();
  });

  it('GET /v1/models: the doc\'s retired names are deprecated with successors; availability and providers follow the channels', async () => {
    const m = Object.fromEntries((await models(s)).map((x) => [x.id, x]));
    expect(m['veo-3.0-fast-generate-001']).toMatchObject({ deprecated: true, successor: 'veo-3.1-fast-generate-001', available: true, providers: ['vertex'], provider: 'vertex' });
    expect(m['veo-3.1-generate-preview']).toMatchObject({ deprecated: true, successor: 'veo-3.1-generate-001', providers: ['vertex'] });
    expect(m['veo-3.1-lite-generate-001']).toMatchObject({ deprecated: false, successor: null, available: true, providers: ['vertex'] });
    // No channel maps Veo 2 or serves Omni here: the local renderer does.
    expect(m['veo-2.0-generate-001']).toMatchObject({ deprecated: true, available: true, providers: ['local'] });
    expect(m['gemini-omni-1.1-flash']).toMatchObject({ available: true, providers: ['local'] });
    expect(m['viduq3-turbo']!.aliases).toEqual(['Veoq3-turbo']);
    const offline = Object.fromEntries((await models(local)).map((x) => [x.id, x]));
    expect(offline['veo-3.0-fast-generate-001']).toMatchObject({ available: true, providers: ['local'], provider: 'local' });
  });

  it('a request the mapped upstream cannot honour is refused at submit, naming the rule and the upstream model; nothing is sent or stored', async () => {
    const before = creates(a);
    const img = dataUri(await makeImage(320, 180));
    const res = await s.api('/v1/video/generations', { method: 'POST', json: { model: 'veo-3.0-fast-generate-001', prompt: 'p', aspect_ratio: '16:9', size: '1080p', seconds: 4, images: [img] } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; param: string; message: string } };
    expect(body.error).toMatchObject({ code: 'invalid_seconds', param: 'seconds' });
    expect(body.error.message).toContain('veo-3.1-fast-generate-001');
    expect(body.error.message).toContain('1080p only at 8 seconds');
    const list = (await (await s.api('/v1/video/generations')).json()) as { data: unknown[] };
    expect(list.data).toHaveLength(0);
    expect(creates(a)).toBe(before);
    // The public model itself allows it: rendered locally where no channel serves it.
    const ok = await local.api('/v1/video/generations', { method: 'POST', json: { model: 'veo-3.0-fast-generate-001', prompt: 'p', aspect_ratio: '16:9', size: '1080p', seconds: 4, images: [img] } });
    expect(ok.status).toBe(200);
  });

  it('a task records the channel and the upstream id it really called', async () => {
    const t = await runTask(s, { model: 'veo-3.1-generate-preview', size: '720p' });
    expect(t.status).toBe('succeeded');
    expect(t.model).toBe('veo-3.1-generate-preview');
    expect(t.metadata).toMatchObject({ channel: 'vertex-a', upstream_model: 'veo-3.1-generate-001' });
    expect(a.requests.some((r) => r.path.endsWith('/models/veo-3.1-generate-001:predictLongRunning'))).toBe(true);
    expect(a.requests.some((r) => r.path.includes('preview'))).toBe(false);
  });
});

describe('channel faults fail over and rest', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer(envFor([
      channel('vertex-a', a, TOKEN_A, { priority: 1, models: { 'veo-3.1-fast-generate-001': null, 'veo-2.0-generate-001': 'veo-2.0-generate-001' } }),
      channel('vertex-b', b, TOKEN_B),
    ]));
  });
  afterAll(async () => { await s?.close(); });

  it('refused credentials move the task to the next channel and rest the first: the next task skips it without a call', async () => {
    a.script.submit.push({ status: 403, message: 'Permission \'aiplatform.endpoints.predict\' denied.' });
    const first = await runTask(s, { model: 'veo-3.1-fast-generate-001', seconds: 4 });
    expect(first.status).toBe('succeeded');
    expect(first.metadata).toMatchObject({ channel: 'vertex-b', failover_from: ['vertex-a'], upstream_model: 'veo-3.1-fast-generate-001' });
    const callsToA = creates(a);
    const second = await runTask(s, { model: 'veo-3.1-fast-generate-001', seconds: 4 });
    expect(second.metadata).toMatchObject({ channel: 'vertex-b', failover_from: ['vertex-a'] });
    expect(creates(a)).toBe(callsToA);

    const admin = await fetch(`${s.base}/v1/admin/channels`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(admin.status).toBe(200);
    const text = await admin.text();
    expect(text).not.toContain(TOKEN_A);
    expect(text).not.toContain(TOKEN_B);
    const list = (JSON.parse(text) as { data: { name: string; state: string; rest_until: string | null; last_error: { code: string; message: string } | null; in_flight: number }[] }).data;
    expect(list.find((c) => c.name === 'vertex-a')).toMatchObject({ state: 'resting', last_error: { code: 'upstream_auth' } });
    expect(Date.parse(list.find((c) => c.name === 'vertex-a')!.rest_until!)).toBeGreaterThan(Date.now());
    expect(list.find((c) => c.name === 'vertex-b')).toMatchObject({ state: 'healthy', last_error: null, in_flight: 0 });
    expect((await fetch(`${s.base}/v1/admin/channels`)).status).toBe(401);

    const metrics = await (await fetch(`${s.base}/metrics`)).text();
    expect(metrics).toContain('reelay_channel_state{channel="vertex-a",state="resting"} 1');
    expect(metrics).toContain('reelay_channel_state{channel="vertex-b",state="healthy"} 1');
  });

  it('a model the upstream no longer serves rests that channel × model and fails the task model_unavailable, refunded, as the service\'s problem', async () => {
    // vertex-a maps Veo 2 explicitly; Vertex retired it (404), and no other channel serves it.
    const t = await runTask(s, { model: 'veo-2.0-generate-001', seconds: 5 });
    expectFailedAndRefunded(t, 'upstream_unavailable');
    // vertex-a is resting from the test above, so it is not even called: the message says so.
    expect(t.error!.message).toMatch(/vertex-a is resting until/);
  });
});

describe('a retired model on the only channel', () => {
  let s: TestServer;
  beforeAll(async () => { s = await startServer(envFor([channel('vertex-a', a, TOKEN_A, { models: { 'veo-2.0-generate-001': 'veo-2.0-generate-001', 'veo-3.1-generate-001': null } })])); });
  afterAll(async () => { await s?.close(); });

  it('404 "not found" → model_unavailable, refunded; the channel rests for that model only and /v1/models says so', async () => {
    const before = creates(a);
    const t = await runTask(s, { model: 'veo-2.0-generate-001', seconds: 5 });
    expectFailedAndRefunded(t, 'model_unavailable');
    expect(t.error!.message).toContain('not with your request');
    expect(creates(a)).toBe(before + 1);
    const m = Object.fromEntries((await models(s)).map((x) => [x.id, x]));
    expect(m['veo-2.0-generate-001']).toMatchObject({ available: false, providers: [] });
    expect(m['veo-3.1-generate-001']).toMatchObject({ available: true, providers: ['vertex'] });
    // The same channel still serves its other model.
    const ok = await runTask(s, { model: 'veo-3.1-generate-001', seconds: 4 });
    expect(ok.status).toBe('succeeded');
  });
});

describe('reelay channels', () => {
  it('shows health from the database and tests credentials and models live, generating nothing', async () => {
    const s = await startServer(envFor([channel('vertex-a', a, TOKEN_A), channel('vertex-b', b, 'ya29.wrong-token')]));
    try {
      b.script.submit.push({ status: 401, message: 'Request had invalid authentication credentials.' });
      await submit(s, { model: 'veo-3.1-fast-generate-001', seconds: 4 }); // lands on a or b; b (if tried) rests
      const env = { REELAY_DATA_DIR: s.dataDir, ...envFor([channel('vertex-a', a, TOKEN_A), channel('vertex-b', b, 'ya29.wrong-token')]) };
      const shown = await cli(['channels', '--json'], env);
      expect(shown.code).toBe(0);
      expect(shown.stdout).not.toContain('ya29.');
      const rows = JSON.parse(shown.stdout) as { name: string; models: { model: string; upstream_model: string }[] }[];
      expect(rows.map((r) => r.name)).toEqual(['vertex-a', 'vertex-b']);
      expect(rows[0]!.models).toContainEqual({ model: 'veo-3.0-fast-generate-001', upstream_model: 'veo-3.1-fast-generate-001', resting_until: null, last_error: null });
      const createsBefore = creates(a) + creates(b);
      const tested = await cli(['channels', 'test', '--json'], env);
      expect(tested.code).toBe(1);
      const results = JSON.parse(tested.stdout) as { name: string; ok: boolean; credentials: { ok: boolean }; models: { upstreamModel: string; ok: boolean | null }[] }[];
      expect(results.find((r) => r.name === 'vertex-a')).toMatchObject({ ok: true, credentials: { ok: true } });
      expect(results.find((r) => r.name === 'vertex-a')!.models.map((m) => m.upstreamModel).sort()).toEqual(['veo-3.1-fast-generate-001', 'veo-3.1-generate-001', 'veo-3.1-lite-generate-001']);
      expect(results.find((r) => r.name === 'vertex-b')).toMatchObject({ ok: false, credentials: { ok: false } });
      expect(tested.stdout).not.toContain('ya29.');
      expect(creates(a) + creates(b)).toBe(createsBefore);
      const one = await cli(['channels', 'test', 'vertex-a'], env);
      expect(one.code).toBe(0);
      expect(one.stdout).toContain('vertex-a (vertex): ok');
      expect((await cli(['channels', 'test', 'nope'], env)).code).toBe(2);
    } finally {
      await s.close();
    }
  });
});
