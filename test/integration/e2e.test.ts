import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage, dataUri } from '../helpers/images.ts';
import { startServer, waitForTask, type TestServer } from '../helpers/server.ts';
import { probeBytes } from '../helpers/ffprobe.ts';

let s: TestServer;
beforeAll(async () => { s = await startServer(); });
afterAll(async () => { await s?.close(); });

describe('submit → poll → public download (local renderer)', () => {
  const cases = [
    { format: 'png' as const, mime: 'image/png', model: 'veo-3.0-fast-generate-001', aspect: '16:9', size: '720p', w: 1280, h: 720, seconds: 4, audio: true, img: [640, 360] },
    { format: 'jpeg' as const, mime: 'image/jpeg', model: 'veo-2.0-generate-001', aspect: '9:16', size: '720x1280', w: 720, h: 1280, seconds: 5, audio: false, img: [400, 300] },
    { format: 'webp' as const, mime: 'image/webp', model: 'veo-3.0-generate-001', aspect: '16:9', size: '1280x720', w: 1280, h: 720, seconds: 4, audio: true, img: [300, 500] },
  ];
  for (const c of cases) {
    it(`${c.format} → ${c.model} ${c.aspect} ${c.size} ${c.seconds}s`, async () => {
      const img = await makeImage(c.img[0]!, c.img[1]!, c.format);
      const res = await s.api('/v1/video/generations', {
        method: 'POST',
        json: { model: c.model, prompt: 'a slow push in', aspect_ratio: c.aspect, size: c.size, seconds: c.seconds, images: [dataUri(img, c.mime)] },
      });
      expect(res.status).toBe(200);
      const created = (await res.json()) as { id: string; task_id: string; object: string; status: string; progress: number; provider: string };
      expect(created.id).toMatch(/^task_[0-9A-Za-z]{32}$/);
      expect(created.task_id).toBe(created.id);
      expect(created).toMatchObject({ object: 'video', status: 'queued', progress: 0, provider: 'local' });

      const { task, progress } = await waitForTask(s, created.id);
      expect(task.status).toBe('succeeded');
      expect(task.progress).toBe(100);
      // Progress never goes backwards while polling.
      for (let i = 1; i < progress.length; i++) expect(progress[i]!).toBeGreaterThanOrEqual(progress[i - 1]!);

      // The public URL works without the API key.
      const video = await fetch(task.url!);
      expect(video.status).toBe(200);
      expect(video.headers.get('content-type')).toBe('video/mp4');
      const facts = await probeBytes(await video.arrayBuffer());
      expect(facts.videoCodec).toBe('h264');
      expect(facts.pixelFormat).toBe('yuv420p');
      expect([facts.width, facts.height]).toEqual([c.w, c.h]);
      expect(Math.abs(facts.duration - c.seconds)).toBeLessThanOrEqual(1 / 24 + 1e-6);
      expect(facts.fps).toBe(24);
      expect(facts.hasAudio).toBe(c.audio);

      // metadata is what ffprobe measured, not the request echoed back.
      expect(task.metadata).toMatchObject({ width: c.w, height: c.h, fps: 24, has_audio: c.audio });
      expect(Math.abs(task.metadata!.duration - c.seconds)).toBeLessThanOrEqual(1 / 24 + 1e-6);

      const thumb = await fetch(task.thumbnail_url!);
      expect(thumb.status).toBe(200);
      expect(thumb.headers.get('content-type')).toBe('image/jpeg');
      const jpeg = Buffer.from(await thumb.arrayBuffer());
      expect(jpeg.subarray(0, 2).toString('hex')).toBe('ffd8');
    });
  }
});
