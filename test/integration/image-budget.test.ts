// A key that submits large images in a loop (free to repeat: a cancel refunds
// everything) spends its own megapixel budget, not everyone's CPU (issue 19).
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataUri, makeImage } from '../helpers/images.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

let s: TestServer;
let clock = 1_800_000_000_000;
let img: string;
beforeAll(async () => {
  img = dataUri(await makeImage(1280, 1000)); // 1.28 MP
  // 8 a minute saves up a quarter minute's worth: 2 MP, so one 1.28 MP image and one into debt.
  s = await startServer({ REELAY_IMAGE_MEGAPIXELS_PER_MINUTE: '8' }, { now: () => clock });
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
    expect(body.error.message).toContain('8 MP a minute');
    const list = (await (await s.api('/v1/video/generations', { headers: { authorization: `Bearer ${hostile}` } })).json()) as { data: unknown[] };
    expect(list.data).toHaveLength(2);
    const victim = await s.newKey('victim');
    expect((await submit(victim)).status).toBe(200);
    clock += 60_000;
    expect((await submit(hostile)).status).toBe(200);
  });
});

/**
 * Sends the headers and the first kilobyte of a body that declares `declared` bytes (or goes chunked), never the rest,
 * and resolves with the answer: only a server that refuses before reading the body can answer at all.
 */
function partialUpload(base: string, path: string, key: string, declared: number | null): Promise<{ status: number; connection: string | undefined; body: { error: { code: string; message: string } } }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(declared === null ? {} : { 'content-length': String(declared) }) },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode!, connection: res.headers.connection, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      });
    });
    req.on('error', reject);
    req.write(`{"model":"veo-3.1-fast-generate-001","prompt":"p","images":["data:image/png;base64,${'A'.repeat(1000)}`);
  });
}

describe('submit budgets are checked before the body is read', () => {
  let b: TestServer;
  let bodyClock = 1_800_000_000_000;
  beforeAll(async () => {
    // A quarter minute's worth saved up: 2 MP and 3 MB.
    b = await startServer({ REELAY_IMAGE_MEGAPIXELS_PER_MINUTE: '8', REELAY_SUBMIT_MEGABYTES_PER_MINUTE: '12' }, { now: () => bodyClock });
  });
  afterAll(async () => { await b?.close(); });
  const big = (mb: number) => `data:image/png;base64,${'A'.repeat(mb * 1e6)}`;

  it('a key past its byte budget gets 429 on the headers alone; bodies refused by a rule count; other keys are served', async () => {
    const hostile = await b.newKey('bytes');
    // Two bodies of ~2 MB that their rules refuse (not a PNG): each is still read, so each is charged.
    for (let i = 0; i < 2; i++) {
      const r = await b.api('/v1/video/generations', { method: 'POST', headers: { authorization: `Bearer ${hostile}` }, json: { model: 'veo-3.1-fast-generate-001', prompt: 'p', images: [big(2)] } });
      expect(r.status).toBe(400);
    }
    for (const declared of [20e6, null]) {
      const refused = await partialUpload(b.base, '/v1/video/generations', hostile, declared);
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe('rate_limited');
      expect(refused.body.error.message).toContain('12 MB a minute');
      // The unread body is not read to its end and thrown away: the connection closes after the answer.
      expect(refused.connection).toBe('close');
    }
    // The drop-in surfaces share the budget.
    expect((await partialUpload(b.base, '/v1/videos', hostile, 20e6)).status).toBe(429);
    const other = await b.newKey('other');
    const ok = await b.api('/v1/video/generations', { method: 'POST', headers: { authorization: `Bearer ${other}` }, json: { model: 'veo-3.1-fast-generate-001', prompt: 'p', aspect_ratio: '16:9', seconds: 4, images: [img] } });
    expect(ok.status).toBe(200);
    bodyClock += 60_000;
    const again = await b.api('/v1/video/generations', { method: 'POST', headers: { authorization: `Bearer ${hostile}` }, json: { model: 'veo-3.1-fast-generate-001', prompt: 'p', aspect_ratio: '16:9', seconds: 4, images: [img] } });
    expect(again.status).toBe(200);
  });

  it('a body sent without Content-Length is charged what was read', async () => {
    const key = await b.newKey('chunked');
    const stream = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(JSON.stringify({ model: 'veo-3.1-fast-generate-001', prompt: 'p', images: [big(4)] }))); c.close(); } });
    const r = await fetch(`${b.base}/v1/video/generations`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    expect(r.status).toBe(400);
    expect((await partialUpload(b.base, '/v1/video/generations', key, 1000)).status).toBe(429);
  });

  it('a key in debt on its megapixel budget is refused before the body is read', async () => {
    const key = await b.newKey('pixels');
    for (let i = 0; i < 2; i++) {
      const r = await b.api('/v1/video/generations', { method: 'POST', headers: { authorization: `Bearer ${key}` }, json: { model: 'veo-3.1-fast-generate-001', prompt: 'p', aspect_ratio: '16:9', seconds: 4, images: [img] } });
      expect(r.status).toBe(200);
    }
    const refused = await partialUpload(b.base, '/v1/video/generations', key, 1_000_000);
    expect(refused.status).toBe(429);
    expect(refused.body.error.message).toContain('8 MP a minute');
  });
});
