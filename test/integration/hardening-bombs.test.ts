/**
 * Issue #10, part 3: image bombs. A file of a few hundred bytes whose header
 * claims an enormous image must be refused from the header, without decoding,
 * and without the server's memory growing — inline, as a multipart file, or
 * behind an image URL. "Without decoding" is shown by what answers (the
 * message names the size the header claims, which a decoder would never reach)
 * and by memory, not by a stopwatch (issue 18).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage } from '../helpers/images.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import {
  compressedZeros, countTasks, encodeForm, expectErrorEnvelope, inputFiles, jpegWithSize, pngBomb, pngWith, webpWithCanvas,
} from '../helpers/hostile.ts';

const S = '/v1/video/generations';
const body = (image: string) => ({ model: 'veo-2.0-generate-001', prompt: 'boom', aspect_ratio: '16:9', images: [image] });

interface Bomb { name: string; bytes: Buffer; message?: RegExp }
const bombs: Bomb[] = [];
let imageHost: http.Server;
let imageBase = '';

beforeAll(async () => {
  const jpeg = await makeImage(64, 36, 'jpeg');
  const alphaWebp = await sharp({ create: { width: 64, height: 36, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0.5 } } }).webp().toBuffer();
  bombs.push(
    { name: 'PNG 60000x60000', bytes: pngBomb(60_000, 60_000), message: /60000x60000/ },
    { name: 'PNG 65535x65535', bytes: pngBomb(65_535, 65_535), message: /65535x65535/ },
    { name: 'PNG 16384x16384 (sides allowed, 268 MP)', bytes: pngBomb(16_384, 16_384), message: /16384x16384/ },
    // The PNG maximum; a decoder that trusted it would try to allocate petabytes.
    { name: 'PNG 2147483647x2147483647', bytes: pngBomb(2 ** 31 - 1, 2 ** 31 - 1) },
    { name: 'JPEG 60000x60000', bytes: jpegWithSize(jpeg, 60_000, 60_000), message: /60000x60000/ },
    { name: 'JPEG 65500x65500', bytes: jpegWithSize(jpeg, 65_500, 65_500), message: /65500x65500/ },
    { name: 'WebP canvas 60000x60000', bytes: webpWithCanvas(alphaWebp, 60_000, 60_000) },
    { name: 'WebP canvas 16777216x16777216 (the VP8X maximum)', bytes: webpWithCanvas(alphaWebp, 2 ** 24, 2 ** 24) },
    // A real deflate bomb: 1 GB of zero rows in ~1 MB; the header alone (32768x32768) condemns it.
    { name: 'PNG 32768x32768 with a full 1 GB zlib stream', bytes: pngWith(32_768, 32_768, await compressedZeros(32_769 * 32_768)) },
  );
  for (const b of bombs) expect(b.bytes.length, b.name).toBeLessThan(2 * 1024 * 1024);

  // An image host serving the bombs (this test server allows loopback URLs), and a gzip bomb.
  const gz = await compressedZeros(200 * 1024 * 1024, 'gzip');
  imageHost = http.createServer((req, res) => {
    const i = Number(/^\/bomb\/(\d+)$/.exec(req.url ?? '')?.[1] ?? -1);
    if (bombs[i]) { res.writeHead(200, { 'content-type': 'image/png' }).end(bombs[i].bytes); return; }
    if (req.url === '/gzip') { res.writeHead(200, { 'content-type': 'image/png', 'content-encoding': 'gzip' }).end(gz); return; }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => imageHost.listen(0, '127.0.0.1', r));
  imageBase = `http://127.0.0.1:${(imageHost.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  imageHost?.closeAllConnections();
  await new Promise<void>((r) => (imageHost ? imageHost.close(() => r()) : r()));
});

describe('image bombs', () => {
  let s: TestServer;
  beforeAll(async () => { s = await startServer({ REELAY_ROLE: 'api' }); });
  afterAll(async () => { await s?.close(); });

  const sendBomb = async (b: Bomb, how: 'json' | 'multipart' | 'url') => {
    if (how === 'json') return s.api(S, { method: 'POST', json: body(`data:image/png;base64,${b.bytes.toString('base64')}`) });
    if (how === 'url') return s.api(S, { method: 'POST', json: body(`${imageBase}/bomb/${bombs.indexOf(b)}`) });
    const fd = new FormData();
    for (const [k, v] of Object.entries(body('x'))) if (k !== 'images') fd.append(k, String(v));
    fd.append('images', new Blob([new Uint8Array(b.bytes)], { type: 'image/png' }), 'bomb.png');
    const { body: payload, contentType } = await encodeForm(fd);
    return s.api(S, { method: 'POST', body: new Uint8Array(payload), headers: { 'content-type': contentType } });
  };

  for (const how of ['json', 'multipart', 'url'] as const) {
    it(`each bomb is refused from its header (${how})`, async () => {
      for (const b of bombs) {
        const res = await sendBomb(b, how);
        const e = await expectErrorEnvelope(res, { status: 400, code: 'invalid_image', label: `${b.name} (${how})` });
        expect(e.error.param).toBe('images');
        if (b.message) expect(e.error.message, b.name).toMatch(b.message);
      }
    });
  }

  it('20 bombs in parallel: all refused, peak RSS growth under 100 MB', async () => {
    // Warm up (sharp's thread pool, the parsers) so the baseline is not a cold start.
    await Promise.all(bombs.slice(0, 4).map((b) => sendBomb(b, 'json').then((r) => r.text())));
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 2);
    const hows = ['json', 'multipart', 'url'] as const;
    try {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => {
        const b = bombs[i % bombs.length]!;
        return sendBomb(b, hows[i % hows.length]!).then(async (res) => ({ status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code }));
      }));
      expect(results.every((r) => r.status === 400 && r.code === 'invalid_image'), JSON.stringify(results)).toBe(true);
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    const growthMb = (peak - baseline) / 1024 / 1024;
    console.info(`20 parallel bombs: peak RSS growth ${growthMb.toFixed(1)} MB`);
    expect(growthMb, `RSS grew ${growthMb.toFixed(1)} MB`).toBeLessThan(100);
  });

  it('a gzip-encoded image URL is not inflated: refused as what it is, not decompressed', async () => {
    // Judged as the bytes that came (gzip is not an image), or stopped at the size cap: never 200 MB inflated.
    const res = await s.api(S, { method: 'POST', json: body(`${imageBase}/gzip`) });
    await expectErrorEnvelope(res, { status: 400, code: ['invalid_image', 'image_fetch_failed'] });
  });

  it('left nothing behind', async () => {
    expect(await countTasks(s)).toBe(0);
    expect(await inputFiles(s.dataDir)).toEqual([]);
    expect((await s.api('/healthz')).status).toBe(200);
  });
});
