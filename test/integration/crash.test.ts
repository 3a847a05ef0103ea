import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage, dataUri } from '../helpers/images.ts';
import { cli, exited, startChild } from '../helpers/child-server.ts';
import { probeBytes } from '../helpers/ffprobe.ts';
import type { TaskJson } from '../helpers/server.ts';
import { OMNI, startGeminiFake } from '../fakes/gemini.ts';

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

describe('a worker killed while its upstream jobs are in flight', () => {
  it('another process takes the jobs over when the leases lapse: each is submitted once and finishes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reelay-crash-upstream-'));
    const KEY = 'AIza-crash-test-key-0123456789';
    const fake = await startGeminiFake(KEY);
    const env = {
      REELAY_DATA_DIR: dir, REELAY_LEASE_MS: '1000', REELAY_WORKER_POLL_MS: '100', GEMINI_API_KEY: KEY, GEMINI_BASE_URL: fake.baseUrl,
      REELAY_UPSTREAM_POLL_MS: '50', REELAY_UPSTREAM_POLL_MAX_MS: '100', REELAY_ALLOW_PRIVATE_URLS: '1', REELAY_WORKER_CONCURRENCY: '4',
    };
    try {
      const { key } = JSON.parse((await cli(['keys', 'create', '--name', 'crash', '--credits', '100000', '--json'], env)).stdout) as { key: string };
      const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      fake.pollsUntilDone = 1e9;
      const first = await startChild(env);
      const image = dataUri(await makeImage(320, 180));
      const ids = await Promise.all(Array.from({ length: 5 }, async () => {
        const r = await fetch(`${first.base}/v1/video/generations`, { method: 'POST', headers: auth, body: JSON.stringify({ model: OMNI, prompt: 'p', aspect_ratio: '16:9', seconds: 4, images: [image] }) });
        const j = (await r.json()) as TaskJson;
        expect(r.status, JSON.stringify(j)).toBe(200);
        return j.id;
      }));
      // Omni, what the Gemini API serves today, goes through the Interactions API: one GET path per job.
      const polled = () => new Set(fake.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1beta/interactions/')).map((r) => r.path));
      for (let i = 0; i < 200 && polled().size < 5; i++) await new Promise((r) => setTimeout(r, 50));
      expect(polled().size, JSON.stringify(fake.requests.map((r) => [r.method, r.path])) + first.output()).toBe(5);
      first.child.kill('SIGKILL');
      await exited(first.child);

      fake.pollsUntilDone = 0;
      const second = await startChild(env);
      try {
        for (const id of ids) {
          let t: TaskJson | undefined;
          for (let i = 0; i < 200; i++) {
            t = (await (await fetch(`${second.base}/v1/video/generations/${id}`, { headers: auth })).json()) as TaskJson;
            if (t.status !== 'processing' && t.status !== 'queued') break;
            await new Promise((r) => setTimeout(r, 50));
          }
          expect(t?.status).toBe('succeeded');
        }
        // The same five upstream jobs, never a second submit.
        expect(fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1beta/interactions').length).toBe(5);
      } finally {
        second.child.kill('SIGTERM');
        expect(await exited(second.child)).toBe(0);
      }
    } finally {
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
