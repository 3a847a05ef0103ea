import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { lowerPriority } from '../../src/infra/ffmpeg/lower-priority.ts';
import { autogroupOf } from '../helpers/autogroup.ts';

const HAVE_AUTOGROUPS = autogroupOf('self') !== null;
const children: ChildProcess[] = [];
afterEach(() => { for (const c of children.splice(0)) c.kill('SIGKILL'); });

async function sleeper(detached: boolean): Promise<number> {
  const c = spawn('sleep', ['30'], { stdio: 'ignore', detached });
  children.push(c);
  await new Promise((r, j) => { c.once('spawn', r); c.once('error', j); });
  return c.pid!;
}

const niceOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);

describe.skipIf(!HAVE_AUTOGROUPS)(`lowering a started process's priority${HAVE_AUTOGROUPS ? '' : ' (skipped: no /proc/self/autogroup, the kernel has no scheduler autogroups)'}`, () => {
  it('lowers a process in a session of its own and its autogroup, which a nice value alone does not reach', async () => {
    const pid = await sleeper(true);
    const before = autogroupOf(pid)!;
    // What the scheduler sees without the fix: a group of its own at our group's level, whatever its nice value.
    expect(before.name).not.toBe(autogroupOf('self')!.name);
    lowerPriority(pid, 10);
    expect(niceOf(pid)).toBe(Math.min(19, getPriority() + 10));
    expect(autogroupOf(pid)!.nice).toBe(Math.min(19, autogroupOf('self')!.nice + 10));
  });

  it('leaves the autogroup alone when the process shares ours: lowering it would lower us', async () => {
    const own = autogroupOf('self')!;
    const pid = await sleeper(false);
    expect(autogroupOf(pid)!.name).toBe(own.name);
    lowerPriority(pid, 10);
    expect(niceOf(pid)).toBe(Math.min(19, getPriority() + 10));
    expect(autogroupOf('self')).toEqual(own);
  });
});
