/**
 * Hostile neighbour (issue "One key must not hurt the others"): one server
 * (`reelay serve`, role all, SQLite, default limits) in a child process, a
 * victim key doing ordinary work, and — in the second phase — a hostile key
 * doing everything at once. Printed per phase: the victim's submit, poll and
 * webhook latency (p50/p99), /healthz p99, the server's peak RSS and how much
 * blobs/inputs grew; then the hostile phase against the goals (victim within
 * 1.5× of the quiet phase, /healthz p99 < 250 ms, RSS < 600 MB).
 *
 * The hostile key (bench/hostile-load.ts, its own process and its own
 * loopback address): slow multipart uploads (a trickle that holds a
 * connection and a submit slot), submit+cancel loops of an ~11.5 MB 4k PNG
 * whose callbacks go to a receiver that never answers, order=asc listings
 * over 20 000 tasks, and /readyz floods. Everything is loopback, every loop is
 * bounded in count and by the phase's deadline (BENCH_HOSTILE_SECONDS,
 * default 40, at most 60).
 *
 * Before either phase's clock starts, the server has run the victim's
 * requests and, with a third key, one of each of the hostile's (a cold
 * path's first run is not one key's load on another); the hostile key's own
 * budgets are untouched, so its first-second burst is measured.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.ts';
import { openStore } from '../src/store.ts';
import { cli, startChild } from '../test/helpers/child-server.ts';
import { makeImage, dataUri } from '../test/helpers/images.ts';
import { storedTask } from '../test/helpers/stored-task.ts';
import { onCleanup } from './lib/child.ts';
import type { HostileOrders } from './hostile-load.ts';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};
const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)} ms` : 'n/a');
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

interface PhaseResult {
  submit: number[]; submitAt: number[]; doneInOrder: number[]; polls: number[]; webhooks: number[]; submitted: number; hooked: number; rejected: Record<string, number>;
  healthz: number[]; healthzAt: number[]; rssMb: number; inputsMb: number; load: string; cpu: { server: number; ffmpeg: number; victim: number }; hostile?: Record<string, Record<string, number>>;
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? await dirBytes(p) : (await stat(p).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

/** utime, stime, cutime, cstime of a process in seconds (fields 14–17; 11–14 after the state; 100 ticks a second on Linux). */
async function procCpu(pid: number): Promise<number[]> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  return [f[11] ?? 0, f[12] ?? 0, f[13] ?? 0, f[14] ?? 0].map((t) => t / 100);
}

/**
 * CPU seconds of the server itself, and of what it runs: ffmpeg and ffprobe are children of its spawner helper,
 * so they count once the helper has reaped them (its cutime + cstime), plus the helper's own.
 */
async function cpuSeconds(pid: number): Promise<{ self: number; children: number }> {
  const [u, s, cu, cs] = await procCpu(pid);
  const kids = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')).trim().split(/\s+/).filter(Boolean).map(Number);
  let children = cu! + cs!;
  for (const k of kids) children += (await procCpu(k)).reduce((a, b) => a + b, 0);
  return { self: u! + s!, children };
}

async function peakRssMb(pid: number): Promise<number> {
  const m = /VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Webhook receivers on loopback: one answers at once and notes when each event arrived, one never answers. */
async function receivers() {
  const arrivals: { at: number; sentAt: number; task: string }[] = [];
  const fast = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
      const at = Date.now();
      const ev = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { timestamp: string; data: { id: string } };
      arrivals.push({ at, sentAt: Date.parse(ev.timestamp), task: ev.data.id });
      res.writeHead(200).end();
    });
  });
  const hanging = createServer(() => { /* reads the request, never answers */ });
  const listen = (s: Server) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port)));
  const [fp, hp] = [await listen(fast), await listen(hanging)];
  const close = (s: Server) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); });
  return {
    arrivals, fastUrl: `http://127.0.0.1:${fp}/hook`, hangingUrl: `http://127.0.0.1:${hp}/hook`,
    close: () => Promise.all([close(fast), close(hanging)]),
  };
}

/**
 * The victim: a small task (360p, 3 s) every second with a callback, polling its latest task twice a second.
 * Small on purpose: a 720p 4 s render costs ~3.5 CPU-s here, so one every 2 s kept both cores busy with the
 * victim's own renders and the "quiet" phase was not quiet.
 */
