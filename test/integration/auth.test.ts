import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage, dataUri } from '../helpers/images.ts';
import { startServer, type TaskJson, type TestServer } from '../helpers/server.ts';

let s: TestServer;
beforeAll(async () => { s = await startServer({ REELAY_ROLE: 'api' }); });
afterAll(async () => { await s?.close(); });

const asKey = (key: string | null) => (key === null ? { authorization: '' } : { authorization: `Bearer ${key}` });

async function submitAs(key: string) {
  const res = await s.api('/v1/video/generations', {
    method: 'POST', headers: asKey(key),
    json: { model: 'veo-2.0-generate-001', prompt: 'pan', aspect_ratio: '16:9', images: [dataUri(await makeImage(320, 180))] },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as TaskJson;
}

describe('authentication', () => {
  const paths: [string, string][] = [
    ['GET', '/v1/video/generations'], ['POST', '/v1/video/generations'], ['GET', '/v1/models'],
    ['GET', '/v1/video/generations/task_x'], ['POST', '/v1/video/generations/task_x/cancel'], ['GET', '/v1/video/generations/task_x/content'],
  ];
  for (const [method, path] of paths) {
    it(`${method} ${path} without a key is 401`, async () => {
      const res = await fetch(`${s.base}${path}`, { method });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: { type: string; code: string } };
      expect(body.error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' });
    });
  }

  it('rejects a malformed header, an unknown key and a revoked key', async () => {
    for (const authorization of ['Basic abc', 'Bearer', 'Bearer rly_not_a_real_key']) {
      const res = await fetch(`${s.base}/v1/models`, { headers: { authorization } });
      expect(res.status).toBe(401);
    }
    const created = await s.app.keys.create('to-revoke');
    expect((await fetch(`${s.base}/v1/models`, { headers: asKey(created.key) })).status).toBe(200);
    await s.app.keys.revoke(created.id);
    const res = await fetch(`${s.base}/v1/models`, { headers: asKey(created.key) });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/revoked/);
  });

  it('keys are stored only as hashes', async () => {
    const created = await s.app.keys.create('hash-check');
    const row = await s.app.store.keys.find(created.id);
    expect(row?.key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(created.key);
  });
});

describe('isolation between keys', () => {
  it("another key's task answers exactly like an unknown id", async () => {
    const mine = await submitAs(s.key);
    const other = await s.newKey('other');
    const unknownId = 'task_ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ';
    for (const [method, suffix] of [['GET', ''], ['POST', '/cancel'], ['GET', '/content']] as const) {
      const theirs = await s.api(`/v1/video/generations/${mine.id}${suffix}`, { method, headers: asKey(other) });
      const unknown = await s.api(`/v1/video/generations/${unknownId}${suffix}`, { method, headers: asKey(other) });
      expect(theirs.status).toBe(404);
      expect(unknown.status).toBe(404);
      const a = (await theirs.json()) as { error: { code: string; type: string } };
      const b = (await unknown.json()) as { error: { code: string; type: string } };
      expect(a.error.code).toBe(b.error.code);
      expect(a.error.type).toBe(b.error.type);
    }
    // The owner still sees it, untouched by the other key's cancel attempt.
    const still = (await (await s.api(`/v1/video/generations/${mine.id}`)).json()) as TaskJson;
    expect(still.status).toBe('queued');
  });

  it('lists only the caller’s tasks', async () => {
    const k1 = await s.newKey('k1');
    const k2 = await s.newKey('k2');
    const a = await submitAs(k1);
    const b = await submitAs(k2);
    const list1 = (await (await s.api('/v1/video/generations', { headers: asKey(k1) })).json()) as { data: TaskJson[] };
    expect(list1.data.map((t) => t.id)).toEqual([a.id]);
    const list2 = (await (await s.api('/v1/video/generations', { headers: asKey(k2) })).json()) as { data: TaskJson[] };
    expect(list2.data.map((t) => t.id)).toEqual([b.id]);
  });
});
