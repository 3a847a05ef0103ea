// Issue 19 §3: the slots for reading submit bodies were per process, not per key — 40 slow uploads from
// one key gave every other key 429 server_busy — and the drop-in surfaces had a second set of their own,
// so the memory bound was really twice the setting. Now there is one set for every surface, and one key
// holds at most half of it.
import net from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeImage } from '../helpers/images.ts';
import { startServer, waitFor, type TestServer } from '../helpers/server.ts';

const NATIVE = '/v1/video/generations';
const OPENAI = '/v1/videos';
const VERTEX = '/v1beta1/publishers/google/models/veo-3.1-generate-preview:predictLongRunning';

let png: string;
beforeAll(async () => { png = (await makeImage(64, 36)).toString('base64'); });

/** A client that sends the headers and the start of a big body, then nothing more (1 byte/s is as good as 0). */
function slowUpload(base: string, path: string, key: string, kind: 'json' | 'multipart'): Promise<net.Socket> {
  const u = new URL(base);
  const auth = path === VERTEX ? `x-goog-api-key: ${key}` : `Authorization: Bearer ${key}`;
  const head = kind === 'json'
    ? `POST ${path} HTTP/1.1\r\nHost: x\r\n${auth}\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{"prompt":"`
    : `POST ${path} HTTP/1.1\r\nHost: x\r\n${auth}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 10000000\r\n\r\n--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nslow`;
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port), u.hostname);
    socket.on('error', () => {});
    socket.once('connect', () => socket.write(head, () => resolve(socket)));
    socket.once('error', reject);
  });
}

describe('submit slots: one set for every surface, fair between keys', () => {
  let s: TestServer | undefined;
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    for (const sock of sockets.splice(0)) sock.destroy();
    await s?.close();
    s = undefined;
  });

  const submit = (key: string, path = NATIVE) => s!.api(path, {
    method: 'POST', headers: { authorization: `Bearer ${key}` },
    json: path === OPENAI
      ? { model: 'veo-2.0-generate-001', prompt: 'p', size: '1280x720', seconds: '5', input_reference: `data:image/png;base64,${png}` }
      : { model: 'veo-2.0-generate-001', prompt: 'p', aspect_ratio: '16:9', images: [`data:image/png;base64,${png}`] },
  });
  /** A complete, quick request from `key`: 429 once the key (or the server) has no slot left for it. */
  const refused = async (key: string) => {
    const r = await s!.api(NATIVE, { method: 'POST', headers: { authorization: `Bearer ${key}` }, json: {} });
    return r.status === 429 ? ((await r.json()) as { error: { code: string; message: string } }).error : undefined;
  };

  it("one key's slow uploads, however many, leave another key its slots", async () => {
    s = await startServer({ REELAY_ROLE: 'api', REELAY_MAX_CONCURRENT_SUBMITS: '8' });
    const hog = await s.newKey('hog');
    for (let i = 0; i < 20; i++) sockets.push(await slowUpload(s.base, NATIVE, hog, 'multipart'));
    const err = await waitFor(() => refused(hog));

    const other = await s.newKey('other');
    expect((await submit(other)).status).toBe(200);
    expect((await submit(other, OPENAI)).status).toBe(200);
    // The hog is told why: its own share is used up, not the server's.
    expect(err.code).toBe('server_busy');
    expect(err.message).toMatch(/This key is already sending 4 submissions at once .*half of the 8/);
  });

  it('the drop-in surfaces draw from the same slots as the native submit', async () => {
    s = await startServer({ REELAY_ROLE: 'api', REELAY_MAX_CONCURRENT_SUBMITS: '8' });
    const [a, c, b] = [await s.newKey('a'), await s.newKey('c'), await s.newKey('b')];
    // 4 slow native uploads from one key, 4 slow drop-in uploads (OpenAI and Vertex) from another: 8 in all.
    for (let i = 0; i < 4; i++) sockets.push(await slowUpload(s.base, NATIVE, a, 'json'));
    for (let i = 0; i < 2; i++) sockets.push(await slowUpload(s.base, OPENAI, c, 'multipart'));
    for (let i = 0; i < 2; i++) sockets.push(await slowUpload(s.base, VERTEX, c, 'json'));
    // Full: the 8 bodies being read are the whole budget, whichever surface they came through.
    const full = await waitFor(() => refused(b), 10_000);
    expect(full).toMatchObject({ code: 'server_busy', message: expect.stringMatching(/already reading 8 submissions/) });
    const res = await submit(b);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');

    // One drop-in upload gives up: its slot is free for anyone, on any surface.
    sockets.pop()!.destroy();
    await waitFor(async () => {
      const r = await submit(b);
      return r.status === 200;
    });
  });
});