async function victimBody(hookUrl: string): Promise<string> {
  const img = dataUri(await makeImage(320, 180));
  return JSON.stringify({ model: 'gemini-omni-1.1-flash', prompt: 'push in', aspect_ratio: '16:9', size: '360p', seconds: 3, images: [img], callback_url: hookUrl });
}

/**
 * Three of the victim's tasks, submitted and rendered before the clock starts: a fresh server answers its first
 * submits 2–3× slower (cold code), and with 58 samples a phase's p99 is its slowest one, so without this both
 * phases' p99 measured the server's start, not the hostile key.
 */
async function warmUp(base: string, auth: Record<string, string>, hookUrl: string) {
  const body = await victimBody(hookUrl);
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await fetch(`${base}/v1/video/generations`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
    const j = (await r.json()) as { id?: string };
    if (!r.ok || !j.id) throw new Error(`warm-up submit answered ${r.status}`);
    ids.push(j.id);
  }
  for (const id of ids) {
    for (let i = 0; i < 300; i++) {
      const t = (await (await fetch(`${base}/v1/video/generations/${id}`, { headers: auth })).json()) as { status?: string };
      if (t.status !== 'queued' && t.status !== 'processing') break;
      await sleep(100);
    }
  }
}

async function victim(base: string, auth: Record<string, string>, hookUrl: string, deadline: number) {
  const out = { submit: [] as number[], submitAt: [] as number[], polls: [] as number[], ids: [] as string[], sentAt: new Map<string, number>(), rejected: {} as Record<string, number> };
  const body = await victimBody(hookUrl);
  const polling = (async () => {
    while (Date.now() < deadline) {
      const id = out.ids.at(-1);
      if (id) {
        const t0 = performance.now();
        const r = await fetch(`${base}/v1/video/generations/${id}`, { headers: auth, signal: AbortSignal.timeout(20_000) }).catch(() => null);
        await r?.arrayBuffer().catch(() => {});
        out.polls.push(performance.now() - t0);
      }
      await sleep(500);
    }
  })();
  for (let i = 0; i < 60 && Date.now() < deadline - 2000; i++) {
    const next = Date.now() + 1000;
    const sent = Date.now();
    const t0 = performance.now();
    const r = await fetch(`${base}/v1/video/generations`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(20_000) })
      .catch(() => null);
    const j = (await r?.json().catch(() => null)) as { id?: string } | null;
    out.submit.push(performance.now() - t0);
    out.submitAt.push(t0);
    if (r?.status === 200 && j?.id) { out.ids.push(j.id); out.sentAt.set(j.id, sent); }
    else out.rejected[String(r?.status ?? 'no answer')] = (out.rejected[String(r?.status ?? 'no answer')] ?? 0) + 1;
    await sleep(Math.max(0, next - Date.now()));
  }
  await polling;
  return out;
}

/** One GET of `path` every `everyMs` (what a load balancer's health check does); the latencies (and when each was sent, in `lat.at`). */
async function probe(base: string, path: string, everyMs: number, deadline: number): Promise<number[] & { at: number[] }> {
  const lat = Object.assign([] as number[], { at: [] as number[] });
  while (Date.now() < deadline) {
    const next = Date.now() + everyMs;
    const t0 = performance.now();
    const r = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000) }).catch(() => null);
    await r?.arrayBuffer().catch(() => {});
    lat.push(r?.ok ? performance.now() - t0 : 10_000);
    lat.at.push(t0);
    await sleep(Math.max(0, next - Date.now()));
  }
  return lat;
}

/**
 * The hostile key, in its own process from its own address (bench/hostile-load.ts), prepared before the
 * phase starts; `go(deadline)` starts it and resolves with what its requests got.
 */
async function prepareHostile(orders: Omit<HostileOrders, 'deadline'>) {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./hostile-load.ts', import.meta.url)), JSON.stringify({ ...orders, deadline: 0 })],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  const stop = onCleanup(async () => { child.kill('SIGKILL'); });
  let out = '';
  const exit = new Promise<number | null>((r) => child.once('exit', r));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => { out += d.toString('utf8'); if (out.startsWith('ready\n')) resolve(); });
    void exit.then((code) => reject(new Error(`the hostile load process exited with ${code} before it was ready`)));
  });
  return {
    async go(deadline: number): Promise<Record<string, Record<string, number>>> {
      child.stdin!.end(`${deadline}\n`);
      const code = await exit;
      await stop();
      if (code !== 0) throw new Error(`the hostile load process exited with ${code}`);
      return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, Record<string, number>>;
    },
  };
}

