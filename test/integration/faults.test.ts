import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage, dataUri } from '../helpers/images.ts';
import { startServer, waitForTask, type TaskJson, type TestServer } from '../helpers/server.ts';

describe('faults', () => {
  let s: TestServer;
  let diskFull = false;
  beforeAll(async () => {
    s = await startServer({}, {
      // A disk that fills up while the render is being stored.
      wrapBlobs: (b) => ({
        ...b,
        putFile: async (key, path, type) => {
          if (diskFull) throw Object.assign(new Error(`ENOSPC: no space left on device, write '${path}'`), { code: 'ENOSPC' });
          return b.putFile(key, path, type);
        },
      }),
    });
  });
  afterAll(async () => { await s?.close(); });

  const submit = async () => {
    const res = await s.api('/v1/video/generations', { method: 'POST', json: { model: 'veo-2.0-generate-001', prompt: 'x', aspect_ratio: '16:9', images: [dataUri(await makeImage(160, 90))] } });
    return (await res.json()) as TaskJson & { credits: { reserved: number; refunded: number } };
  };

  it('disk full while storing the video: the task fails with storage_full and a refund, the server stays healthy', async () => {
    diskFull = true;
    const t = await submit();
    const { task } = await waitForTask(s, t.id);
    expect(task.status).toBe('failed');
    expect(task.error?.code).toBe('storage_full');
    expect(task.error?.message).not.toMatch(/ENOSPC|\/tmp|write '/);
    expect(task.credits).toEqual({ reserved: t.credits.reserved, charged: 0, refunded: t.credits.reserved });
    expect((await fetch(`${s.base}/readyz`)).status).toBe(200);

    diskFull = false;
    const ok = await submit();
    expect((await waitForTask(s, ok.id)).task.status).toBe('succeeded');
  });
});
