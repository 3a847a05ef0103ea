import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage, dataUri } from '../helpers/images.ts';
import { startServer, waitForTask, type TaskJson, type TestServer } from '../helpers/server.ts';

let s: TestServer;
beforeAll(async () => { s = await startServer({ REELAY_ROLE: 'api' }); });
afterAll(async () => { await s?.close(); });

describe('operations endpoints', () => {
  it('/healthz and /readyz', async () => {
    expect((await fetch(`${s.base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${s.base}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(body.checks.database?.ok).toBe(true);
    expect(body.checks.ffmpeg?.ok).toBe(true);
  });

  it('/openapi.json describes every route from the zod schemas; /docs renders it', async () => {
    const spec = (await (await fetch(`${s.base}/openapi.json`)).json()) as { openapi: string; paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>> };
    expect(spec.openapi).toBe('3.1.0');
    for (const p of ['/v1/video/generations', '/v1/video/generations/{task_id}', '/v1/video/generations/{task_id}/cancel', '/v1/video/generations/{task_id}/content', '/v1/models', '/healthz', '/readyz', '/metrics']) {
      expect(spec.paths[p], p).toBeDefined();
    }
    const submit = spec.paths['/v1/video/generations']!.post!;
    const schema = JSON.stringify(submit.requestBody);
    for (const field of ['model', 'prompt', 'aspect_ratio', 'images', 'seconds', 'size', 'seed', 'callback_url']) expect(schema).toContain(`"${field}"`);
    expect(Object.keys(submit.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '409', '413', '415']));
    const docs = await fetch(`${s.base}/docs`);
    expect(docs.headers.get('content-type')).toMatch(/text\/html/);
    expect(await docs.text()).toContain('/v1/video/generations/{task_id}/cancel');
  });

  it('/v1/models lists the catalog with sizes in pixels', async () => {
    const body = (await (await s.api('/v1/models')).json()) as { data: { id: string; provider: string; sizes: { name: string; landscape: string }[] }[] };
    expect(body.data.map((m) => m.id)).toContain('veo-3.1-generate-preview');
    const veo3 = body.data.find((m) => m.id === 'veo-3.0-generate-001')!;
    expect(veo3.provider).toBe('local');
    expect(veo3.sizes).toContainEqual({ name: '4k', landscape: '3840x2160', portrait: '2160x3840' });
  });

  it('/metrics exposes request and task metrics', async () => {
    await s.api('/v1/video/generations', { method: 'POST', json: { model: 'veo-2.0-generate-001', prompt: 'x', aspect_ratio: '16:9', images: [dataUri(await makeImage(64, 64))] } });
    const text = await (await fetch(`${s.base}/metrics`)).text();
    expect(text).toMatch(/reelay_tasks\{status="queued"\} [1-9]/);
    expect(text).toContain('reelay_http_requests_total{route="/v1/video/generations",method="POST",status="200"}');
    expect(text).toContain('reelay_queue_oldest_age_seconds');
  });

  it('every response carries x-request-id, and a caller-supplied one is echoed', async () => {
    const res = await fetch(`${s.base}/v1/models`, { headers: { 'x-request-id': 'abc-123' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('x-request-id')).toBe('abc-123');
    const unknown = await fetch(`${s.base}/nope`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('x-request-id')).toMatch(/.+/);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('route_not_found');
  });
});

describe('ffmpeg missing', () => {
  it('readiness says so, and a task fails with a clear code instead of hanging', async () => {
    const broken = await startServer({ FFMPEG_PATH: '/nonexistent/ffmpeg' });
    try {
      const ready = await fetch(`${broken.base}/readyz`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { checks: { ffmpeg: { ok: boolean } } };
      expect(body.checks.ffmpeg.ok).toBe(false);
      const res = await broken.api('/v1/video/generations', { method: 'POST', json: { model: 'veo-2.0-generate-001', prompt: 'x', aspect_ratio: '16:9', images: [dataUri(await makeImage(64, 64))] } });
      const { task } = await waitForTask(broken, ((await res.json()) as TaskJson).id);
      expect(task.status).toBe('failed');
      expect(task.error?.code).toBe('ffmpeg_unavailable');
      expect(task.error?.message).not.toMatch(/nonexistent|ENOENT|stack/);
    } finally {
      await broken.close();
    }
  });
});

describe('malformed multipart and shutdown', () => {
  it('a multipart body without its boundary or cut short is a 400, not a 500', async () => {
    const s2 = await startServer({ REELAY_ROLE: 'api' });
    try {
      const cut = await s2.api('/v1/video/generations', {
        method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=XYZ' },
        body: '--XYZ\r\nContent-Disposition: form-data; name="model"\r\n\r\nveo-2.0-generate-001\r\n--XYZ\r\nContent-Disposition: form-data; name="images"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG',
      });
      expect(cut.status).toBe(400);
      expect(((await cut.json()) as { error: { code: string } }).error.code).toBe('invalid_multipart');
      const noBoundary = await s2.api('/v1/video/generations', { method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body: 'hello' });
      expect(noBoundary.status).toBe(400);
    } finally {
      await s2.close();
    }
  });
});