/** Keys, 20 000 stored tasks of the hostile key (what its order=asc listings walk), then the server. */
async function setUp(dataDir: string) {
  const env = { REELAY_DATA_DIR: dataDir, LOG_LEVEL: 'error', REELAY_ALLOW_PRIVATE_URLS: '1' };
  const key = async (name: string) => {
    const c = await cli(['keys', 'create', '--name', name, '--credits', '100000000', '--json'], env);
    if (c.code !== 0) throw new Error(c.stderr);
    return JSON.parse(c.stdout) as { key: string; id: string };
  };
  const [victimKey, hostileKey, warmKey] = [await key('victim'), await key('hostile'), await key('warm-up')];
  const store = await openStore(loadConfig(env));
  const cursors: string[] = [];
  const t0 = Date.now() - 30 * 86400_000;
  await store.transaction(async (r) => {
    for (let i = 0; i < 20_000; i++) {
      const t = storedTask(hostileKey.id, t0 + i * 1000, { status: 'failed' });
      await r.tasks.insert(t);
      if (i % 1000 === 0) cursors.push(t.id);
    }
  });
  await store.db.close();
  const server = await startChild(env);
  const stop = onCleanup(async () => { server.child.kill('SIGTERM'); await new Promise((r) => server.child.once('exit', r)); });
  return {
    server, stop, cursors, env, hostileId: hostileKey.id,
    victim: { authorization: `Bearer ${victimKey.key}` }, hostile: { authorization: `Bearer ${hostileKey.key}` },
    warm: { authorization: `Bearer ${warmKey.key}` },
  };
}

/** Of the hostile key's submitted tasks: how many a worker claimed before their cancel landed, and how many were never cancelled. */
async function hostileLeft(env: Record<string, string>, keyId: string): Promise<string> {
  const store = await openStore(loadConfig(env));
  const count = async (started: boolean, active: boolean) => {
    const r = await store.db.kysely.selectFrom('tasks').select((eb) => eb.fn.countAll<number>().as('n')).where('key_id', '=', keyId)
      .where('started_at', started ? 'is not' : 'is', null).where('status', active ? 'in' : 'not in', ['queued', 'processing']).executeTakeFirst();
    return Number(r?.n ?? 0);
  };
  try {
    return `claimed by a worker before their cancel: ${await count(true, false) + await count(true, true)}, never cancelled: ${await count(false, true) + await count(true, true)}`;
  } finally {
    await store.db.close();
  }
}

