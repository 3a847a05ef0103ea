import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, waitFor, waitForTask, type TestServer } from '../helpers/server.ts';
import sharp from 'sharp';
import { startViduFake, type ViduFake } from '../fakes/vidu.ts';
import { dataUri, makeImage } from '../helpers/images.ts';
import { expectFailedAndRefunded, runTask, submit, type UpstreamTask } from '../helpers/upstream.ts';

const KEY = 'vda_test_key_0123456789';
let fake: ViduFake;
let s: TestServer;

beforeAll(async () => {
  fake = await startViduFake(KEY);
  s = await startServer({ VIDU_API_KEY: KEY, VIDU_BASE_URL: fake.baseUrl, REELAY_UPSTREAM_POLL_MS: '20', REELAY_UPSTREAM_TIMEOUT_MS: '400' });
});
afterAll(async () => {
  await s?.close();
  await fake?.close();
});

describe('Vidu adapter against the strict fake', () => {
  it('img2video → creations → download via safeFetch → re-hosted', async () => {
    const before = fake.requests.length;
    const t = await runTask(s, { model: 'viduq2-turbo', seconds: 3, size: '540p', audio: true, audio_type: 'speech_only' });
    expect(t.status).toBe('succeeded');
    expect(t.provider).toBe('vidu');
    expect(t.metadata).toMatchObject({ provider: 'vidu', upstream: { provider: 'vidu' } });
    expect(t.url!.startsWith(s.base)).toBe(true);
    expect(JSON.stringify(t)).not.toContain(fake.origin);
    const mine = fake.requests.slice(before);
    const create = mine[0]!;
    expect(create.path).toBe('/ent/v2/img2video');
    expect(create.headers.authorization).toBe(`Token ${KEY}`);
    expect(create.body).toMatchObject({ model: 'viduq2-turbo', prompt: 'a slow push in', duration: 3, resolution: '540p', audio: true, audio_type: 'speech_only' });
    expect((create.body as { images: string[] }).images[0]).toMatch(/^data:image\/png;base64,/);
    expect(mine.some((r) => r.path === `/ent/v2/tasks/${t.metadata!.upstream!.id}/creations`)).toBe(true);
    expect(mine.some((r) => r.path === `/files/${t.metadata!.upstream!.id}.mp4`)).toBe(true);
  });

  it('crops the start image to the task\'s aspect (Vidu follows the image\'s shape), 1:1 included', async () => {
    const photo = await makeImage(400, 300, 'jpeg');
    for (const [aspect, size, want] of [['1:1', '720p', [300, 300]], ['9:16', '540p', [169, 300]], ['16:9', '1080p', [400, 225]]] as const) {
      const before = fake.requests.length;
      const res = await s.api('/v1/video/generations', { method: 'POST', json: { model: 'viduq2-pro', prompt: 'p', aspect_ratio: aspect, size, seconds: 2, images: [dataUri(photo, 'image/jpeg')] } });
      expect(res.status).toBe(200);
      const task = (await res.json()) as { size: string; width?: number };
      const create = await waitFor(async () => fake.requests.slice(before).find((r) => r.path === '/ent/v2/img2video'));
      const uri = (create.body as { images: string[]; resolution: string }).images[0]!;
      expect(uri.startsWith('data:image/jpeg;base64,')).toBe(true);
      const meta = await sharp(Buffer.from(uri.split(',')[1]!, 'base64')).metadata();
      expect([meta.width, meta.height]).toEqual(want);
      expect((create.body as { resolution: string }).resolution).toBe(size);
      expect(task.size).toBeDefined();
    }
    // A square task is square end to end: 720p at 1:1 is 720×720.
    const sq = await s.api('/v1/video/generations', { method: 'POST', json: { model: 'viduq2-pro', prompt: 'p', aspect_ratio: '1:1', size: '1280x720', seconds: 2, images: [dataUri(photo, 'image/jpeg')] } });
    expect(sq.status).toBe(400);
    expect(((await sq.json()) as { error: { message: string } }).error.message).toContain('use 720x720');
  });

  it('a failed Vidu task → upstream_rejected with its err_code, refunded', async () => {
    fake.outcome = 'failed';
    const t = await runTask(s, { model: 'viduq1', seconds: 5 });
    fake.outcome = 'ok';
    expectFailedAndRefunded(t, 'upstream_rejected');
    expect(t.error!.message).toContain('ImageObjectsUndetected');
  });

  it('a Vidu 400 carries Vidu\'s reason and message', async () => {
    fake.script.submit.push({ status: 400, message: 'prompt is illegal' });
    const t = await runTask(s, { model: 'viduq2-pro', seconds: 4, size: '720p' });
    expectFailedAndRefunded(t, 'upstream_rejected');
    expect(t.error!.message).toContain('BadRequest: prompt is illegal');
  });

  it('cancelling the Reelay task cancels the Vidu task', async () => {
    fake.outcome = 'never';
    const before = fake.requests.length;
    const id = await submit(s, { model: 'viduq2-pro-fast', seconds: 2, size: '720p' });
    // Cancel once the upstream task exists and is being polled.
    await waitFor(async () => fake.requests.slice(before).some((r) => r.path.endsWith('/creations')));
    const res = await s.api(`/v1/video/generations/${id}/cancel`, { method: 'POST' });
    expect(res.status).toBe(200);
    const cancelledBefore = fake.cancelled.length;
    await waitFor(async () => fake.cancelled.length === cancelledBefore + 1, 10_000);
    fake.outcome = 'ok';
    const cancelRequest = fake.requests.slice(before).find((r) => r.path.endsWith('/cancel'))!;
    expect(cancelRequest.headers.authorization).toBe(`Token ${KEY}`);
    expect(cancelRequest.body).toEqual({ id: fake.cancelled.at(-1) });
    const t = (await waitForTask(s, id)).task as UpstreamTask;
    expect(t.status).toBe('cancelled');
    expect(t.credits.refunded).toBe(t.credits.reserved);
  });
});

