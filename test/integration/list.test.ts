import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage, dataUri } from '../helpers/images.ts';
import { startServer, type TaskJson, type TestServer } from '../helpers/server.ts';

let s: TestServer;
beforeAll(async () => { s = await startServer({ REELAY_ROLE: 'api' }); });
afterAll(async () => { await s?.close(); });

type Page = { object: string; data: TaskJson[]; has_more: boolean; first_id: string | null; last_id: string | null };

describe('list with cursor paging', () => {
  it('pages newest first with after=, filters by status, and validates the query', async () => {
    const img = dataUri(await makeImage(320, 180));
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await s.api('/v1/video/generations', { method: 'POST', json: { model: 'veo-2.0-generate-001', prompt: `p${i}`, aspect_ratio: '16:9', images: [img] } });
      ids.push(((await res.json()) as TaskJson).id);
    }
    await s.api(`/v1/video/generations/${ids[2]}/cancel`, { method: 'POST' });
    const newestFirst = [...ids].reverse();

    const seen: string[] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 10; guard++) {
      const page = (await (await s.api(`/v1/video/generations?limit=3${after ? `&after=${after}` : ''}`)).json()) as Page;
      expect(page.object).toBe('list');
      seen.push(...page.data.map((t) => t.id));
      expect(page.last_id).toBe(page.data.at(-1)?.id ?? null);
      if (!page.has_more) break;
      after = page.last_id;
    }
    expect(seen).toEqual(newestFirst);

    const cancelled = (await (await s.api('/v1/video/generations?status=cancelled')).json()) as Page;
    expect(cancelled.data.map((t) => t.id)).toEqual([ids[2]]);

    for (const q of ['limit=0', 'limit=101', 'limit=abc', 'status=done', 'after=task_unknown']) {
      const res = await s.api(`/v1/video/generations?${q}`);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { param: string } };
      expect(body.error.param).toBe(q.split('=')[0]);
    }
  });
});
