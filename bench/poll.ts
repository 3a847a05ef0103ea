import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import autocannon from 'autocannon';
import { onCleanup, spawnServer } from './lib/child.ts';

/**
 * Poll throughput (issue "Core task API"): GET /v1/video/generations/{id} on a
 * real Reelay vs a bare Fastify route returning the same JSON, measured in
 * the same run. Each server runs in its own child process; autocannon runs
 * here. Goal: reelay / bare >= 0.6.
 */
export interface PollBenchOptions {
  /** Seconds per measured run. */
  durationSec: number;
  /** Seconds of discarded warm-up per target. */
  warmupSec: number;
  connections: number;
  pipelining: number;
  /** Measured rounds; each round runs bare then reelay. */
  rounds: number;
  /** If set, the Reelay child runs with --cpu-prof and writes its profile here on exit. */
  cpuProfDir?: string;
}

export function pollOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): PollBenchOptions {
  const num = (name: string, dflt: number, min: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return dflt;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < min) throw new Error(`${name} must be a number >= ${min} (got ${JSON.stringify(raw)})`);
    return v;
  };
  return {
    durationSec: num('BENCH_DURATION', 10, 1),
    warmupSec: num('BENCH_WARMUP', 2, 0),
    connections: Math.floor(num('BENCH_CONNECTIONS', 50, 1)),
    pipelining: 1,
    rounds: Math.floor(num('BENCH_ROUNDS', 2, 1)),
    ...(env.BENCH_CPU_PROF ? { cpuProfDir: env.BENCH_CPU_PROF } : {}),
  };
}

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const REELAY_SERVER = here('./servers/reelay-server.ts');
const BARE_SERVER = here('./servers/bare-server.ts');

type Target = 'bare fastify' | 'reelay';

interface Run { target: Target; rps: number; p50: number; p99: number; errors: number; timeouts: number; non2xx: number; requests: number }

