/**
 * Keeping every GPU busy (issue 17): BENCH_GPU_SERVERS (3) fake self-hosted
 * servers (vLLM-Omni dialect, one generation at a time, BENCH_GPU_JOB_MS =
 * 1000 ms per job, 503 when busy) and BENCH_GPU_JOBS (36) tasks submitted at
 * once through Reelay's API (a child `reelay serve` on SQLite, default
 * settings: the channels' default 500 ms poll interval, one worker slot per
 * two cores). The fakes record when each job starts and ends; the bench
 * prints the wall time against the ideal back-to-back schedule
 * (ceil(jobs / servers) × job time) and the idle gap between a server
 * finishing one job and starting its next.
 *
 * Baseline measured in the same run, against the same fakes: a bare client
 * per server that submits, polls every 10 ms and submits the next job the
 * moment one ends — what this machine and the fakes allow without a gateway.
 * Goals (the issue): mean idle gap ≤ 0.5 s, wall ≤ 1.15 × ideal.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { cli, startChild } from '../test/helpers/child-server.ts';
import { startGpuServer, type GpuServer } from '../test/fakes/openai-videos.ts';
import { onCleanup } from './lib/child.ts';

const MODEL = 'Wan-AI/Wan2.2-I2V-A14B-Diffusers';
const CATALOG = fileURLToPath(new URL('../docs/examples/self-hosted-catalog.json', import.meta.url));

interface Span { server: number; id: string; start: number; end: number }
/** Polls of one job (GET /v1/videos/{id}) as the server saw them arrive. */
type Polls = Map<string, number[]>;

/** Per server, the gaps between one job's end and the next one's start (ms). */
function idleGaps(spans: Span[], servers: number): number[] {
  const gaps: number[] = [];
  for (let s = 0; s < servers; s++) {
    const mine = spans.filter((x) => x.server === s).sort((a, b) => a.start - b.start);
    for (let i = 1; i < mine.length; i++) gaps.push(mine[i]!.start - mine[i - 1]!.end);
  }
  return gaps;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;

async function fakes(n: number, jobMs: number, spans: Span[], polls: Polls): Promise<GpuServer[]> {
  const out: GpuServer[] = [];
  for (let i = 0; i < n; i++) {
    const open = new Map<string, number>();
    out.push(await startGpuServer({
      dialect: 'vllm-omni', model: MODEL, jobMs, record: false,
      onStart: (id, at) => open.set(id, at),
      onFinish: (id, at) => { spans.push({ server: i, id, start: open.get(id)!, end: at }); open.delete(id); },
      onRequest: (method, path, at) => {
        const id = method === 'GET' ? /^\/v1\/videos\/([^/?]+)$/.exec(path)?.[1] : undefined;
        if (id) polls.set(id, [...(polls.get(id) ?? []), at]);
      },
    }));
  }
  return out;
}

/** Each idle gap split in two: until a poll saw the job done, and from that poll until the next job arrived. */
function gapParts(spans: Span[], polls: Polls, servers: number): { seen: number[]; dispatched: number[] } {
  const seen: number[] = [];
  const dispatched: number[] = [];
  for (let s = 0; s < servers; s++) {
    const mine = spans.filter((x) => x.server === s).sort((a, b) => a.start - b.start);
    for (let i = 1; i < mine.length; i++) {
      const prev = mine[i - 1]!;
      const sawDone = (polls.get(prev.id) ?? []).find((at) => at >= prev.end);
      if (sawDone === undefined) continue;
      seen.push(sawDone - prev.end);
      dispatched.push(mine[i]!.start - sawDone);
    }
  }
  return { seen, dispatched };
}

/** The baseline: one bare client per server, back to back, polling every 10 ms. */
async function bareRun(servers: GpuServer[], jobs: number, image: Buffer): Promise<{ wall: number; t0: number }> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(servers.map(async (g) => {
    while (next < jobs) {
      next++;
      const form = new FormData();
      form.set('model', MODEL);
      form.set('prompt', 'bench');
      form.set('seconds', '2');
      form.set('input_reference', new Blob([new Uint8Array(image)], { type: 'image/png' }), 'image.png');
      const created = (await (await fetch(`${g.baseUrl}/videos`, { method: 'POST', body: form })).json()) as { id: string };
      for (;;) {
        const r = (await (await fetch(`${g.baseUrl}/videos/${created.id}`)).json()) as { status: string };
        if (r.status === 'completed') break;
        await new Promise((res) => setTimeout(res, 10));
      }
    }
  }));
  return { wall: performance.now() - t0, t0 };
}

