/**
 * Lowering a started process's CPU priority, for spawner.ts and its helper
 * (Node built-ins only: the helper loads nothing else of Reelay).
 *
 * A nice value alone does not do it on Linux: ffmpeg is started in a session
 * of its own (so a Ctrl-C to us never reaches it), and with the scheduler's
 * autogroups (kernel.sched_autogroup_enabled, on in most distributions'
 * kernels) every session is a group that gets an equal share of the CPU
 * against every other group, whatever its processes' nice values: a render
 * "at nice 10" competed with the API's event loop as an equal (its group was
 * at nice 0, as test/integration/ffmpeg-process.test.ts saw). The group has a
 * nice value of its own (/proc/PID/autogroup, man 7 sched), set here too.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

const MAX_NICE = 19;

/** A process's autogroup ("/autogroup-85 nice 0"), or null where there are none (not Linux, or a kernel without them). */
function autogroup(pid: number | 'self'): { name: string; nice: number } | null {
  try {
    const m = /^(\S+)\s+nice\s+(-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'));
    return m ? { name: m[1]!, nice: Number(m[2]) } : null;
  } catch {
    return null;
  }
}

/**
 * `nice` levels below our own, for the process and for its autogroup. Best
 * effort: where it is not permitted the process runs at our priority. An
 * unprivileged process may change an autogroup's nice value ten times a
 * second (EAGAIN beyond), so a refused write is tried once more a little later.
 */
export function lowerPriority(pid: number, nice: number): void {
  if (nice <= 0) return;
  try {
    setPriority(pid, Math.min(MAX_NICE, getPriority() + nice));
  } catch {
    // Not permitted here.
  }
  const own = autogroup('self');
  // Only a group of its own: lowering a group we share would lower us with it.
  if (own === null || autogroup(pid)?.name === own.name) return;
  const value = String(Math.min(MAX_NICE, own.nice + nice));
  /** True once there is nothing more to try: written, or refused for good. */
  const write = () => {
    try {
      writeFileSync(`/proc/${pid}/autogroup`, value);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code !== 'EAGAIN';
    }
  };
  if (!write()) setTimeout(write, 110).unref();
}
