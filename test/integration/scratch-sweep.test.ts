import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratch, deadRootIn, ownerAlive, processStart } from '../../src/infra/scratch.ts';
import { cli, exited, startChild } from '../helpers/child-server.ts';
import { makeImage, dataUri } from '../helpers/images.ts';
import { waitFor, type TaskJson } from '../helpers/server.ts';

const linux = process.platform === 'linux';
const exists = (p: string) => stat(p).then(() => true, () => false);

/** A pid that belonged to a process which has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const c = spawn(process.execPath, ['-e', '']);
  await exited(c);
  return c.pid!;
}

/** Processes whose command line mentions `needle` (Linux /proc). */
async function processesMentioning(needle: string): Promise<number[]> {
  const found: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const cmd = await readFile(`/proc/${e}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(needle) && processStart(Number(e)) !== null) found.push(Number(e));
  }
  return found;
}

describe.skipIf(!linux)('scratch roots and their owners', () => {
  let base: string;
  beforeAll(async () => { base = await mkdtemp(join(tmpdir(), 'reelay-scratch-test-')); });
  afterAll(async () => { await rm(base, { recursive: true, force: true }); });

  it('an owner is its pid and start time: a dead pid, or a live pid with another start, owns nothing', async () => {
    const me = processStart('self')!;
    expect(me).toMatch(/^\d+$/);
    expect(processStart(process.pid)).toBe(me);
    expect(ownerAlive(process.pid, me)).toBe(true);
    // The same pid started at another time is another process (a restarted container's worker often reuses the pid).
    expect(ownerAlive(process.pid, String(Number(me) + 1))).toBe(false);
    const dead = await deadPid();
    expect(processStart(dead)).toBeNull();
    expect(ownerAlive(dead, '1')).toBe(false);

    const deadRoot = `reelay-scratch-${dead}-1-0123abcd`;
    expect(deadRootIn(['ffmpeg', '-i', join(base, deadRoot, 'reelay-task_x-abcdef', 'first.png')], base)).toBe(deadRoot);
    expect(deadRootIn(['ffmpeg', '-i', join(base, `reelay-scratch-${process.pid}-${me}-0123abcd`, 'a.png')], base)).toBeNull();
    expect(deadRootIn(['ffmpeg', '-i', join('/elsewhere', deadRoot, 'a.png')], base)).toBeNull();
  });

  it('the sweep kills what works in a dead owner\'s root, removes such roots and ended tasks\' old folders, and keeps everything live', async () => {
    const me = processStart('self')!;
    const dead = await deadPid();
    const deadRoot = join(base, `reelay-scratch-${dead}-1-0123abcd`);
    const liveRoot = join(base, `reelay-scratch-${process.pid}-${me}-89abcdef`);
    const ended = 'task_' + 'e'.repeat(32);
    const active = 'task_' + 'a'.repeat(32);
    const unknown = 'task_' + 'u'.repeat(32);
    for (const dir of [join(deadRoot, `reelay-${ended}-aaaaaa`), join(liveRoot, `reelay-${active}-bbbbbb`),
      join(base, `reelay-${ended}-cccccc`), join(base, `reelay-${active}-dddddd`), join(base, `reelay-${unknown}-eeeeee`)]) {
      await mkdir(dir, { recursive: true });
    }
    // Stand-ins for ffmpeg: one working in the dead owner's root (orphaned), one in a live root.
    const spawnIn = (root: string): ChildProcess => spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', join(root, 'reelay-x', 'first.png')], { detached: true, stdio: 'ignore' });
    const orphan = spawnIn(deadRoot);
    const live = spawnIn(liveRoot);
    try {
      const asked: string[][] = [];
      const scratch = createScratch({ base, log: pino({ level: 'silent' }), tasks: {
        endedAmong: async (ids) => { asked.push([...ids]); return ids.filter((id) => id === ended); },
      } });
      const r = await scratch.sweep();
      expect(r.processesKilled).toBe(1);
      expect(await exited(orphan)).toBeNull();
      expect(live.exitCode).toBeNull();
      expect(await exists(deadRoot)).toBe(false);
      expect(await exists(liveRoot)).toBe(true);
      expect(await exists(scratch.root)).toBe(true);
      expect(await exists(join(base, `reelay-${ended}-cccccc`))).toBe(false);
      expect(await exists(join(base, `reelay-${active}-dddddd`))).toBe(true);
      // Unknown here may be another installation's task: kept.
      expect(await exists(join(base, `reelay-${unknown}-eeeeee`))).toBe(true);
      expect(asked.flat().sort()).toEqual([active, ended, unknown].sort());
      expect(r.foldersRemoved).toBe(2);
      await scratch.stop();
      expect(await exists(scratch.root)).toBe(false);
    } finally {
      orphan.kill('SIGKILL');
      live.kill('SIGKILL');
    }
  });
});

describe.skipIf(!linux)('a worker killed with kill -9 mid-render', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'reelay-orphans-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it('kill -9 of a worker takes its ffmpeg with it (PR_SET_PDEATHSIG via setpriv); the restarted worker removes the dead root', async () => {
    const scratchBase = join(dir, 'tmp');
    await mkdir(scratchBase);
    // A private TMPDIR: the scratch base is os.tmpdir(), and this test looks at everything in it.
    const env = { REELAY_DATA_DIR: join(dir, 'data'), TMPDIR: scratchBase, REELAY_LEASE_MS: '1500', REELAY_WORKER_POLL_MS: '100' };
    const created = await cli(['keys', 'create', '--name', 'orphans', '--credits', '100000', '--json'], env);
    expect(created.code).toBe(0);
    const auth = { authorization: `Bearer ${(JSON.parse(created.stdout) as { key: string }).key}` };

    const first = await startChild(env);
    // 1080p for 8 s: ffmpeg is still encoding when its worker is killed.
    const res = await fetch(`${first.base}/v1/video/generations`, {
      method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'veo-3.0-fast-generate-001', prompt: 'push in', aspect_ratio: '16:9', seconds: 8, size: '1080p', images: [dataUri(await makeImage(640, 360))] }),
    });
    const taskId = ((await res.json()) as TaskJson).id;
    const firstRoot = `reelay-scratch-${first.child.pid}-`;
    const [ffmpeg] = await waitFor(async () => {
      const t = (await (await fetch(`${first.base}/v1/video/generations/${taskId}`, { headers: auth })).json()) as TaskJson;
      const found = t.progress >= 1 ? await processesMentioning(join(scratchBase, firstRoot)) : [];
      return found.length ? found : undefined;
    }, 60_000, 20);
    const ffmpegStart = processStart(ffmpeg!);
    first.child.kill('SIGKILL');
    await exited(first.child);
    // ffmpeg alone ignores its worker's death (the broken pipe); the kernel ends it, as setpriv asked.
    // (Where setpriv is missing, the start-up sweep kills it: the sweep test above covers that path.)
    await waitFor(async () => processStart(ffmpeg!) === null, 5000, 20);

    const second = await startChild(env);
    try {
      await waitFor(async () => !(await readdir(scratchBase)).some((n) => n.startsWith(firstRoot)), 5000, 20);
      expect((await readdir(scratchBase)).filter((n) => n.startsWith(`reelay-scratch-${second.child.pid}-`))).toHaveLength(1);
      // The task itself is the restarted worker's to render again (crash.test.ts); here it is just stopped.
      expect((await fetch(`${second.base}/v1/video/generations/${taskId}/cancel`, { method: 'POST', headers: auth })).status).toBe(200);
      second.child.kill('SIGTERM');
      expect(await exited(second.child)).toBe(0);
      // A clean stop takes its root with it.
      expect((await readdir(scratchBase)).filter((n) => n.startsWith('reelay-scratch-'))).toEqual([]);
    } finally {
      // Whatever failed above, nothing of this test keeps running.
      second.child.kill('SIGKILL');
      if (ffmpegStart !== null && processStart(ffmpeg!) === ffmpegStart) process.kill(-ffmpeg!, 'SIGKILL');
    }
  }, 120_000);
});
