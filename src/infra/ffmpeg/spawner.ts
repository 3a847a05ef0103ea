import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { lowerPriority } from './lower-priority.ts';

/**
 * Starting a process forks this one first, and fork() copies the page tables
 * of everything mapped: the event loop stops for as long as that takes, which
 * grows with the server's memory (measured: 1 ms at 50 MB RSS, 16 ms at
 * 250 MB, 27 ms at 450 MB, 43 ms at 850 MB). A local render starts three
 * processes, and one key's large uploads raise the RSS for everyone. So
 * ffmpeg and ffprobe are started by a small helper process
 * (spawner-child.ts), and only its messages reach the event loop here.
 * If the helper cannot be started, processes are spawned here as before.
 */

/** util-linux's setpriv ties a child to its parent's life (PR_SET_PDEATHSIG), even across a kill -9. */
export const PDEATHSIG = process.platform === 'linux' && existsSync('/usr/bin/setpriv') ? '/usr/bin/setpriv' : null;

/** The subset of a ChildProcess that run-ffmpeg.ts and probe.ts use; `pid` is set by the 'spawn' event. */
export interface Spawned extends EventEmitter {
  pid: number | undefined;
  readonly stdout: EventEmitter;
  readonly stderr: EventEmitter;
}

type HelperMessage =
  | { t: 'spawn'; id: number; pid: number }
  | { t: 'out' | 'err'; id: number; d: Uint8Array }
  | { t: 'error'; id: number; message: string; code?: string }
  | { t: 'close'; id: number; code: number | null; signal: NodeJS.Signals | null };

let helper: ChildProcess | null = null;
let helperBroken = false;
let nextId = 1;
const live = new Map<number, Spawned>();

function startHelper(): ChildProcess | null {
  const script = fileURLToPath(new URL('./spawner-child.ts', import.meta.url));
  // Only the flags that decide how a .ts file runs: execArgv may hold `-e <someone's script>`, inspector or profiler flags.
  const node = [...process.execArgv.filter((a) => /^--(no-)?(experimental-|disable-warning|warnings)/.test(a)), script];
  try {
    // Detached: a terminal's Ctrl-C must reach Reelay only, not the helper and through it every render.
    const h = spawn(PDEATHSIG ?? process.execPath, PDEATHSIG ? ['--pdeathsig', 'KILL', '--', process.execPath, ...node] : node,
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced', detached: true });
    h.on('message', (m: HelperMessage) => deliver(m));
    const gone = () => {
      if (helper !== h) return;
      helper = null;
      // Whatever it had started dies with it (its disconnect handler, or pdeathsig): say so to their owners.
      for (const [id, s] of live) {
        live.delete(id);
        s.emit('error', Object.assign(new Error('the process helper exited'), { code: 'EHELPER' }));
      }
    };
    h.on('exit', gone);
    h.on('error', () => { helperBroken = true; gone(); });
    h.unref();
    h.channel?.unref();
    return h;
  } catch {
    helperBroken = true;
    return null;
  }
}

function deliver(m: HelperMessage): void {
  const s = live.get(m.id);
  if (!s) return;
  switch (m.t) {
    case 'spawn':
      s.pid = m.pid;
      s.emit('spawn');
      break;
    case 'out':
      s.stdout.emit('data', Buffer.from(m.d));
      break;
    case 'err':
      s.stderr.emit('data', Buffer.from(m.d));
      break;
    case 'error':
      live.delete(m.id);
      settle();
      s.emit('error', Object.assign(new Error(m.message), { code: m.code }));
      break;
    case 'close':
      live.delete(m.id);
      settle();
      s.emit('exit', m.code, m.signal);
      s.emit('close', m.code, m.signal);
      break;
  }
}

/** The helper's channel keeps this process alive only while something it started is running. */
function settle(): void {
  if (live.size === 0) helper?.channel?.unref();
}

/**
 * Start `file` in a process group of its own, stdout and stderr piped, at
 * `nice` levels below us. Events: 'spawn' (pid set), stdout/stderr 'data'
 * (Buffers), 'error', 'exit' and 'close' (code, signal).
 */
export function spawnDetached(file: string, args: string[], o: { nice?: number; pdeathsig?: boolean } = {}): Spawned {
  const [cmd, argv] = o.pdeathsig && PDEATHSIG ? [PDEATHSIG, ['--pdeathsig', 'KILL', '--', file, ...args]] : [file, args];
  if (!helper && !helperBroken) helper = startHelper();
  if (!helper) return direct(cmd, argv, o.nice ?? 0);
  const s = Object.assign(new EventEmitter(), { pid: undefined as number | undefined, stdout: new EventEmitter(), stderr: new EventEmitter() });
  const id = nextId++;
  live.set(id, s);
  helper.channel?.ref();
  helper.send({ t: 'spawn', id, file: cmd, args: argv, nice: o.nice ?? 0 });
  return s;
}

/** Without the helper: spawn here (the old way), with the same events. */
function direct(cmd: string, argv: string[], nice: number): Spawned {
  const c = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const s = Object.assign(new EventEmitter(), { pid: c.pid, stdout: c.stdout, stderr: c.stderr });
  c.once('spawn', () => {
    if (c.pid !== undefined) lowerPriority(c.pid, nice);
    s.emit('spawn');
  });
  c.on('error', (e) => s.emit('error', e));
  c.on('exit', (code, signal) => s.emit('exit', code, signal));
  c.on('close', (code, signal) => s.emit('close', code, signal));
  return s;
}
