import { StringDecoder } from 'node:string_decoder';
import { PDEATHSIG, spawnDetached } from './spawner.ts';

export interface FfmpegRun {
  /** Called with the number of frames written so far, as ffmpeg reports it. */
  onFrame?: (frame: number) => void;
  signal?: AbortSignal;
  onSpawn?: (pid: number) => void;
}

export class FfmpegError extends Error {
  readonly exitCode: number | null;
  readonly stderrTail: string;
  constructor(message: string, exitCode: number | null, stderrTail: string) {
    super(message);
    this.name = 'FfmpegError';
    this.exitCode = exitCode;
    this.stderrTail = stderrTail;
  }
}

export class FfmpegAbortedError extends Error {
  constructor() {
    super('ffmpeg was stopped');
    this.name = 'FfmpegAbortedError';
  }
}

const STDERR_TAIL = 4096;

/**
 * ffmpeg runs in a process group of its own (detached), so a Ctrl-C in the
 * terminal — which signals the whole foreground group — reaches Reelay only:
 * the server decides whether a render finishes or is handed back, instead of
 * ffmpeg dying under it and the task failing. In exchange Reelay must stop
 * them itself: on abort, and (below) when this process exits.
 */
const running = new Set<number>();
let exitHookInstalled = false;

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Installed at the first spawn, not at import: 'exit' handlers run synchronously on every way out but SIGKILL. */
function track(pid: number): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => { for (const p of running) killGroup(p); });
  }
  running.add(pid);
}

/**
 * The one place that runs ffmpeg. Progress comes from `-progress pipe:1`
 * (key=value blocks on stdout), which ffmpeg flushes per block, so we see
 * frames as they are encoded rather than guessing from wall time. It is
 * started by the spawner's helper process (spawner.ts), through setpriv on
 * Linux: PR_SET_PDEATHSIG makes the kernel kill ffmpeg when its parent dies —
 * even by kill -9, which no exit handler sees — and the helper dies with us.
 * Elsewhere (or without setpriv) the start-up sweep (infra/scratch.ts) is
 * the safety net.
 */

/**
 * Renders are batch work sharing cores with the API's event loop and every
 * key's image checks: at nice 10 they take what CPU is idle and yield it to
 * requests (a 2-core box rendering while other keys submit kept answering
 * late otherwise). On an idle machine a nice ffmpeg runs exactly as fast.
 * Relative to our own nice value, so it never runs ahead of us; its own
 * session's scheduler group is lowered too (lower-priority.ts).
 */
export const FFMPEG_NICE = 10;

export function runFfmpeg(ffmpegPath: string, args: string[], opts: FfmpegRun = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new FfmpegAbortedError());
    const ffArgs = ['-hide_banner', '-nostdin', '-nostats', '-progress', 'pipe:1', ...args];
    const child = spawnDetached(ffmpegPath, ffArgs, { nice: FFMPEG_NICE, pdeathsig: true });
    let pid: number | undefined;
    child.once('spawn', () => {
      pid = child.pid;
      if (pid === undefined) return;
      track(pid);
      // Aborted before the process existed: it goes now.
      if (aborted) killGroup(pid);
      else opts.onSpawn?.(pid);
    });
    let stderr = '';
    let pending = '';
    let aborted = false;
    // Once reaped, its pid (and group id) may be reused: never signal it again.
    child.once('exit', () => { if (pid !== undefined) running.delete(pid); });

    const onAbort = () => {
      aborted = true;
      // SIGKILL: a cancelled render must stop within a second, and we discard its output anyway.
      if (pid !== undefined && running.has(pid)) killGroup(pid);
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const out = new StringDecoder('utf8');
    const err = new StringDecoder('utf8');
    child.stdout.on('data', (chunk: Buffer) => {
      pending += out.write(chunk);
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (line.startsWith('frame=')) {
          const n = Number(line.slice(6));
          if (Number.isFinite(n)) opts.onFrame?.(n);
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + err.write(chunk)).slice(-STDERR_TAIL);
    });
    child.on('error', (e: Error) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (pid !== undefined) running.delete(pid);
      reject(new FfmpegError(`could not start ffmpeg (${ffmpegPath}): ${e.message}`, null, ''));
    });
    child.on('close', (code: number | null, sig: NodeJS.Signals | null) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (aborted) return reject(new FfmpegAbortedError());
      if (code === 0) return resolve();
      // setpriv could not exec ffmpeg: the same as spawn failing to start it.
      if (PDEATHSIG && code === 127 && /setpriv: failed to execute/.test(stderr)) {
        return reject(new FfmpegError(`could not start ffmpeg (${ffmpegPath}): ${stderr.trim().split('\n').at(-1) ?? ''}`, null, ''));
      }
      reject(new FfmpegError(`ffmpeg exited with ${code ?? sig}`, code, stderr));
    });
  });
}
