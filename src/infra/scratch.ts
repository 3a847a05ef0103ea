import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { TasksRepo } from './db/tasks-repo.ts';

/**
 * Where renders and downloads work, and what a killed worker leaves there.
 *
 * Each worker process works under a root of its own in the scratch base
 * (os.tmpdir()): `reelay-scratch-<pid>-<start>-<random>/`, one folder per task
 * inside. The name says who owns it: the pid and, on Linux, that process's
 * start time, so a reused pid (a restarted container's worker often gets the
 * same one) is not taken for the owner. Several workers may share a machine
 * and its tmp dir; each leaves the others' roots alone while their owners live.
 *
 * ffmpeg runs in a process group of its own and is stopped by its worker on
 * every way out but SIGKILL (run-ffmpeg.ts). After a kill -9 it keeps going:
 * it ignores SIGPIPE, so the broken progress pipe does not stop it, and it
 * does not stop on stdin EOF either (both measured with ffmpeg 5.1). So the
 * sweep below kills any process whose command line points into a dead
 * owner's root, then removes the root — at start-up and every few minutes
 * (a neighbour on the same machine may die without restarting).
 */
export interface ScratchDeps {
  /** The scratch base, shared with other processes (os.tmpdir()). */
  base: string;
  tasks: Pick<TasksRepo, 'endedAmong'>;
  log: Logger;
}

export interface ScratchSweep { processesKilled: number; foldersRemoved: number }

const ROOT = /^reelay-scratch-(\d+)-(\d+)-[0-9a-f]{8}$/;
/** A task folder straight in the base, as Reelay made them before the roots (and a worker built without one still does). */
const FLAT = /^reelay-(task_[0-9A-Za-z]{32})-[0-9A-Za-z]{6}$/;
/** A neighbour's orphans are found this soon; the look is a directory listing and, on Linux, a read of /proc. */
export const SCRATCH_SWEEP_INTERVAL_MS = 5 * 60_000;
const MAX_FLAT_PER_SWEEP = 1000;

/** A process's start time in clock ticks since boot (Linux), or null when it is gone (or a zombie). */
export function processStart(pid: number | 'self'): string | null {
  if (process.platform !== 'linux') return '0';
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces: state is the 3rd field, starttime the 22nd.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? null : (fields[19] ?? null);
  } catch {
    return null;
  }
}

/** Whether the process that made a root is still the one running under its pid. */
export function ownerAlive(pid: number, start: string): boolean {
  if (process.platform === 'linux') return processStart(pid) === start;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function rootOwnerAlive(name: string): boolean {
  const m = ROOT.exec(name);
  return !m || ownerAlive(Number(m[1]), m[2]!);
}

/** The owner-less root a command line points into, if any. */
export function deadRootIn(args: readonly string[], base: string): string | null {
  const dir = join(base, 'x').slice(0, -1);
  for (const arg of args) {
    const at = arg.indexOf(`${dir}reelay-scratch-`);
    if (at < 0) continue;
    const name = arg.slice(at + dir.length).split('/')[0]!;
    if (ROOT.test(name) && !rootOwnerAlive(name)) return name;
  }
  return null;
}

/** SIGKILL to every process (Linux /proc) working in a dead owner's root; ffmpeg leads its own group, so the group too. */
async function killOrphans(base: string): Promise<number> {
  if (process.platform !== 'linux') return 0;
  let killed = 0;
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline || !deadRootIn(cmdline.split('\0'), base)) continue;
    const pid = Number(entry);
    for (const target of [-pid, pid]) {
      try { process.kill(target, 'SIGKILL'); } catch { /* not a group leader, or gone */ }
    }
    killed++;
  }
  return killed;
}

/** Roots whose owner is gone, and old-style task folders whose task has ended in this database. */
async function removeOrphanedFolders(d: ScratchDeps, ownRoot: string): Promise<number> {
  const entries = await readdir(d.base, { withFileTypes: true }).catch(() => []);
  const flat = new Map<string, string[]>();
  let removed = 0;
  // One folder that cannot go (another user's, in a shared /tmp) does not stop the others.
  const remove = (name: string) => rm(join(d.base, name), { recursive: true, force: true }).then(() => { removed++; },
    (e: unknown) => d.log.warn({ err: e, folder: name }, 'could not remove an orphaned scratch folder'));
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    if (ROOT.test(e.name)) {
      if (join(d.base, e.name) !== ownRoot && !rootOwnerAlive(e.name)) await remove(e.name);
      continue;
    }
    const m = FLAT.exec(e.name);
    if (m && flat.size < MAX_FLAT_PER_SWEEP) flat.set(m[1]!, [...(flat.get(m[1]!) ?? []), e.name]);
  }
  // A task unknown here may be another installation's (tests, a second Reelay sharing /tmp): left alone.
  const ids = [...flat.keys()];
  for (let i = 0; i < ids.length; i += 100) {
    for (const id of await d.tasks.endedAmong(ids.slice(i, i + 100))) {
      for (const name of flat.get(id)!) await remove(name);
    }
  }
  return removed;
}

/** This process's scratch root (pass `root` as the worker's and poller's scratchDir) and the sweep of others' leftovers. */
export function createScratch(d: ScratchDeps) {
  const root = join(d.base, `reelay-scratch-${process.pid}-${processStart('self') ?? '0'}-${randomBytes(4).toString('hex')}`);
  let timer: NodeJS.Timeout | undefined;

  async function sweep(): Promise<ScratchSweep> {
    // Made again if a tmp cleaner removed it while idle.
    await mkdir(root, { recursive: true });
    const processesKilled = await killOrphans(d.base);
    const foldersRemoved = await removeOrphanedFolders(d, root);
    if (processesKilled || foldersRemoved) d.log.warn({ processesKilled, foldersRemoved }, 'cleaned up after a worker that was killed');
    return { processesKilled, foldersRemoved };
  }
  const sweepLogged = () => sweep().catch((e) => { d.log.error({ err: e }, 'scratch sweep failed'); });

  return {
    root,
    sweep,
    /** Sweeps once before the worker starts (orphans stop competing for the CPU at once), then periodically. */
    async start(): Promise<void> {
      await sweepLogged();
      timer ??= setInterval(() => void sweepLogged(), SCRATCH_SWEEP_INTERVAL_MS);
      timer.unref();
    },
    /** After the worker and poller stopped: their task folders are gone, the root goes too. */
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      await rm(root, { recursive: true, force: true });
    },
  };
}

export type Scratch = ReturnType<typeof createScratch>;
