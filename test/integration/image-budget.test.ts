// A key that submits large images in a loop (free to repeat: a cancel refunds
// everything) spends its own megapixel budget, not everyone's CPU (issue 19).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataUri, makeImage } from '../helpers/images.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

let s: TestServer;
let clock = 1_800_000_000_000;
let img: string;
beforeAll(async () => {
  img = dataUri(await makeImage(1280, 1000)); // 1.28 MP
  s = await startServer({ REELAY_IMAGE_MEGAPIXELS_PER_MINUTE: '2' }, { now: () => clock });
});
afterAll(async () => { await s?.close(); });

const submit = (key: string) => s.api('/v1/video/generations', {
  method: 'POST', headers: { authorization: `Bearer ${key}` },
  json: { model: 'veo-3.1-fast-generate-001', prompt: 'p', aspect_ratio: '16:9', seconds: 4, images: [img] },
});

describe('image megapixel budget per key', () => {
  it('past its budget a key gets 429 with Retry-After and nothing is created; another key is served; the budget refills', async () => {
    const hostile = await s.newKey('hostile');
    expect((await submit(hostile)).status).toBe(200);
    expect((await submit(hostile)).status).toBe(200); // into debt by one image
    const refused = await submit(hostile);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('rate_limited');
    expect(body.error.message).toContain('2 MP a minute');
    const list = (await (await s.api('/v1/video/generations', { headers: { authorization: `Bearer ${hostile}` } })).json()) as { data: unknown[] };
    expect(list.data).toHaveLength(2);
    const victim = await s.newKey('victim');
    expect((await submit(victim)).status).toBe(200);
    clock += 60_000;
    expect((await submit(hostile)).status).toBe(200);
  });
});
