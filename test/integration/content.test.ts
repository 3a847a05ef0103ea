import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage, dataUri } from '../helpers/images.ts';
import { startServer, waitForTask, type TaskJson, type TestServer } from '../helpers/server.ts';

let s: TestServer;
let clockOffsetMs = 0;
let task: TaskJson;
let pending: TaskJson;
beforeAll(async () => {
  s = await startServer({}, { now: () => Date.now() + clockOffsetMs });
  const img = dataUri(await makeImage(320, 180));
  const res = await s.api('/v1/video/generations', { method: 'POST', json: { model: 'veo-2.0-generate-001', prompt: 'x', aspect_ratio: '16:9', seconds: 5, images: [img] } });
  task = (await waitForTask(s, ((await res.json()) as TaskJson).id)).task;
  expect(task.status).toBe('succeeded');
});
afterAll(async () => { await s?.close(); });

describe('GET …/content (with the key)', () => {
  it('streams the whole MP4 and byte ranges of it', async () => {
    const full = await s.api(`/v1/video/generations/${task.id}/content`);
    expect(full.status).toBe(200);
    expect(full.headers.get('accept-ranges')).toBe('bytes');
    const bytes = Buffer.from(await full.arrayBuffer());
    expect(Number(full.headers.get('content-length'))).toBe(bytes.length);
    expect(bytes.subarray(4, 8).toString()).toBe('ftyp');

    const part = await s.api(`/v1/video/generations/${task.id}/content`, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(bytes.subarray(100, 200));

    const suffix = await s.api(`/v1/video/generations/${task.id}/content`, { headers: { range: 'bytes=-50' } });
    expect(suffix.status).toBe(206);
    expect(Buffer.from(await suffix.arrayBuffer())).toEqual(bytes.subarray(bytes.length - 50));

    const open = await s.api(`/v1/video/generations/${task.id}/content`, { headers: { range: `bytes=${bytes.length - 10}-` } });
    expect(open.status).toBe(206);
    expect((await open.arrayBuffer()).byteLength).toBe(10);

    const bad = await s.api(`/v1/video/generations/${task.id}/content`, { headers: { range: `bytes=${bytes.length + 5}-` } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
    await bad.arrayBuffer();
  });

  it('serves the thumbnail variant as a JPEG and rejects an unknown variant', async () => {
    const res = await s.api(`/v1/video/generations/${task.id}/content?variant=thumbnail`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    await res.arrayBuffer();
    const bad = await s.api(`/v1/video/generations/${task.id}/content?variant=spritesheet`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('variant');
  });

  it('is 409 before the task has succeeded', async () => {
    const api = await startServer({ REELAY_ROLE: 'api' });
    try {
      const res = await api.api('/v1/video/generations', { method: 'POST', json: { model: 'veo-2.0-generate-001', prompt: 'x', aspect_ratio: '16:9', images: [dataUri(await makeImage(64, 64))] } });
      pending = (await res.json()) as TaskJson;
      const c = await api.api(`/v1/video/generations/${pending.id}/content`);
      expect(c.status).toBe(409);
      expect(((await c.json()) as { error: { code: string } }).error.code).toBe('task_not_succeeded');
    } finally {
      await api.close();
    }
  });
});

describe('public signed links', () => {
  it('work without a key, support Range, and refuse tampering', async () => {
    const res = await fetch(task.url!, { headers: { range: 'bytes=0-9' } });
    expect(res.status).toBe(206);
    expect((await res.arrayBuffer()).byteLength).toBe(10);
    const u = new URL(task.url!);
    const sig = u.searchParams.get('sig')!;
    u.searchParams.set('sig', (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1));
    const tampered = await fetch(u);
    expect(tampered.status).toBe(403);
    expect(((await tampered.json()) as { error: { code: string } }).error.code).toBe('invalid_signature');
    // The signature binds the file: another task file with this signature fails.
    const other = new URL(task.url!);
    other.pathname = other.pathname.replace('video.mp4', 'thumbnail.jpg');
    expect((await fetch(other)).status).toBe(403);
    // Extending the expiry invalidates the signature.
    const extended = new URL(task.url!);
    extended.searchParams.set('expires', String(Number(extended.searchParams.get('expires')) + 1));
    expect((await fetch(extended)).status).toBe(403);
  });

  it('stop working after expires_at', async () => {
    const expiresAt = Number(task.expires_at);
    expect(expiresAt).toBeGreaterThan(Math.floor(Date.now() / 1000));
    clockOffsetMs = (expiresAt - Math.floor(Date.now() / 1000) + 10) * 1000;
    try {
      const res = await fetch(task.url!);
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/expired/);
    } finally {
      clockOffsetMs = 0;
    }
  });

  it('maintenance frees the storage of expired outputs (and only once across nodes)', async () => {
    const { stat } = await import('node:fs/promises');
    const { join } = await import('node:path');
    clockOffsetMs = (Number(task.expires_at) - Math.floor(Date.now() / 1000) + 10) * 1000;
    try {
      const [a, b] = await Promise.all([s.app.runMaintenance(), s.app.runMaintenance()]);
      expect(a.outputsPurged + b.outputsPurged).toBe(1);
      await expect(stat(join(s.dataDir, 'blobs', 'outputs', task.id))).rejects.toThrow();
      await expect(stat(join(s.dataDir, 'blobs', 'inputs', task.id))).rejects.toThrow();
      const after = (await (await s.api(`/v1/video/generations/${task.id}`)).json()) as TaskJson;
      expect(after.status).toBe('succeeded');
      expect(after.url).toBeNull();
    } finally {
      clockOffsetMs = 0;
    }
  });
});
