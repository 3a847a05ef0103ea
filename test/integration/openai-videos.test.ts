// Self-hosted servers behind /v1/videos (issue 17): Reelay holds the queue and keeps each GPU fed.
// Every test talks to strict fakes (test/fakes/openai-videos.ts) over loopback; time is driven by short job times and
// the assertions are on order and outcomes, never on wall-clock bounds.
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { startGpuServer, type GpuDialect, type GpuServer } from '../fakes/openai-videos.ts';
import { startServer, waitFor, waitForTask, type TestServer } from '../helpers/server.ts';
import { expectFailedAndRefunded, submit, type UpstreamTask } from '../helpers/upstream.ts';

const CATALOG = fileURLToPath(new URL('../../docs/examples/self-hosted-catalog.json', import.meta.url));
const WAN = 'Wan-AI/Wan2.2-I2V-A14B-Diffusers';
const TASK = { model: 'wan2.2-i2v-a14b', seconds: 2, size: '480p' };

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

async function gpu(dialect: GpuDialect, o: Partial<Parameters<typeof startGpuServer>[0]> = {}): Promise<GpuServer> {
  const g = await startGpuServer({ dialect, model: WAN, jobMs: 300, ...o });
  open.push(g);
  return g;
}

const channel = (name: string, g: GpuServer, dialect: GpuDialect, extra: Record<string, unknown> = {}) =>
  ({ name, provider: 'openai-videos', dialect, baseUrl: g.baseUrl, models: ['wan2.2-i2v-a14b'], pollMs: 40, ...extra });

async function reelay(channels: Record<string, unknown>[], env: Record<string, string> = {}): Promise<TestServer> {
  const s = await startServer({
    REELAY_CATALOG: CATALOG, REELAY_UPSTREAM_CHANNELS: JSON.stringify(channels), REELAY_UPSTREAM_TIMEOUT_MS: '3000',
    REELAY_CHANNEL_REST_MS: '400', REELAY_WORKER_CONCURRENCY: '2', ...env,
  });
  open.push(s);
  return s;
}

const finish = async (s: TestServer, id: string) => (await waitForTask(s, id, 30_000)).task as UpstreamTask;
const attempts = async (s: TestServer, id: string) => Number((await s.app.store.tasks.find(id))!.attempts);

describe('one server of each dialect, end to end (UPSTREAM.md §6.2)', () => {
  it('vLLM-Omni: multipart create with the image file and the operator\'s knobs; progress copied; the video re-hosted', async () => {
    const g = await gpu('vllm-omni', { apiKey: 'sk-gpu-1', jobMs: 700 });
    const s = await reelay([channel('gpu-1', g, 'vllm-omni', { apiKey: 'sk-gpu-1', params: { 'wan2.2-i2v-a14b': { fps: 16, num_inference_steps: 40, negative_prompt: 'blurry' } } })]);
    const id = await submit(s, TASK);
    const { task, progress } = await waitForTask(s, id, 30_000) as { task: UpstreamTask; progress: number[] };
    expect(task.status).toBe('succeeded');
    expect(task.provider).toBe('openai-videos');
    expect(task.metadata).toMatchObject({ channel: 'gpu-1', upstream_model: WAN });
    expect(task.url!.startsWith(s.base)).toBe(true);
    expect(g.created[0]!.body).toMatchObject({ model: WAN, prompt: 'a slow push in', seconds: '2', size: '832x480', fps: '16', num_inference_steps: '40', negative_prompt: 'blurry' });
    // The start frame went as a file, framed to the task's aspect (832×480), not stretched.
    expect(g.created[0]!.image!.width / g.created[0]!.image!.height).toBeCloseTo(832 / 480, 1);
    expect(g.requests.every((r) => r.path.startsWith('/v1/') && r.headers.authorization === 'Bearer sk-gpu-1')).toBe(true);
    // The progress the server reports shows on the task while it runs, never going back.
    expect(progress.some((p) => p > 0 && p < 100)).toBe(true);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(g.refused).toEqual([]);
  });

  it('SGLang: JSON with an integer seconds and a data: URI; /content\'s 404 "still in-progress" is waited out', async () => {
    const g = await gpu('sglang', { contentLagMs: 200 });
    const s = await reelay([channel('sgl', g, 'sglang')]);
    const task = await finish(s, await submit(s, TASK));
    expect(task.status).toBe('succeeded');
    const body = g.created[0]!.body;
    expect(body).toMatchObject({ model: WAN, seconds: 2, size: '832x480' });
    expect(typeof body.seed).toBe('number');
    expect(String(body.input_reference)).toMatch(/^data:image\/png;base64,/);
    const contentCalls = g.requests.filter((r) => r.path.endsWith('/content'));
    expect(contentCalls.length).toBeGreaterThan(1);
  });

  it.each(['sync', 'async'] as const)('Dynamo (%s create answer): nvext.num_frames, response_format url, the video fetched from data[0].url', async (mode) => {
    const g = await gpu('dynamo', { dynamo: mode });
    const s = await reelay([channel('dyn', g, 'dynamo', { params: { 'wan2.2-i2v-a14b': { fps: 16, num_inference_steps: 30 } } })]);
    const task = await finish(s, await submit(s, TASK));
    expect(task.status).toBe('succeeded');
    expect(g.created[0]!.body).toMatchObject({ model: WAN, response_format: 'url', size: '832x480', nvext: { num_frames: 32, fps: 16, num_inference_steps: 30 } });
    expect(g.created[0]!.body).not.toHaveProperty('seconds');
    expect(g.requests.some((r) => r.path.startsWith('/media/'))).toBe(true);
  });
});

