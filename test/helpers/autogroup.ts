import { readFileSync } from 'node:fs';

/**
 * A process's scheduler autogroup from /proc/PID/autogroup ("/autogroup-85 nice 0"), read
 * independently of src/infra/ffmpeg/lower-priority.ts; null on a system without autogroups.
 */
export function autogroupOf(pid: number | 'self'): { name: string; nice: number } | null {
  try {
    const m = /^(\S+)\s+nice\s+(-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'));
    return m ? { name: m[1]!, nice: Number(m[2]) } : null;
  } catch {
    return null;
  }
}
