import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, exited, startChild } from '../helpers/child-server.ts';
import { dataUri, makeImage } from '../helpers/images.ts';
import type { TaskJson } from '../helpers/server.ts';

/** ffmpeg processes rendering this task (its work dir, named after the task, is in their arguments), with their process group. */
async function ffmpegFor(taskId: string): Promise<{ pid: number; pgrp: number }[]> {
  const found: { pid: number; pgrp: number }[] = [];
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const [exe, ...args] = (await readFile(`/proc/${d}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (!exe || basename(exe) !== 'ffmpeg' || !args.some((a) => a.includes(taskId))) continue;
    // /proc/PID/stat: "pid (comm) state ppid pgrp …"; comm may hold spaces, so count from the closing parenthesis.
    const stat = await readFile(`/proc/${d}/stat`, 'utf8').catch(() => '');
    found.push({ pid: Number(d), pgrp: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) });
  }
  return found;
}

async function poll<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Submit a render long enough to outlast the shutdown deadline (set to 300 ms below; 1080p, 8 s) and wait until ffmpeg is on it. */
async function startLongRender(base: string, auth: Record<string, string>) {
  const res = await fetch(`${base}/v1/video/generations`, {
    method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'veo-3.0-generate-001', prompt: 'slow push in', aspect_ratio: '16:9', seconds: 8, size: '1080p', images: [dataUri(await makeImage(640, 360))] }),
  });
  expect(res.status).toBe(200);
  const taskId = ((await res.json()) as TaskJson).id;
  const renderer = await poll('ffmpeg to render the task', async () => {
    const t = (await (await fetch(`${base}/v1/video/generations/${taskId}`, { headers: auth })).json()) as TaskJson;
    const ff = await ffmpegFor(taskId);
    return t.status === 'processing' && t.progress >= 1 && ff.length ? ff : undefined;
  }, 60_000);
  return { taskId, renderer };
}

/** SIGKILL is sent synchronously, but the kernel takes a moment to end the process: allow it that. */
const noFfmpegLeft = (taskId: string) => poll('no ffmpeg left for the task', async () => ((await ffmpegFor(taskId)).length === 0 ? true : undefined), 5000);

let dataDir: string;
beforeAll(async () => { dataDir = await mkdtemp(join(tmpdir(), 'reelay-sigint-')); });
afterAll(async () => { await rm(dataDir, { recursive: true, force: true }); });

describe('Ctrl-C on `reelay serve` during a render', () => {
  it('hands the render back instead of failing it: ffmpeg is stopped by Reelay, and the next start finishes the task', async () => {
    // A lease far longer than the test: the next start can take the task again only if the shutdown handed it back
    // (or it finished within the deadline; either way it must not fail).
    const env = { REELAY_DATA_DIR: dataDir, REELAY_LEASE_MS: '600000', REELAY_WORKER_POLL_MS: '100', REELAY_SHUTDOWN_DEADLINE_MS: '300' };
    const { key } = JSON.parse((await cli(['keys', 'create', '--name', 'sigint', '--credits', '100000', '--json'], env)).stdout) as { key: string };
    const auth = { authorization: `Bearer ${key}` };

    const first = await startChild(env, { detached: true });
    let taskId = '';
    try {
      const started = await startLongRender(first.base, auth);
      taskId = started.taskId;
      // In a group of its own: the terminal's Ctrl-C below reaches the server, not ffmpeg.
      expect(started.renderer.every((p) => p.pgrp !== first.child.pid)).toBe(true);

      // What a terminal does on Ctrl-C: SIGINT to every process of the foreground group.
      process.kill(-first.child.pid!, 'SIGINT');
      expect(await exited(first.child), first.output()).toBe(0);
    } finally {
      if (first.child.exitCode === null && first.child.signalCode === null) process.kill(-first.child.pid!, 'SIGKILL');
    }
    await noFfmpegLeft(taskId);

    const second = await startChild(env);
    try {
      const seen = new Set<string>();
      const done = await poll('the task to end', async () => {
        const t = (await (await fetch(`${second.base}/v1/video/generations/${taskId}`, { headers: auth })).json()) as TaskJson;
        seen.add(t.status);
        return t.status === 'queued' || t.status === 'processing' ? undefined : t;
      }, 240_000);
      expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
      expect([...seen].filter((s) => s === 'failed' || s === 'cancelled')).toEqual([]);
    } finally {
      second.child.kill('SIGTERM');
      expect(await exited(second.child)).toBe(0);
    }
  }, 360_000);

  it('a second Ctrl-C exits at once, and still takes ffmpeg down with it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reelay-sigint-twice-'));
    const env = { REELAY_DATA_DIR: dir, REELAY_WORKER_POLL_MS: '100', LOG_LEVEL: 'info' };
    const { key } = JSON.parse((await cli(['keys', 'create', '--name', 'twice', '--credits', '100000', '--json'], env)).stdout) as { key: string };
    const server = await startChild(env, { detached: true });
    try {
      const { taskId } = await startLongRender(server.base, { authorization: `Bearer ${key}` });
      process.kill(-server.child.pid!, 'SIGINT');
      // The first one is being handled (the server logs it) before the second is sent.
      await poll('the first signal to be handled', async () => (server.output().includes('shutting down') ? true : undefined), 10_000);
      process.kill(-server.child.pid!, 'SIGINT');
      expect(await exited(server.child), server.output()).toBe(130);
      await noFfmpegLeft(taskId);
    } finally {
      if (server.child.exitCode === null && server.child.signalCode === null) process.kill(-server.child.pid!, 'SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
