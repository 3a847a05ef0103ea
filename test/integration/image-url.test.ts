import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage } from '../helpers/images.ts';
import { startServer, type TaskJson, type TestServer } from '../helpers/server.ts';

let png: Buffer;
let imageServer: Server;
let imageBase: string;
let connections = 0;

beforeAll(async () => {
  png = await makeImage(320, 180);
  imageServer = createServer((req, res) => {
    if (req.url === '/start.png') { res.writeHead(200, { 'content-type': 'image/png' }); res.end(png); return; }
    if (req.url === '/redirect') { res.writeHead(302, { location: '/start.png' }); res.end(); return; }
    if (req.url === '/text') { res.writeHead(200, { 'content-type': 'image/png' }); res.end('not an image at all'); return; }
    res.writeHead(404); res.end();
  });
  imageServer.on('connection', () => { connections++; });
  await new Promise<void>((r) => imageServer.listen(0, '127.0.0.1', r));
  imageBase = `http://127.0.0.1:${(imageServer.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => imageServer.close(() => r())));

const body = (url: string) => ({ model: 'veo-2.0-generate-001', prompt: 'x', aspect_ratio: '16:9', images: [url] });

describe('image URLs with private targets allowed (dev setting)', () => {
  let s: TestServer;
  beforeAll(async () => { s = await startServer({ REELAY_ROLE: 'api' }); });
  afterAll(async () => { await s?.close(); });

  it('fetches the image (following redirects) and stores exactly its bytes', async () => {
    for (const path of ['/start.png', '/redirect']) {
      const res = await s.api('/v1/video/generations', { method: 'POST', json: body(`${imageBase}${path}`) });
      expect(res.status).toBe(200);
      const t = (await res.json()) as TaskJson;
      expect(await readFile(join(s.dataDir, 'blobs', 'inputs', t.id, '0.png'))).toEqual(png);
    }
  });

  it('a URL that fails or is not an image is a 400 naming the image', async () => {
    for (const [path, code] of [['/missing', 'image_fetch_failed'], ['/text', 'invalid_image']] as const) {
      const res = await s.api('/v1/video/generations', { method: 'POST', json: body(`${imageBase}${path}`) });
      expect(res.status).toBe(400);
      const e = ((await res.json()) as { error: { code: string; param: string; message: string } }).error;
      expect(e.code).toBe(code);
      expect(e.param).toBe('images');
      expect(e.message).toContain('images[0]');
    }
  });
});

describe('image URLs in production mode (no private targets)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({ REELAY_ROLE: 'api', REELAY_ALLOW_PRIVATE_URLS: '0' }, {
      // A public-looking name that resolves to loopback: DNS must not be a way in.
      lookup: async () => [{ address: '127.0.0.1', family: 4 }],
    });
  });
  afterAll(async () => { await s?.close(); });

  it('refuses loopback, private and metadata targets without connecting, and plain http', async () => {
    const port = new URL(imageBase).port;
    const before = connections;
    const cases: [string, string][] = [
      [`https://127.0.0.1:${port}/start.png`, 'image_url_not_allowed'],
      [`https://[::1]:${port}/start.png`, 'image_url_not_allowed'],
      [`https://169.254.169.254/latest/meta-data`, 'image_url_not_allowed'],
      [`https://10.0.0.1/x.png`, 'image_url_not_allowed'],
      [`https://2130706433:${port}/start.png`, 'image_url_not_allowed'],
      [`https://images.example:${port}/start.png`, 'image_url_not_allowed'],
      [`${imageBase}/start.png`, 'invalid_image'],
    ];
    for (const [url, code] of cases) {
      const res = await s.api('/v1/video/generations', { method: 'POST', json: body(url) });
      expect(res.status, url).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code, url).toBe(code);
    }
    expect(connections).toBe(before);
    const list = (await (await s.api('/v1/video/generations')).json()) as { data: unknown[] };
    expect(list.data).toHaveLength(0);
  });
});

describe('Idempotency-Key window', () => {
  it('replays within 24 h and may name a new task after', async () => {
    let offset = 0;
    const s = await startServer({ REELAY_ROLE: 'api' }, { now: () => Date.now() + offset });
    try {
      const send = () => s.api('/v1/video/generations', { method: 'POST', headers: { 'idempotency-key': 'order-42' }, json: body(`data:image/png;base64,${png.toString('base64')}`) });
      const a = (await (await send()).json()) as TaskJson;
      offset = 23 * 3600 * 1000;
      const b = (await (await send()).json()) as TaskJson;
      expect(b.id).toBe(a.id);
      offset = 25 * 3600 * 1000;
      const c = (await (await send()).json()) as TaskJson;
      expect(c.id).not.toBe(a.id);
      const list = (await (await s.api('/v1/video/generations')).json()) as { data: unknown[] };
      expect(list.data).toHaveLength(2);
    } finally {
      await s.close();
    }
  });
});
