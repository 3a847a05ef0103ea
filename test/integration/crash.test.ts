import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage, dataUri } from '../helpers/images.ts';
import { cli, exited, startChild } from '../helpers/child-server.ts';
import { probeBytes } from '../helpers/ffprobe.ts';
import type { TaskJson } from '../helpers/server.ts';

let dataDir: string;
beforeAll(async () => { dataDir = await mkdtemp(join(tmpdir(), 'reelay-crash-')); });
afterAll(async () => { await rm(dataDir, { recursive: true, force: true }); });

describe('a server killed mid-render', () => {
  it('finishes the task after restart (lease lapses, task is claimed again)', async () => {
    // A short lease so the restarted worker takes over quickly; renewal keeps it alive normally.
    const env = { REELAY_DATA_DIR: dataDir, REELAY_LEASE_MS: '1500', REELAY_WORKER_POLL_MS: '100' };
    const created = await cli(['keys', 'create', '--name', 'crash', '--credits', '100000', '--json'], env);
    expect(created.code).toBe(0);
    const { key, id, webhook_secret } = JSON.parse(created.stdout) as { key: string; id: string; webhook_secret: string };
    expect(id).toMatch(/^key_/);
    expect(webhook_secret).toMatch(/^whsec_/);
    const auth = { authorization: `Bearer ${key}` };

    const first = await startChild(env);
    const res = await fetch(`${first.base}/v1/video/generations`, {
      method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'veo-3.0-fast-generate-001', prompt: 'push in', aspect_ratio: '16:9', seconds: 8, size: '1080p', images: [dataUri(await makeImage(320, 180))] }),
    });
    expect(res.status).toBe(200);
    const taskId = ((await res.json()) as TaskJson).id;

    let before: TaskJson | undefined;
    for (let i = 0; i < 300; i++) {
      before = (await (await fetch(`${first.base}/v1/video/generations/${taskId}`, { headers: auth })).json()) as TaskJson;
      if (before.status === 'processing' && before.progress >= 5) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(before?.status).toBe('processing');
    first.child.kill('SIGKILL');
    await exited(first.child);

    const second = await startChild(env);
    try {
      let after: TaskJson | undefined;
      for (let i = 0; i < 600; i++) {
        after = (await (await fetch(`${second.base}/v1/video/generations/${taskId}`, { headers: auth })).json()) as TaskJson;
        // Progress never goes backwards across the restart.
        expect(after.progress).toBeGreaterThanOrEqual(before!.progress);
        if (after.status !== 'processing' && after.status !== 'queued') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(after?.status).toBe('succeeded');
      expect(after?.started_at).toBe(before?.started_at);
      const video = await fetch(after!.url!);
      const facts = await probeBytes(await video.arrayBuffer());
      expect([facts.width, facts.height]).toEqual([1920, 1080]);
      expect(Math.abs(facts.duration - 8)).toBeLessThanOrEqual(1 / 24 + 1e-6);
    } finally {
      second.child.kill('SIGTERM');
      expect(await exited(second.child)).toBe(0);
    }
  });
});