describe('Reelay holds the queue', () => {
  it('six tasks on two one-GPU servers: never two jobs on one server, no 503s, both GPUs used, no attempt burnt waiting', async () => {
    const a = await gpu('vllm-omni');
    const b = await gpu('vllm-omni');
    const s = await reelay([channel('a', a, 'vllm-omni'), channel('b', b, 'vllm-omni')], { REELAY_WORKER_CONCURRENCY: '3' });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await submit(s, { ...TASK, prompt: `p${i}` }));
    // While both GPUs are busy the rest wait in Reelay's queue.
    await waitFor(async () => (await Promise.all(ids.map((id) => s.app.store.tasks.find(id)))).some((t) => t!.status === 'queued' && t!.upstream_not_before != null));
    const tasks = await Promise.all(ids.map((id) => finish(s, id)));
    expect(tasks.map((t) => t.status)).toEqual(Array(6).fill('succeeded'));
    expect([a.maxRunning, b.maxRunning]).toEqual([1, 1]);
    expect(a.busyAnswers + b.busyAnswers).toBe(0);
    expect(a.created.length + b.created.length).toBe(6);
    expect(a.created.length).toBeGreaterThan(0);
    expect(b.created.length).toBeGreaterThan(0);
    for (const id of ids) expect(await attempts(s, id)).toBe(1);
  });

  it('a 503 from a server busy with another client\'s job is a wait, not a failure', async () => {
    const g = await gpu('sglang', { jobMs: 600 });
    const s = await reelay([channel('sgl', g, 'sglang')]);
    const png = await sharp({ create: { width: 64, height: 36, channels: 3, background: '#123' } }).png().toBuffer();
    const other = await fetch(`${g.baseUrl}/videos`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'another client', input_reference: `data:image/png;base64,${png.toString('base64')}` }) });
    expect(other.status).toBe(200);
    const id = await submit(s, TASK);
    const task = await finish(s, id);
    expect(task.status).toBe('succeeded');
    expect(g.busyAnswers).toBeGreaterThan(0);
    expect(g.maxRunning).toBe(1);
    expect(await attempts(s, id)).toBe(1);
  });
});

