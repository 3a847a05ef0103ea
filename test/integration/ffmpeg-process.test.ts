import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FFMPEG_NICE, FfmpegAbortedError, runFfmpeg } from '../../src/infra/ffmpeg/run-ffmpeg.ts';
import { autogroupOf } from '../helpers/autogroup.ts';

const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const RUN_FFMPEG = pathToFileURL(fileURLToPath(new URL('../../src/infra/ffmpeg/run-ffmpeg.ts', import.meta.url))).href;
/** A render paced at real time (-re) for ten minutes: only being stopped ends it within the test. */
const ENDLESS = ['-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-t', '600', '-f', 'null', '/dev/null'];

/** From /proc/PID/stat: its state, process group and nice value, or null once it is gone. A zombie (Z) has stopped running. */
async function procStat(pid: number): Promise<{ state: string; ppid: number; pgrp: number; nice: number } | null> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (stat === null) return null;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0]!, ppid: Number(fields[1]), pgrp: Number(fields[2]), nice: Number(fields[16]) };
}

const running = async (pid: number) => { const s = await procStat(pid); return s !== null && s.state !== 'Z'; };

describe('the ffmpeg process', () => {
  it('runs in a process group of its own, so a Ctrl-C to ours does not reach it; an abort kills it', async () => {
    const abort = new AbortController();
    let pid = 0;
    let frames = 0;
    const run = runFfmpeg(FFMPEG, ENDLESS, { signal: abort.signal, onSpawn: (p) => { pid = p; }, onFrame: (n) => { frames = n; } });
    const settled = run.then(() => 'resolved', (e: unknown) => e);
    while (frames === 0) await new Promise((r) => setTimeout(r, 20));
    const stat = await procStat(pid);
    expect(stat?.pgrp).toBe(pid);
    expect(stat?.pgrp).not.toBe((await procStat(process.pid))?.pgrp);
    // Started by the spawner's small helper process, not forked from this (large) one.
    expect(stat?.ppid).not.toBe(process.pid);
    expect(await readFile(`/proc/${stat!.ppid}/cmdline`, 'utf8')).toContain('spawner-child');
    // Batch work: it yields the CPU to the API's requests.
    expect(FFMPEG_NICE).toBeGreaterThan(0);
    expect(stat?.nice).toBe(Math.min(19, (await procStat(process.pid))!.nice + FFMPEG_NICE));
    // Its own session is its own scheduler autogroup, which shares the CPU equally with ours whatever the nice
    // value inside it: the group is lowered too (where the kernel has autogroups; elsewhere the nice value is all).
    const [group, ours, helpers] = [autogroupOf(pid), autogroupOf(process.pid), autogroupOf(stat!.ppid)];
    if (ours && group && helpers) {
      expect(group.name).not.toBe(ours.name);
      expect(group.nice).toBe(Math.min(19, helpers.nice + FFMPEG_NICE));
    }

    abort.abort();
    expect(await settled).toBeInstanceOf(FfmpegAbortedError);
    expect(await running(pid)).toBe(false);
  });

  it('is killed when the process that started it exits', async () => {
    // A Node process that starts a long render and exits as soon as ffmpeg reports its first frame.
    const script = `
      const { runFfmpeg } = await import(${JSON.stringify(RUN_FFMPEG)});
      runFfmpeg(${JSON.stringify(FFMPEG)}, ${JSON.stringify(ENDLESS)}, {
        onSpawn: (pid) => process.stdout.write(pid + '\\n'),
        onFrame: () => process.exit(0),
      }).catch(() => {});`;
    const owner = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    owner.stdout.on('data', (d) => { out += d; });
    const code = await new Promise<number | null>((r) => owner.once('exit', r));
    expect(code).toBe(0);
    const pid = Number(out.trim());
    expect(pid).toBeGreaterThan(0);
    // The exit handler sends SIGKILL synchronously; the kernel ends the process a moment later. ENDLESS never ends
    // on its own within the test, so seeing it stop is the proof; the 30 s is only patience, not a speed bound.
    const patience = Date.now() + 30_000;
    while ((await running(pid)) && Date.now() < patience) await new Promise((r) => setTimeout(r, 20));
    expect(await running(pid)).toBe(false);
  });
});