/** Reelay in front of the same servers: every task submitted at once through the API, then wait until all succeeded. */
async function reelayRun(servers: GpuServer[], jobs: number, image: Buffer): Promise<{ wall: number; t0: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'reelay-bench-gpu-'));
  const cleanDir = onCleanup(() => rm(dataDir, { recursive: true, force: true }));
  const env = {
    REELAY_DATA_DIR: dataDir, LOG_LEVEL: 'error', REELAY_CATALOG: CATALOG, REELAY_ALLOW_PRIVATE_URLS: '1', REELAY_RATE_LIMIT_PER_MINUTE: '1000000', REELAY_MAX_ACTIVE_TASKS_PER_KEY: String(jobs + 10),
    REELAY_UPSTREAM_CHANNELS: JSON.stringify(servers.map((g, i) => ({ name: `gpu-${i}`, provider: 'openai-videos', dialect: 'vllm-omni', baseUrl: g.baseUrl, models: ['wan2.2-i2v-a14b'] }))),
  };
  const created = await cli(['keys', 'create', '--name', 'bench', '--credits', String(jobs * 100), '--json'], env);
  if (created.code !== 0) throw new Error(created.stderr);
  const { key } = JSON.parse(created.stdout) as { key: string };
  const server = await startChild(env);
  const stop = onCleanup(async () => { server.child.kill('SIGTERM'); await new Promise((r) => server.child.once('exit', r)); });
  try {
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const body = JSON.stringify({ model: 'wan2.2-i2v-a14b', prompt: 'bench', aspect_ratio: '16:9', seconds: 2, size: '480p', images: [`data:image/png;base64,${image.toString('base64')}`] });
    const t0 = performance.now();
    const ids: string[] = [];
    // Eight submits at a time: one key may have only so many submissions read at once (REELAY_MAX_CONCURRENT_SUBMITS).
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (ids.length < jobs) {
        ids.push('');
        const r = await fetch(`${server.base}/v1/video/generations`, { method: 'POST', headers, body });
        if (r.status !== 200) throw new Error(`submit answered ${r.status}: ${await r.text()}`);
        ids[ids.indexOf('')] = ((await r.json()) as { id: string }).id;
      }
    }));
    // One list call every 50 ms (not one poll per task), so watching does not load the server being measured.
    const pending = new Set(ids);
    while (pending.size) {
      const page = (await (await fetch(`${server.base}/v1/video/generations?limit=${Math.min(100, jobs)}`, { headers })).json()) as { data: { id: string; status: string; error: unknown }[] };
      for (const t of page.data) {
        if (t.status === 'succeeded') pending.delete(t.id);
        else if (t.status === 'failed' || t.status === 'cancelled') throw new Error(`task ${t.id} ${t.status}: ${JSON.stringify(t.error)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return { wall: performance.now() - t0, t0 };
  } finally {
    await stop();
    await cleanDir();
  }
}

export async function gpuBench(): Promise<void> {
  const m = Number(process.env.BENCH_GPU_SERVERS ?? 3);
  const n = Number(process.env.BENCH_GPU_JOBS ?? 36);
  const jobMs = Number(process.env.BENCH_GPU_JOB_MS ?? 1000);
  // The tasks are watched through one list page (at most 100).
  if (!(n >= 1 && n <= 100)) throw new Error('BENCH_GPU_JOBS must be 1–100');
  const image = await sharp({ create: { width: 832, height: 480, channels: 3, background: '#446' } }).png().toBuffer();
  const ideal = Math.ceil(n / m) * jobMs;
  const report = (label: string, run: { wall: number; t0: number }, spans: Span[], polls: Polls, servers: GpuServer[]) => {
    const { wall, t0 } = run;
    const gaps = idleGaps(spans, m);
    const parts = gapParts(spans, polls, m);
    const perServer = Array.from({ length: m }, (_, i) => spans.filter((x) => x.server === i).length);
    const firstStart = Math.min(...spans.map((x) => x.start)) - t0;
    const lastEnd = Math.max(...spans.map((x) => x.end)) - t0;
    console.log(`${label}: ${n} jobs over ${m} servers in ${(wall / 1000).toFixed(2)} s = ${(wall / ideal).toFixed(3)} × ideal; `
      + `idle gap between jobs mean ${(mean(gaps) / 1000).toFixed(3)} s, p50 ${(pct(gaps, 0.5) / 1000).toFixed(3)} s, max ${(Math.max(...gaps) / 1000).toFixed(3)} s `
      + `(${gaps.length} gaps); most jobs on one server at once ${Math.max(...servers.map((g) => g.maxRunning))}, 503s ${servers.reduce((s, g) => s + g.busyAnswers, 0)}; `
      + `first job started ${(firstStart / 1000).toFixed(2)} s after the first submit, last video collected ${((wall - lastEnd) / 1000).toFixed(2)} s after its job ended; `
      + `jobs per server ${perServer.join('/')}; a gap is mean ${(mean(parts.seen) / 1000).toFixed(3)} s until a poll sees the job done + ${(mean(parts.dispatched) / 1000).toFixed(3)} s until the next job arrives`);
    return { wall, gap: mean(gaps) };
  };
  console.log(`gpu: ${m} one-GPU servers, ${n} jobs of ${jobMs} ms; ideal back-to-back schedule ${(ideal / 1000).toFixed(2)} s`);

  const bareSpans: Span[] = [];
  const barePolls: Polls = new Map();
  const bareFakes = await fakes(m, jobMs, bareSpans, barePolls);
  const closeBare = onCleanup(async () => { for (const g of bareFakes) await g.close(); });
  const bare = report('baseline bare client (10 ms polls)', await bareRun(bareFakes, n, image), bareSpans, barePolls, bareFakes);
  await closeBare();

  const spans: Span[] = [];
  const polls: Polls = new Map();
  const servers = await fakes(m, jobMs, spans, polls);
  const closeFakes = onCleanup(async () => { for (const g of servers) await g.close(); });
  try {
    const r = report('reelay (default 500 ms channel poll)', await reelayRun(servers, n, image), spans, polls, servers);
    console.log(`gpu ratio: wall ${(r.wall / ideal).toFixed(3)} × ideal (goal <= 1.15), ${(r.wall / bare.wall).toFixed(3)} × bare client; `
      + `mean idle gap ${(r.gap / 1000).toFixed(3)} s (goal <= 0.5 s; bare client ${(bare.gap / 1000).toFixed(3)} s)`);
  } finally {
    await closeFakes();
  }
}
