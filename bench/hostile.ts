/**
 * Hostile neighbour (issue "One key must not hurt the others"): one server
 * (`reelay serve`, role all, SQLite, default limits) in a child process, a
 * victim key doing ordinary work, and — in the second phase — a hostile key
 * doing everything at once. Printed per phase: the victim's submit, poll and
 * webhook latency (p50/p99), /healthz p99, the server's peak RSS and how much
 * blobs/inputs grew; then the hostile phase against the goals (victim within
 * 1.5× of the quiet phase, /healthz p99 < 250 ms, RSS < 600 MB).
 *
 * The hostile key: slow multipart uploads (a trickle that holds a connection
 * and a submit slot), submit+cancel loops of an ~11.5 MB 4k PNG whose
 * callbacks go to a receiver that never answers, order=asc listings over
 * 20 000 tasks, and /readyz floods. Everything is loopback, every loop is
 * bounded in count and by the phase's deadline (BENCH_HOSTILE_SECONDS,
 * default 40, at most 60).
 */
import { randomFillSync } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadConfig } from '../src/config.ts';
import { openStore } from '../src/store.ts';
import { cli, startChild } from '../test/helpers/child-server.ts';
import { makeImage, dataUri } from '../test/helpers/images.ts';
import { storedTask } from '../test/helpers/stored-task.ts';
import { onCleanup } from './lib/child.ts';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};
const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)} ms` : 'n/a');
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

interface PhaseResult {
  submit: number[]; polls: number[]; webhooks: number[]; done: number[]; submitted: number; hooked: number; rejected: Record<string, number>;
  healthz: number[]; rssMb: number; inputsMb: number; load: string; hostile?: Record<string, Record<string, number>>;
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? await dirBytes(p) : (await stat(p).catch(() => ({ size: 0 }))).size;
  }
  return total;
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

/** The victim: a small task every 2 s with a callback, polling its latest task twice a second. */
async function victim(base: string, auth: Record<string, string>, hookUrl: string, deadline: number) {
  const img = dataUri(await makeImage(320, 180));
  const out = { submit: [] as number[], polls: [] as number[], ids: [] as string[], sentAt: new Map<string, number>(), rejected: {} as Record<string, number> };
  const body = JSON.stringify({ model: 'veo-3.0-fast-generate-001', prompt: 'push in', aspect_ratio: '16:9', seconds: 4, images: [img], callback_url: hookUrl });
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
  for (let i = 0; i < 30 && Date.now() < deadline - 2000; i++) {
    const next = Date.now() + 2000;
    const sent = Date.now();
    const t0 = performance.now();
    const r = await fetch(`${base}/v1/video/generations`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(20_000) })
      .catch(() => null);
    const j = (await r?.json().catch(() => null)) as { id?: string } | null;
    out.submit.push(performance.now() - t0);
    if (r?.status === 200 && j?.id) { out.ids.push(j.id); out.sentAt.set(j.id, sent); }
    else out.rejected[String(r?.status ?? 'no answer')] = (out.rejected[String(r?.status ?? 'no answer')] ?? 0) + 1;
    await sleep(Math.max(0, next - Date.now()));
  }
  await polling;
  return out;
}

/** GET `path` in `lanes` loops until the deadline (at most `max` each); latencies and status counts. */
async function hammer(base: string, path: () => string, lanes: number, max: number, deadline: number, headers: Record<string, string> = {}) {
  const counts: Record<string, number> = {};
  const lat: number[] = [];
  await Promise.all(Array.from({ length: lanes }, async () => {
    for (let i = 0; i < max && Date.now() < deadline; i++) {
      const t0 = performance.now();
      const r = await fetch(`${base}${path()}`, { headers, signal: AbortSignal.timeout(10_000) }).catch(() => null);
      await r?.arrayBuffer().catch(() => {});
      lat.push(performance.now() - t0);
      counts[String(r?.status ?? 'error')] = (counts[String(r?.status ?? 'error')] ?? 0) + 1;
    }
  }));
  return { counts, lat };
}

/** One GET of `path` every `everyMs` (what a load balancer's health check does); the latencies. */
async function probe(base: string, path: string, everyMs: number, deadline: number): Promise<number[]> {
  const lat: number[] = [];
  while (Date.now() < deadline) {
    const next = Date.now() + everyMs;
    const t0 = performance.now();
    const r = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000) }).catch(() => null);
    await r?.arrayBuffer().catch(() => {});
    lat.push(r?.ok ? performance.now() - t0 : 10_000);
    await sleep(Math.max(0, next - Date.now()));
  }
  return lat;
}

/** Multipart uploads that send 2 KB every 250 ms of a 20 MB body: each holds a connection (and a submit slot) until refused or the deadline. */
async function slowUploads(base: string, auth: Record<string, string>, lanes: number, deadline: number) {
  const counts: Record<string, number> = {};
  const url = new URL('/v1/videos', base);
  await Promise.all(Array.from({ length: lanes }, async () => {
    for (let i = 0; i < 10 && Date.now() < deadline; i++) {
      const status = await new Promise<string>((resolve) => {
        const req = request(url, { method: 'POST', headers: { ...auth, 'content-type': 'multipart/form-data; boundary=xx', 'content-length': String(20e6) } });
        req.on('response', (res) => { res.resume(); resolve(String(res.statusCode)); });
        req.on('error', () => resolve('reset'));
        req.write('--xx\r\nContent-Disposition: form-data; name="input_reference"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n');
        const tick = setInterval(() => {
          if (Date.now() >= deadline) { clearInterval(tick); req.destroy(); resolve('held to the end'); return; }
          req.write(Buffer.alloc(2048, 7));
        }, 250);
        req.on('close', () => clearInterval(tick));
      });
      counts[status] = (counts[status] ?? 0) + 1;
    }
  }));
  return counts;
}

/** Submit an ~11.5 MB 4k PNG (multipart) with a callback to the receiver that never answers, then cancel it: a full refund each time. */
async function submitCancel(base: string, auth: Record<string, string>, png: Buffer, hookUrl: string, lanes: number, deadline: number) {
  const counts: Record<string, number> = {};
  const bump = (k: string) => { counts[k] = (counts[k] ?? 0) + 1; };
  // The body is built once: the load generator shares the machine's CPU with the server, so it should spend little.
  const form = new FormData();
  for (const [k, v] of Object.entries({ model: 'veo-3.0-fast-generate-001', prompt: 'big', aspect_ratio: '16:9', seconds: '8', size: '4k', callback_url: hookUrl })) form.set(k, v);
  form.set('images', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'big.png');
  const encoded = new Response(form);
  const headers = { ...auth, 'content-type': encoded.headers.get('content-type')! };
  const body = Buffer.from(await encoded.arrayBuffer());
  await Promise.all(Array.from({ length: lanes }, async () => {
    for (let i = 0; i < 60 && Date.now() < deadline; i++) {
      const r = await fetch(`${base}/v1/video/generations`, { method: 'POST', headers, body, signal: AbortSignal.timeout(30_000) }).catch(() => null);
      const j = (await r?.json().catch(() => null)) as { id?: string } | null;
      bump(`submit ${r?.status ?? 'error'}`);
      if (r?.status === 429) await sleep(200);
      if (!j?.id) continue;
      // The point is the refund: a cancel refused by the rate limit is retried after Retry-After (bounded).
      for (let tries = 0; tries < 20; tries++) {
        const c = await fetch(`${base}/v1/video/generations/${j.id}/cancel`, { method: 'POST', headers: auth, signal: AbortSignal.timeout(10_000) }).catch(() => null);
        await c?.arrayBuffer().catch(() => {});
        bump(`cancel ${c?.status ?? 'error'}`);
        if (c?.status !== 429) break;
        await sleep(1000 * Math.min(5, Number(c.headers.get('retry-after') ?? 1)));
      }
    }
  }));
  return counts;
}

/** An ~11.5 MB PNG at 3840×2160: noise over the top 46 % (incompressible), flat below. */
async function bigPng(): Promise<Buffer> {
  const [w, h] = [3840, 2160];
  const raw = Buffer.alloc(w * h * 3, 90);
  randomFillSync(raw, 0, Math.floor(h * 0.46) * w * 3);
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
}

/** The hostile key's whole repertoire at once, until the deadline. */
async function hostile(base: string, auth: Record<string, string>, hangingUrl: string, deadline: number, cursors: string[]) {
  const png = await bigPng();
  let page = 0;
  // BENCH_HOSTILE_ONLY=uploads,cancels,asc,readyz runs a part of the repertoire (to see which part hurts).
  const only = process.env.BENCH_HOSTILE_ONLY?.split(',');
  const on = (part: string) => !only || only.includes(part);
  const [uploads, cancels, asc, readyz] = await Promise.all([
    on('uploads') ? slowUploads(base, auth, 6, deadline) : {},
    on('cancels') ? submitCancel(base, auth, png, hangingUrl, 3, deadline) : {},
    on('asc') ? hammer(base, () => `/v1/videos?order=asc&limit=100&after=${cursors[page++ % cursors.length]}`, 3, 2000, deadline, auth)
      : { counts: {}, lat: [] },
    on('readyz') ? hammer(base, () => '/readyz', 4, 20_000, deadline) : { counts: {}, lat: [] },
  ]);
  return {
    png: { 'MB': Math.round(png.length / 1e5) / 10 }, 'slow uploads': uploads, 'submit+cancel': cancels,
    'order=asc lists': { ...asc.counts, 'p99 ms': Math.round(pct(asc.lat, 99)) }, '/readyz': readyz.counts,
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
  const [victimKey, hostileKey] = [await key('victim'), await key('hostile')];
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
      const inputsBefore = await dirBytes(join(dataDir, 'blobs', 'inputs'));
      const loadBefore = loadavg()[0]!.toFixed(1);
      const deadline = Date.now() + seconds * 1000;
      const [v, healthz, h] = await Promise.all([
        victim(s.server.base, s.victim, hooks.fastUrl, deadline),
        probe(s.server.base, '/healthz', 100, deadline),
        withHostile ? hostile(s.server.base, s.hostile, hooks.hangingUrl, deadline, s.cursors) : Promise.resolve(undefined),
      ]);
      // Webhooks of the victim's last tasks: a little longer to arrive (bounded).
      for (let i = 0; i < 150 && hooks.arrivals.filter((a) => v.ids.includes(a.task)).length < v.ids.length; i++) await sleep(100);
      const mine = hooks.arrivals.filter((a) => v.ids.includes(a.task));
      return {
        submit: v.submit, polls: v.polls, submitted: v.ids.length, rejected: v.rejected, hooked: mine.length,
        webhooks: mine.map((a) => a.at - a.sentAt), done: mine.map((a) => a.at - v.sentAt.get(a.task)!), healthz, rssMb: await peakRssMb(s.server.child.pid!),
        inputsMb: (await dirBytes(join(dataDir, 'blobs', 'inputs')) - inputsBefore) / 1e6, load: `${loadBefore} → ${loadavg()[0]!.toFixed(1)}`,
        ...(h ? { hostile: h } : {}),
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

function report(name: string, r: PhaseResult) {
  console.log(`  ${name}: victim ${r.submitted} tasks${Object.keys(r.rejected).length ? ` (refused: ${JSON.stringify(r.rejected)})` : ''}`
    + `  submit p50 ${ms(pct(r.submit, 50))} p99 ${ms(pct(r.submit, 99))}`
    + `  poll p50 ${ms(pct(r.polls, 50))} p99 ${ms(pct(r.polls, 99))}`
    + `  webhook ${r.hooked}/${r.submitted} p50 ${ms(pct(r.webhooks, 50))} p99 ${ms(pct(r.webhooks, 99))}`
    + `  submit→webhook p50 ${ms(pct(r.done, 50))} p99 ${ms(pct(r.done, 99))}`);
  console.log(`  ${' '.repeat(name.length)}  /healthz p50 ${ms(pct(r.healthz, 50))} p99 ${ms(pct(r.healthz, 99))} (${r.healthz.length} probes)`
    + `  server peak RSS ${r.rssMb.toFixed(0)} MB  blobs/inputs +${r.inputsMb.toFixed(1)} MB  (machine load average ${r.load})`);
  for (const [what, counts] of Object.entries(r.hostile ?? {})) console.log(`  ${' '.repeat(name.length)}  hostile ${what}: ${JSON.stringify(counts)}`);
}

export async function hostileBench(): Promise<void> {
  const seconds = Math.min(60, Number(process.env.BENCH_HOSTILE_SECONDS ?? 40));
  console.log(`hostile: two phases of ${seconds} s on a fresh server each (role all, SQLite, default limits)`);
  const quiet = await runPhase(false, seconds);
  report('quiet  ', quiet);
  const loud = await runPhase(true, seconds);
  report('hostile', loud);
  const ratio = (a: number[], b: number[], p: number) => pct(b, p) / pct(a, p);
  console.log(`  victim under hostile load / quiet: submit p50 ×${ratio(quiet.submit, loud.submit, 50).toFixed(2)} p99 ×${ratio(quiet.submit, loud.submit, 99).toFixed(2)}`
    + `  webhook p50 ×${ratio(quiet.webhooks, loud.webhooks, 50).toFixed(2)} p99 ×${ratio(quiet.webhooks, loud.webhooks, 99).toFixed(2)}  (goal ≤ 1.5)`);
  console.log(`  /healthz p99 ${ms(pct(loud.healthz, 99))} (goal < 250 ms)  server peak RSS ${loud.rssMb.toFixed(0)} MB (goal < 600 MB)`
    + `  blobs/inputs +${loud.inputsMb.toFixed(1)} MB after the hostile phase`);
}
