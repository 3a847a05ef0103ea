import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * Cleanup registry shared by every benchmark: each resource (child process,
 * temp dir) registers how to release itself; normal paths call the returned
 * function in a `finally`, and run.ts calls cleanupAll() on SIGINT/SIGTERM.
 * Each cleanup runs at most once.
 */
const cleanups: Array<() => Promise<void>> = [];

export function onCleanup(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  const run = () => {
    if (!done) {
      const i = cleanups.indexOf(run);
      if (i >= 0) cleanups.splice(i, 1);
      done = fn();
    }
    return done;
  };
  cleanups.push(run);
  return run;
}

/** Release everything still registered, newest first (children before the temp dirs they use). */
export async function cleanupAll(): Promise<void> {
  while (cleanups.length) {
    try {
      await cleanups[cleanups.length - 1]!();
    } catch (e) {
      process.stderr.write(`cleanup failed: ${(e as Error).message}\n`);
    }
  }
}

export interface ServerChild<T> {
  /** The JSON line the child printed once it was ready. */
  info: T;
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after a grace period; idempotent. */
  stop(): Promise<void>;
  /** The child's recent stderr/stdout (for error messages). */
  output(): string;
}

export interface SpawnOptions {
  name: string;
  env?: Record<string, string>;
  /** Extra Node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/x']. */
  nodeArgs?: string[];
  readyTimeoutMs?: number;
  stopGraceMs?: number;
}

const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;

/**
 * Start `node <script> ...args` and resolve with the first stdout line that is
 * a JSON object with a `base` field. The child's stdin stays open as a pipe, so
 * a child that watches for stdin EOF dies with us even if we are SIGKILLed.
 */
export async function spawnServer<T extends { base: string }>(script: string, args: string[], o: SpawnOptions): Promise<ServerChild<T>> {
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), script, ...args], {
    env: { ...process.env, ...o.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let log = '';
  const keep = (s: string) => { log = (log + s).slice(-16_000); };
  child.stderr!.setEncoding('utf8').on('data', keep);

  const stop = onCleanup(async () => {
    if (exited(child)) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.stdin?.end();
    child.kill('SIGTERM');
    const timer = setTimeout(() => { if (!exited(child)) child.kill('SIGKILL'); }, o.stopGraceMs ?? 10_000);
    await gone;
    clearTimeout(timer);
  });

  try {
    const info = await new Promise<T>((resolve, reject) => {
      const timeoutMs = o.readyTimeoutMs ?? 30_000;
      const timer = setTimeout(() => reject(new Error(`${o.name} did not report ready within ${timeoutMs} ms:\n${log}`)), timeoutMs);
      const lines = createInterface({ input: child.stdout! });
      let ready = false;
      lines.on('line', (line) => {
        if (!ready) {
          try {
            const v = JSON.parse(line) as unknown;
            if (v && typeof v === 'object' && typeof (v as { base?: unknown }).base === 'string') {
              ready = true;
              clearTimeout(timer);
              resolve(v as T);
              return;
            }
          } catch { /* not the ready line */ }
        }
        keep(`${line}\n`);
      });
      child.once('error', (e) => { clearTimeout(timer); reject(e); });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        // Give readline a tick to flush the last lines into the log.
        setImmediate(() => reject(new Error(`${o.name} exited early (${code ?? signal}):\n${log}`)));
      });
    });
    return { info, child, stop, output: () => log };
  } catch (e) {
    await stop();
    throw e;
  }
}