async function cannon(url: string, headers: Record<string, string>, o: PollBenchOptions, durationSec: number) {
  return autocannon({ url, headers, connections: o.connections, pipelining: o.pipelining, duration: durationSec });
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

export async function pollBench(opts: PollBenchOptions): Promise<void> {
  console.log(`poll: GET /v1/video/generations/{id}: ${opts.connections} connections, pipelining ${opts.pipelining}, `
    + `${opts.rounds} round(s) x ${opts.durationSec} s per target, ${opts.warmupSec} s warm-up`);

  const tmp = await mkdtemp(join(tmpdir(), 'reelay-bench-poll-'));
  const removeTmp = onCleanup(() => rm(tmp, { recursive: true, force: true }));
  let stopReelay: (() => Promise<void>) | undefined;
  let stopBare: (() => Promise<void>) | undefined;
  try {
    // 1. Reelay, with one task rendered to `succeeded` (its poll signs url + thumbnail_url).
    const dataDir = join(tmp, 'data');
    await mkdir(dataDir);
    if (opts.cpuProfDir) await mkdir(opts.cpuProfDir, { recursive: true });
    process.stdout.write('  starting reelay and rendering one task … ');
    const started = Date.now();
    const reelay = await spawnServer<{ base: string; key: string; taskId: string }>(REELAY_SERVER, [], {
      name: 'reelay server',
      env: { BENCH_DATA_DIR: dataDir },
      nodeArgs: opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : [],
      readyTimeoutMs: 330_000,
    });
    stopReelay = reelay.stop;
    console.log(`ready in ${fmt((Date.now() - started) / 1000, 1)} s`);
    const { base, key, taskId } = reelay.info;
    const path = `/v1/video/generations/${taskId}`;
    const auth = { authorization: `Bearer ${key}` };

    const first = await fetch(`${base}${path}`, { headers: auth });
    const bodyText = await first.text();
    if (first.status !== 200) throw new Error(`reelay poll: HTTP ${first.status} ${bodyText}`);
    const task = JSON.parse(bodyText) as { status: string; url: string | null; thumbnail_url: string | null };
    if (task.status !== 'succeeded' || !task.url || !task.thumbnail_url) throw new Error(`expected a succeeded task with links, got ${bodyText}`);

    // 2. The bare baseline serving exactly that object.
    const bodyFile = join(tmp, 'task.json');
    await writeFile(bodyFile, bodyText);
    const bare = await spawnServer<{ base: string }>(BARE_SERVER, [bodyFile], { name: 'bare server' });
    stopBare = bare.stop;
    const bareRes = await fetch(`${bare.info.base}${path}`);
    const bareText = await bareRes.text();
    if (bareRes.status !== 200 || !isDeepStrictEqual(JSON.parse(bareText), task)) {
      throw new Error(`bare server does not return the same object (HTTP ${bareRes.status}): ${bareText}`);
    }
    console.log(`  task ${taskId} (${task.status}), body ${bodyText.length} bytes (reelay) / ${bareText.length} bytes (bare)`);

    const targets: Record<Target, { url: string; headers: Record<string, string> }> = {
      'bare fastify': { url: `${bare.info.base}${path}`, headers: {} },
      reelay: { url: `${base}${path}`, headers: auth },
    };
    const order: Target[] = ['bare fastify', 'reelay'];

    // 3. Warm-up (JIT, connection pools, SQLite page cache), discarded.
    if (opts.warmupSec > 0) {
      for (const t of order) {
        await cannon(targets[t].url, targets[t].headers, opts, opts.warmupSec);
      }
      console.log(`  warm-up done (${opts.warmupSec} s each, discarded)`);
    }

    // 4. Measured rounds, alternating so drift (thermal, noisy neighbours) hits both.
    const runs: Run[] = [];
    for (let round = 1; round <= opts.rounds; round++) {
      for (const t of order) {
        const r = await cannon(targets[t].url, targets[t].headers, opts, opts.durationSec);
        const run: Run = {
          target: t, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99,
          errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx, requests: r.requests.total,
        };
        runs.push(run);
        console.log(`  round ${round} ${t.padEnd(12)} ${fmt(run.rps).padStart(9)} req/s  p50 ${fmt(run.p50, 1)} ms  p99 ${fmt(run.p99, 1)} ms  `
          + `(${fmt(run.requests)} requests, non2xx ${run.non2xx}, errors ${run.errors}, timeouts ${run.timeouts})`);
      }
    }

    // 5. Summary.
    const rows = order.map((t) => {
      const rs = runs.filter((r) => r.target === t);
      return {
        target: t, rps: mean(rs.map((r) => r.rps)), p50: mean(rs.map((r) => r.p50)), p99: mean(rs.map((r) => r.p99)),
        non2xx: sum(rs.map((r) => r.non2xx)), errors: sum(rs.map((r) => r.errors)),
      };
    });
    console.log('');
    const header = ['target', 'req/s (mean)', 'p50 ms', 'p99 ms', 'non2xx', 'errors'];
    const cells = rows.map((r) => [r.target, fmt(r.rps), fmt(r.p50, 1), fmt(r.p99, 1), String(r.non2xx), String(r.errors)]);
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
    const line = (c: string[]) => `  ${c.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ')}`;
    console.log(line(header));
    console.log(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
    for (const c of cells) console.log(line(c));
    console.log('');

    const bad = rows.filter((r) => r.non2xx > 0 || r.errors > 0);
    if (bad.length) {
      console.log(`WARNING: non-2xx responses or connection errors (${bad.map((r) => r.target).join(', ')}): the numbers below are not comparable`);
    }
    const ratio = rows[1]!.rps / rows[0]!.rps;
    console.log(`poll ratio (reelay / bare fastify): ${ratio.toFixed(2)} (goal >= 0.6)`);
  } finally {
    await stopBare?.();
    await stopReelay?.();
    await removeTmp();
    if (opts.cpuProfDir) console.log(`  reelay CPU profile written to ${opts.cpuProfDir}`);
  }
}
