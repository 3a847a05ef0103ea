import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3BlobStore } from '../../src/infra/blob/s3-blob-store.ts';
import { startS3 } from '../helpers/s3.ts';
import { makeImage, dataUri } from '../helpers/images.ts';
import { startServer, waitForTask, type TaskJson } from '../helpers/server.ts';
import { probeBytes } from '../helpers/ffprobe.ts';

let s3: Awaited<ReturnType<typeof startS3>>;
beforeAll(async () => { s3 = await startS3(); });
afterAll(async () => { await s3?.close(); });

const store = () => s3BlobStore({ bucket: s3.bucket, region: 'us-east-1', endpoint: s3.endpoint, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true, now: Date.now });

async function drain(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('S3 blob store (against s3rver)', () => {
  it('puts, stats, reads whole and ranged, and deletes by prefix', async () => {
    const b = store();
    const data = randomBytes(5000);
    await b.put('outputs/t1/a.jpg', data, 'image/jpeg');
    await b.put('outputs/t1/b.mp4', data, 'video/mp4');
    expect(await b.stat('outputs/t1/a.jpg')).toEqual({ size: 5000, contentType: 'image/jpeg' });
    expect(await b.get('outputs/t1/a.jpg')).toEqual(data);
    expect(await drain(b.read('outputs/t1/b.mp4', { start: 10, end: 19 }))).toEqual(data.subarray(10, 20));
    expect(await drain(b.read('outputs/t1/b.mp4'))).toEqual(data);
    await b.deletePrefix('outputs/t1/');
    expect(await b.stat('outputs/t1/a.jpg')).toBeUndefined();
    expect(await b.stat('outputs/t1/b.mp4')).toBeUndefined();
  });

  it('streams a large file up as a multipart upload and removes the local copy', async () => {
    const b = store();
    const dir = await mkdtemp(join(tmpdir(), 'reelay-s3-up-'));
    try {
      const data = randomBytes(18 * 1024 * 1024); // > 2 parts of 8 MB
      const file = join(dir, 'big.mp4');
      await writeFile(file, data);
      await b.putFile('outputs/big/video.mp4', file, 'video/mp4');
      expect((await b.stat('outputs/big/video.mp4'))?.size).toBe(data.length);
      expect((await b.get('outputs/big/video.mp4')).equals(data)).toBe(true);
      await expect(import('node:fs/promises').then((f) => f.stat(file))).rejects.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('hands out presigned GET links that work without credentials and expire', async () => {
    const b = store();
    await b.put('outputs/t2/v.mp4', Buffer.from('hello'), 'video/mp4');
    const url = (await b.publicUrl('outputs/t2/v.mp4', Math.floor(Date.now() / 1000) + 600))!;
    expect(url).toContain('X-Amz-Signature=');
    expect(url).toContain('X-Amz-Expires=');
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('hello');
    const tampered = url.replace('outputs/t2/v.mp4', 'outputs/t2/x.mp4');
    expect((await fetch(tampered)).status).toBeGreaterThanOrEqual(400);
  });
});

describe('the task API with BLOB_STORE=s3', () => {
  it('stores inputs and outputs in the bucket and hands out presigned links', async () => {
    const s = await startServer(s3.env);
    try {
      const res = await s.api('/v1/video/generations', { method: 'POST', json: { model: 'veo-3.0-fast-generate-001', prompt: 'pan left', aspect_ratio: '16:9', seconds: 4, images: [dataUri(await makeImage(320, 180))] } });
      const t = (await res.json()) as TaskJson;
      const { task } = await waitForTask(s, t.id);
      expect(task.status).toBe('succeeded');
      expect(task.url).toContain(s3.endpoint);
      expect(task.url).toContain('X-Amz-Signature=');
      const facts = await probeBytes(await (await fetch(task.url!)).arrayBuffer());
      expect([facts.width, facts.height]).toEqual([1280, 720]);
      const b = store();
      // Inputs are not kept once the task has ended (nothing reads them after); the video is.
      expect(await b.stat(`inputs/${t.id}/0.png`)).toBeUndefined();
      expect(await b.stat(`outputs/${t.id}/video.mp4`)).toBeDefined();
      // The authenticated content route streams from the bucket with Range.
      const part = await s.api(`/v1/video/generations/${t.id}/content`, { headers: { range: 'bytes=0-99' } });
      expect(part.status).toBe(206);
      expect((await part.arrayBuffer()).byteLength).toBe(100);
    } finally {
      await s.close();
    }
  });
});