describe('Vidu models, off-peak and channel faults (UPSTREAM.md §4)', () => {
  it('Q3 and Q4 go upstream under their own ids; an off-peak task goes as off_peak and waits through `scheduled`', async () => {
    const before = fake.requests.length;
    const t = await runTask(s, { model: 'viduq4-preview', seconds: 3, size: '720p', off_peak: true });
    expect(t.status).toBe('succeeded');
    expect(t.metadata).toMatchObject({ upstream_model: 'viduq4-preview', channel: 'vidu' });
    const create = fake.requests.slice(before).find((r) => r.path.endsWith('/img2video'))!;
    expect(create.body).toMatchObject({ model: 'viduq4-preview', duration: 3, resolution: '720p', off_peak: true });
    expect(fake.answered.slice(-8).map((a) => a.state)).toContain('scheduled');
    const q3 = await runTask(s, { model: 'viduq3-turbo', seconds: 7, size: '540p' });
    expect(q3.metadata).toMatchObject({ upstream_model: 'viduq3-turbo' });
  });

  it('an account out of credit is the channel\'s fault: the task fails upstream_unavailable (refunded) and the channel rests', async () => {
    fake.accountCredits = 0;
    try {
      const t = await runTask(s, { model: 'viduq2-pro', seconds: 2, size: '720p' });
      expectFailedAndRefunded(t, 'upstream_unavailable');
      expect(t.error!.message).toContain('not with your request');
      const res = await fetch(`${s.base}/v1/models`, { headers: { authorization: `Bearer ${s.key}` } });
      const m = ((await res.json()) as { data: { id: string; available: boolean; providers: string[] }[] }).data.find((x) => x.id === 'viduq2-pro')!;
      expect(m).toMatchObject({ available: false, providers: [] });
      // Resting: the next task fails without another call to Vidu.
      const before = fake.requests.filter((r) => r.path.endsWith('/img2video')).length;
      const again = await runTask(s, { model: 'viduq2-pro', seconds: 2, size: '720p' });
      expectFailedAndRefunded(again, 'upstream_unavailable');
      expect(again.error!.message).toContain('resting until');
      expect(fake.requests.filter((r) => r.path.endsWith('/img2video')).length).toBe(before);
    } finally {
      fake.accountCredits = null;
      await s.app.store.channelHealth.clear('vidu');
    }
  });
});