describe('servers forget, fail, go down; tasks are cancelled', () => {
  it('a server that restarts (poll 404) gets the job again once; a second loss fails the task refunded upstream_lost_job', async () => {
    const g = await gpu('vllm-omni', { jobMs: 1500 });
    const s = await reelay([channel('gpu', g, 'vllm-omni')]);
    const id = await submit(s, TASK);
    await waitFor(async () => g.running() === 1);
    g.jobMs = 200;
    g.restart();
    const again = await finish(s, id);
    expect(again.status).toBe('succeeded');
    expect(g.created.length).toBe(2);
    g.jobMs = 1500;
    const id2 = await submit(s, TASK);
    for (let n = 3; n <= 4; n++) {
      await waitFor(async () => g.created.length === n && g.running() === 1);
      g.restart();
    }
    expectFailedAndRefunded(await finish(s, id2), 'upstream_lost_job');
    expect(g.created.length).toBe(4);
  });

  it('cancelling a running task sends DELETE to its server, and the task waiting behind it starts', async () => {
    const g = await gpu('vllm-omni', { jobMs: 20_000 });
    const s = await reelay([channel('gpu', g, 'vllm-omni')]);
    const first = await submit(s, TASK);
    await waitFor(async () => g.running() === 1);
    const second = await submit(s, TASK);
    await waitFor(async () => (await s.app.store.tasks.find(second))!.upstream_not_before != null);
    expect((await s.app.store.tasks.find(second))!.status).toBe('queued');
    g.jobMs = 200;
    expect((await s.api(`/v1/video/generations/${first}/cancel`, { method: 'POST' })).status).toBe(200);
    await waitFor(async () => g.deleted.length === 1);
    expect(g.deleted[0]).toBe(g.created[0]!.id);
    expect((await finish(s, second)).status).toBe('succeeded');
    expect((await finish(s, first)).status).toBe('cancelled');
    expect(g.maxRunning).toBe(1);
    expect(await attempts(s, second)).toBe(1);
  });

  it('a job the server fails ends the task upstream_rejected with its message (refunded), and frees the GPU for the next', async () => {
    const g = await gpu('vllm-omni');
    const s = await reelay([channel('gpu', g, 'vllm-omni')]);
    g.failNext = 'CUDA out of memory';
    const failed = await submit(s, TASK);
    const next = await submit(s, TASK);
    const t = await finish(s, failed);
    expectFailedAndRefunded(t, 'upstream_rejected');
    expect(t.error!.message).toContain('CUDA out of memory');
    expect((await finish(s, next)).status).toBe('succeeded');
  });

  it('a server that is down rests; its tasks go to the other server of the model', async () => {
    const down = await gpu('vllm-omni');
    const up = await gpu('vllm-omni');
    await down.down();
    // The down server first (equal priorities would be a weighted coin toss): every task must end on the other.
    const s = await reelay([channel('down', down, 'vllm-omni', { priority: 1 }), channel('up', up, 'vllm-omni')]);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await submit(s, TASK));
    const tasks = await Promise.all(ids.map((id) => finish(s, id)));
    expect(tasks.every((t) => t.status === 'succeeded' && (t.metadata as { channel?: string } | null)?.channel === 'up')).toBe(true);
    expect(tasks.some((t) => t.metadata?.failover_from?.includes('down'))).toBe(true);
    const rows = await s.app.store.channelHealth.all();
    expect(rows.find((r) => r.channel === 'down')?.last_error_code).toBe('upstream_unavailable');
  });

  it('a server that dies with a job in flight: once its polls have failed REELAY_UPSTREAM_MAX_POLL_FAILURES times the job goes to the other server', async () => {
    const dies = await gpu('vllm-omni', { jobMs: 5000 });
    const other = await gpu('vllm-omni');
    const s = await reelay([channel('dies', dies, 'vllm-omni', { priority: 1 }), channel('other', other, 'vllm-omni')],
      { REELAY_UPSTREAM_MAX_POLL_FAILURES: '2', REELAY_UPSTREAM_POLL_MAX_MS: '100', REELAY_UPSTREAM_POLL_MS: '50' });
    const id = await submit(s, TASK);
    await waitFor(async () => dies.running() === 1);
    await dies.down();
    const task = await finish(s, id);
    expect(task.status).toBe('succeeded');
    expect((task.metadata as { channel?: string }).channel).toBe('other');
    expect(other.created).toHaveLength(1);
  });

  it('with its only server down, a task waits in the queue and runs once the server is back', async () => {
    const g = await gpu('sglang');
    await g.down();
    const s = await reelay([channel('only', g, 'sglang')]);
    const id = await submit(s, TASK);
    await waitFor(async () => (await s.app.store.tasks.find(id))!.upstream_not_before != null);
    expect((await s.app.store.tasks.find(id))!.status).toBe('queued');
    await g.up();
    expect((await finish(s, id)).status).toBe('succeeded');
    expect(await attempts(s, id)).toBe(1);
  });

  it('…and fails refunded upstream_unavailable once the outage outlasts REELAY_UPSTREAM_MAX_WAIT_MS', async () => {
    const g = await gpu('sglang');
    await g.down();
    const s = await reelay([channel('only', g, 'sglang')], { REELAY_UPSTREAM_MAX_WAIT_MS: '1000' });
    const t = await finish(s, await submit(s, TASK));
    expectFailedAndRefunded(t, 'upstream_unavailable');
    expect(t.error!.message).toContain('not with your request');
  });
});
