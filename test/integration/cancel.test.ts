import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage, dataUri } from '../helpers/images.ts';
import { startServer, waitFor, waitForTask, type TaskJson, type TestServer } from '../helpers/server.ts';

const submit = async (s: TestServer, extra: Record<string, unknown> = {}) => {
  const img = await makeImage(320, 180);
  const res = await s.api('/v1/video/generations', {
    method: 'POST',
    json: { model: 'veo-3.0-fast-generate-001', prompt: 'push in', aspect_ratio: '16:9', seconds: 4, images: [dataUri(img)], ...extra },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as TaskJson;
};
const get = async (s: TestServer, id: string) => (await (await s.api(`/v1/video/generations/${id}`)).json()) as TaskJson;
const cancel = (s: TestServer, id: string) => s.api(`/v1/video/generations/${id}/cancel`, { method: 'POST' });

describe('cancel while queued (API-only node: nothing renders)', () => {
  let s: TestServer;
  beforeAll(async () => { s = await startServer({ REELAY_ROLE: 'api' }); });
  afterAll(async () => { await s?.close(); });

  it('cancels, records the reason, and a second cancel is 409', async () => {
    const t = await submit(s);
    const res = await cancel(s, t.id);
    expect(res.status).toBe(200);
    const body = (await res.json()) as TaskJson;
    expect(body.status).toBe('cancelled');
    expect(body.error?.code).toBe('cancelled');
    expect(body.completed_at).toEqual(expect.any(Number));
    expect((await get(s, t.id)).status).toBe('cancelled');

    const again = await cancel(s, t.id);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('task_not_cancellable');
  });

  it('an unknown id is 404', async () => {
    const res = await cancel(s, 'task_0000000000000000000000000000000x');
    expect(res.status).toBe(404);
  });
});

describe('cancel while processing, and after success', () => {
  let s: TestServer;
  const logs: { taskId?: string; msg?: string }[] = [];
  beforeAll(async () => {
    s = await startServer({}, { logger: pino({ level: 'info' }, { write: (line: string) => { logs.push(JSON.parse(line) as (typeof logs)[number]); } }) });
  });
  afterAll(async () => { await s?.close(); });

  it('stops the render (its ffmpeg is aborted, not left to finish) and the task stays cancelled', async () => {
    // Long enough to be caught mid-render: 8 s at 1080p.
    const t = await submit(s, { seconds: 8, size: '1080p' });
    await waitFor(async () => { const x = await get(s, t.id); return x.status === 'processing' && x.progress > 0; }, 30_000, 20);
    const res = await cancel(s, t.id);
    expect(res.status).toBe(200);
    expect(((await res.json()) as TaskJson).status).toBe('cancelled');
    // The worker drops the render: the cancel aborts its ffmpeg run (which an abort kills before its last frame:
    // renderer.test.ts). A render left to finish would end as "output discarded" instead.
    await waitFor(async () => s.app.worker!.busy === 0, 30_000, 10);
    const said = logs.filter((l) => l.taskId === t.id).map((l) => l.msg);
    expect(said).toContain('render stopped (cancelled, lease lost or shutting down)');
    expect(said).not.toContain('task ended elsewhere before completion; output discarded');
    await new Promise((r) => setTimeout(r, 300));
    const after = await get(s, t.id);
    expect(after.status).toBe('cancelled');
    expect(after.url).toBeNull();
    // No output was stored for a cancelled task.
    const outputs = await readdir(join(s.dataDir, 'blobs', 'outputs')).catch(() => [] as string[]);
    expect(outputs).not.toContain(t.id);
  });

  it('cancel after success is 409 and the task keeps its video', async () => {
    const t = await submit(s);
    const { task } = await waitForTask(s, t.id);
    expect(task.status).toBe('succeeded');
    const res = await cancel(s, t.id);
    expect(res.status).toBe(409);
    const body = (await res.json()) as { error: { type: string; code: string; message: string } };
    expect(body.error).toMatchObject({ type: 'conflict_error', code: 'task_not_cancellable' });
    expect(body.error.message).toContain('succeeded');
    expect((await get(s, t.id)).status).toBe('succeeded');
  });
});
