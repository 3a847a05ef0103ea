/**
 * The one benchmark command:
 *
 *   node bench/run.ts            # every registered benchmark
 *   node bench/run.ts poll       # only the named ones
 *   node bench/run.ts --list
 *
 * (`npm run bench -- poll` does the same with the bootstrapped Node.)
 * Benchmarks print numbers; they never assert. Add new ones to `benchmarks`.
 */
import { cpus, platform, arch } from 'node:os';
import { cleanupAll } from './lib/child.ts';
import { pollBench, pollOptionsFromEnv } from './poll.ts';
import { renderBench } from './render.ts';
import { dispatchBench } from './dispatch.ts';
import { loadBench } from './load.ts';
import { upstreamBench } from './upstream.ts';
import { gpuBench } from './gpu.ts';
import { hostileBench } from './hostile.ts';

const benchmarks: Record<string, () => Promise<void>> = {
  poll: () => pollBench(pollOptionsFromEnv()),
  render: () => renderBench(),
  dispatch: () => dispatchBench(),
  load: () => loadBench(),
  upstream: () => upstreamBench(),
  gpu: () => gpuBench(),
  hostile: () => hostileBench(),
};

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h') || argv.includes('--list')) {
    console.log(`usage: node bench/run.ts [${Object.keys(benchmarks).join('|')} ...]\nbenchmarks: ${Object.keys(benchmarks).join(', ')}`);
    return 0;
  }
  const names = argv.length ? argv : Object.keys(benchmarks);
  const unknown = names.filter((n) => !Object.hasOwn(benchmarks, n));
  if (unknown.length) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; available: ${Object.keys(benchmarks).join(', ')}\n`);
    return 2;
  }

  const cpu = cpus();
  console.log(`reelay bench: node ${process.version}, ${cpu.length} CPU(s) (${cpu[0]?.model.trim() ?? 'unknown'}), `
    + `${platform()}/${arch()}, ${new Date().toISOString()}`);

  let failed = 0;
  for (const name of names) {
    console.log(`\n== ${name} ==`);
    try {
      await benchmarks[name]!();
    } catch (e) {
      failed++;
      process.stderr.write(`benchmark ${name} failed: ${(e as Error).stack ?? String(e)}\n`);
    }
  }
  return failed ? 1 : 0;
}

let interrupted = false;
const interrupt = (signal: NodeJS.Signals) => {
  if (interrupted) return;
  interrupted = true;
  process.stderr.write(`\n${signal}: stopping servers and removing temp dirs …\n`);
  cleanupAll().finally(() => process.exit(130));
};
process.once('SIGINT', interrupt);
process.once('SIGTERM', interrupt);

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => { process.stderr.write(`${(e as Error).stack ?? String(e)}\n`); process.exitCode = 1; },
);