async function runPhase(withHostile: boolean, seconds: number): Promise<PhaseResult> {
  const dataDir = await mkdtemp(join(tmpdir(), 'reelay-bench-hostile-'));
  const cleanDir = onCleanup(() => rm(dataDir, { recursive: true, force: true }));
  const hooks = await receivers();
  try {
    const s = await setUp(dataDir);
    try {
      await warmUp(s.server.base, s.victim, hooks.fastUrl);
      const inputsBefore = await dirBytes(join(dataDir, 'blobs', 'inputs'));
      const loadBefore = loadavg()[0]!.toFixed(1);
      // Both phases' servers have run every path the hostile phase uses before the clock starts (a third key's
      // requests, BENCH_HOSTILE_WARM=0 to skip): without it, the hostile phase's p99 was its first seconds, the
      // server's first list pages, multipart uploads and refusals, not one key's steady load (bench/README.md).
      const warm = process.env.BENCH_HOSTILE_WARM !== '0';
      const hostile = withHostile || warm ? await prepareHostile({
        base: s.server.base, authorization: s.hostile.authorization, hangingUrl: hooks.hangingUrl, cursors: s.cursors,
        ...(warm ? { warmAuthorization: s.warm.authorization } : {}),
        // BENCH_HOSTILE_ONLY=uploads,cancels,asc,readyz runs a part of the repertoire (to see which part hurts).
        ...(!withHostile ? { only: [] } : process.env.BENCH_HOSTILE_ONLY ? { only: process.env.BENCH_HOSTILE_ONLY.split(',') } : {}),
      }) : undefined;
      const deadline = Date.now() + seconds * 1000;
      const cpuBefore = await cpuSeconds(s.server.child.pid!);
      const ownBefore = process.cpuUsage();
      const [v, healthz, h] = await Promise.all([
        victim(s.server.base, s.victim, hooks.fastUrl, deadline),
        probe(s.server.base, '/healthz', 100, deadline),
        hostile ? hostile.go(deadline) : Promise.resolve(undefined),
      ]);
      // Webhooks of the victim's last tasks: a little longer to arrive (bounded).
      for (let i = 0; i < 150 && hooks.arrivals.filter((a) => v.ids.includes(a.task)).length < v.ids.length; i++) await sleep(100);
      const mine = hooks.arrivals.filter((a) => v.ids.includes(a.task));
      const cpuAfter = await cpuSeconds(s.server.child.pid!);
      const own = process.cpuUsage(ownBefore);
      return {
        submit: v.submit, submitAt: v.submitAt, polls: v.polls, healthzAt: healthz.at, submitted: v.ids.length, rejected: v.rejected, hooked: mine.length,
        doneInOrder: v.ids.map((id) => { const a = mine.find((m) => m.task === id); return a ? a.at - v.sentAt.get(id)! : NaN; }),
        webhooks: mine.map((a) => a.at - a.sentAt), healthz, rssMb: await peakRssMb(s.server.child.pid!),
        cpu: { server: cpuAfter.self - cpuBefore.self, ffmpeg: cpuAfter.children - cpuBefore.children, victim: (own.user + own.system) / 1e6 },
        inputsMb: (await dirBytes(join(dataDir, 'blobs', 'inputs')) - inputsBefore) / 1e6, load: `${loadBefore} → ${loadavg()[0]!.toFixed(1)}`,
        ...(h && withHostile ? { hostile: h } : {}),
      };
    } finally {
      await s.stop();
      if (withHostile) console.log(`  (hostile tasks ${await hostileLeft(s.env, s.hostileId)})`);
    }
  } finally {
    await hooks.close();
    await cleanDir();
  }
}

function report(name: string, r: PhaseResult, samples = true) {
  const done = r.doneInOrder.filter(Number.isFinite);
  // BENCH_HOSTILE_SAMPLES=1 prints every victim submit latency in the order sent (one a second), to see when the slow ones came
  // (and each task's submit→webhook time, to see which waited behind another key's render),
  // each with the slowest /healthz that overlapped it: a slow submit beside a slow /healthz is the event loop stalled for
  // everyone; beside a fast one it is something on the submit's own path (a thread-pool queue, a lock).
  if (process.env.BENCH_HOSTILE_SAMPLES && samples) {
    const beside = r.submit.map((lat, i) => {
      const from = r.submitAt[i]!, to = from + lat;
      return Math.max(0, ...r.healthz.filter((h, j) => r.healthzAt[j]! < to && r.healthzAt[j]! + h > from));
    });
    console.log(`  ${name}: victim submits (ms, one a second; /slowest /healthz beside it): ${r.submit.map((x, i) => `${x.toFixed(0)}/${beside[i]!.toFixed(0)}`).join(' ')}`);
    console.log(`  ${name}: victim submit→webhook (ms, in the order submitted; - : no webhook): ${r.doneInOrder.map((x) => (Number.isFinite(x) ? x.toFixed(0) : '-')).join(' ')}`);
  }
  console.log(`  ${name}: victim ${r.submitted} tasks${Object.keys(r.rejected).length ? ` (refused: ${JSON.stringify(r.rejected)})` : ''}`
    + `  submit p50 ${ms(pct(r.submit, 50))} p99 ${ms(pct(r.submit, 99))}`
    + `  poll p50 ${ms(pct(r.polls, 50))} p99 ${ms(pct(r.polls, 99))}`
    + `  webhook ${r.hooked}/${r.submitted} p50 ${ms(pct(r.webhooks, 50))} p99 ${ms(pct(r.webhooks, 99))}`
    + `  submit→webhook p50 ${ms(pct(done, 50))} p99 ${ms(pct(done, 99))}`);
  console.log(`  ${' '.repeat(name.length)}  /healthz p50 ${ms(pct(r.healthz, 50))} p99 ${ms(pct(r.healthz, 99))} (${r.healthz.length} probes)`
    + `  server peak RSS ${r.rssMb.toFixed(0)} MB  blobs/inputs +${r.inputsMb.toFixed(1)} MB  (machine load average ${r.load})`);
  console.log(`  ${' '.repeat(name.length)}  server CPU ${r.cpu.server.toFixed(1)} s, its ffmpeg ${r.cpu.ffmpeg.toFixed(1)} s, this process (victim, probes, receivers) ${r.cpu.victim.toFixed(1)} s`);
  for (const [what, counts] of Object.entries(r.hostile ?? {})) console.log(`  ${' '.repeat(name.length)}  hostile ${what}: ${JSON.stringify(counts)}`);
}

