/**
 * The small process that starts ffmpeg and ffprobe for Reelay (spawner.ts):
 * forking from here copies ~50 MB of page tables, not the server's hundreds.
 * It talks to its parent over the IPC channel and ends, killing what it
 * started, when that channel closes (the parent exited, however it exited).
 * Node built-ins only (and lower-priority.ts, which is too): it runs with
 * nothing else of Reelay loaded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { lowerPriority } from './lower-priority.ts';

interface SpawnMessage { t: 'spawn'; id: number; file: string; args: string[]; nice: number }

const children = new Map<number, ChildProcess>();
const send = (m: unknown) => { if (process.connected) process.send!(m); };

function killAll(): void {
  for (const c of children.values()) {
    try {
      if (c.pid !== undefined) process.kill(-c.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

process.on('message', (m: SpawnMessage) => {
  if (m.t !== 'spawn') return;
  const c = spawn(m.file, m.args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.set(m.id, c);
  c.once('spawn', () => {
    if (c.pid !== undefined) lowerPriority(c.pid, m.nice);
    send({ t: 'spawn', id: m.id, pid: c.pid });
  });
  c.stdout!.on('data', (d: Buffer) => send({ t: 'out', id: m.id, d }));
  c.stderr!.on('data', (d: Buffer) => send({ t: 'err', id: m.id, d }));
  c.on('error', (e: NodeJS.ErrnoException) => send({ t: 'error', id: m.id, message: e.message, code: e.code }));
  c.on('close', (code, signal) => {
    children.delete(m.id);
    send({ t: 'close', id: m.id, code, signal });
  });
});

process.on('disconnect', () => {
  killAll();
  process.exit(0);
});