/** The samples of several phases as one (RSS: the highest), so that a p99 is more than the single slowest submit. */
function pool(rs: PhaseResult[]): PhaseResult {
  const all = <K extends 'doneInOrder' | 'submit' | 'submitAt' | 'polls' | 'webhooks' | 'healthz' | 'healthzAt'>(k: K) => rs.flatMap((r) => r[k]);
  const sum = (f: (r: PhaseResult) => number) => rs.reduce((a, r) => a + f(r), 0);
  const rejected: Record<string, number> = {};
  for (const r of rs) for (const [k, n] of Object.entries(r.rejected)) rejected[k] = (rejected[k] ?? 0) + n;
  return {
    doneInOrder: all('doneInOrder'), submit: all('submit'), submitAt: all('submitAt'), polls: all('polls'), webhooks: all('webhooks'),
    healthz: all('healthz'), healthzAt: all('healthzAt'), submitted: sum((r) => r.submitted), hooked: sum((r) => r.hooked), rejected,
    rssMb: Math.max(...rs.map((r) => r.rssMb)), inputsMb: Math.max(...rs.map((r) => r.inputsMb)), load: rs.map((r) => r.load).join(', '),
    cpu: { server: sum((r) => r.cpu.server), ffmpeg: sum((r) => r.cpu.ffmpeg), victim: sum((r) => r.cpu.victim) },
  };
}

export async function hostileBench(): Promise<void> {
  const seconds = Math.min(60, Number(process.env.BENCH_HOSTILE_SECONDS ?? 40));
  // BENCH_HOSTILE_ROUNDS=3 alternates the phases three times and pools their samples (174 submits a side at 60 s).
  const rounds = Math.max(1, Math.min(10, Number(process.env.BENCH_HOSTILE_ROUNDS ?? 1)));
  console.log(`hostile: ${rounds > 1 ? `${rounds} rounds of ` : ''}two phases of ${seconds} s on a fresh server each (role all, SQLite, default limits)`);
  const quiets: PhaseResult[] = [], louds: PhaseResult[] = [];
  for (let i = 0; i < rounds; i++) {
    quiets.push(await runPhase(false, seconds));
    report('quiet  ', quiets.at(-1)!);
    louds.push(await runPhase(true, seconds));
    report('hostile', louds.at(-1)!);
  }
  const [quiet, loud] = [pool(quiets), pool(louds)];
  if (rounds > 1) {
    console.log(`  pooled over ${rounds} rounds:`);
    report('quiet  ', quiet, false);
    report('hostile', loud, false);
  }
  const ratio = (a: number[], b: number[], p: number) => pct(b, p) / pct(a, p);
  console.log(`  victim under hostile load / quiet: submit p50 ×${ratio(quiet.submit, loud.submit, 50).toFixed(2)} p99 ×${ratio(quiet.submit, loud.submit, 99).toFixed(2)}`
    + `  webhook p50 ×${ratio(quiet.webhooks, loud.webhooks, 50).toFixed(2)} p99 ×${ratio(quiet.webhooks, loud.webhooks, 99).toFixed(2)}  (goal ≤ 1.5)`);
  console.log(`  /healthz p99 ${ms(pct(loud.healthz, 99))} (goal < 250 ms)  server peak RSS ${loud.rssMb.toFixed(0)} MB (goal < 600 MB)`
    + `  blobs/inputs +${loud.inputsMb.toFixed(1)} MB after the hostile phase`);
}
