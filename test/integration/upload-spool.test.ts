// Issue 19 (bounded memory, one key's uploads cost the others nothing): multipart image parts used to be
// held in memory twice over (the socket's chunks and the Buffer they were joined into, ~23 MB for an
// 11.5 MB image, joined on the event loop). They are now written to a file in the process's scratch root
// as they arrive, moved into the blob store when the task is created, and removed on every other way out.
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, exited, startChild } from '../helpers/child-server.ts';
import { dataUri, makeImage } from '../helpers/images.ts';
import { startServer, waitFor, type TaskJson, type TestServer } from '../helpers/server.ts';

const S = '/v1/video/generations';
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const exists = (p: string) => stat(p).then(() => true, () => false);
type ErrorJson = { error: { code: string; message: string; param?: string } };

function form(image: Buffer, fields: Record<string, string> = {}): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries({ model: 'veo-2.0-generate-001', prompt: 'p', aspect_ratio: '16:9', ...fields })) f.set(k, v);
  f.set('images', new Blob([new Uint8Array(image)], { type: 'image/png' }), 'start.png');
  return f;
}

describe('multipart image parts are spooled to files', () => {
  let s: TestServer;
  let png: Buffer;
  let uploads: string;
  const spooled = async () => (await readdir(uploads).catch(() => [] as string[]));
  beforeAll(async () => {
    s = await startServer({ REELAY_ROLE: 'api' });
    png = await makeImage(320, 180);
    uploads = join(s.app.scratchDir, 'uploads');
  });
  afterAll(async () => { await s.close(); });

  it('a part is on disk while it arrives, and its file goes when the client goes away', async () => {
    // A big incompressible image, sent half way and then held: the half is already in a file, not in memory.
    const big = Buffer.concat([png, Buffer.alloc(2_000_000, 1)]);
    const u = new URL(s.base);
    const head = `--b\r\nContent-Disposition: form-data; name="images"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`;
    const socket = net.connect(Number(u.port), u.hostname);
    socket.on('error', () => {});
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(`POST ${S} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.key}\r\nContent-Type: multipart/form-data; boundary=b\r\n`
      + `Content-Length: ${head.length + big.length + 8}\r\n\r\n${head}`);
    socket.write(big.subarray(0, 1_000_000));
    const [name] = await waitFor(async () => {
      const files = await spooled();
      return files.length === 1 && (await stat(join(uploads, files[0]!))).size === 1_000_000 ? files : undefined;
    });
    expect(name).toMatch(/^upload-[0-9a-f]{16}$/);
    socket.destroy();
    await waitFor(async () => (await spooled()).length === 0);
  });

  it('an accepted image is stored byte for byte and its spooled file is gone', async () => {
    const res = await s.api(S, { method: 'POST', body: form(png) });
    expect(res.status).toBe(200);
    const task = (await res.json()) as TaskJson;
    expect(await readFile(join(s.dataDir, 'blobs', 'inputs', task.id, '0.png'))).toEqual(png);
    expect(await spooled()).toEqual([]);
  });

  it('every refusal after the part was spooled leaves nothing behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reelay-apng-'));
    try {
      // An APNG: the animation check reads the spooled file's chunks (not a Buffer) and still finds it.
      const file = join(dir, 'a.png');
      await promisify(execFile)(FFMPEG, ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x36:rate=4', '-frames:v', '3', '-plays', '0', '-f', 'apng', file]);
      const apng = await s.api(S, { method: 'POST', body: form(await readFile(file)) });
      expect(apng.status).toBe(400);
      expect(((await apng.json()) as ErrorJson).error).toMatchObject({ code: 'invalid_image', param: 'images', message: expect.stringMatching(/is animated/) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const rule = await s.api(S, { method: 'POST', body: form(png, { model: 'no-such-model' }) });
    expect(rule.status).toBe(400);
    const notImage = await s.api(S, { method: 'POST', body: form(Buffer.from('not an image at all')) });
    expect(((await notImage.json()) as ErrorJson).error.code).toBe('invalid_image');
    // Over the 20 MB body limit: refused while spooling, the partial file removed.
    const tooBig = await s.api(S, { method: 'POST', body: form(Buffer.alloc(21 * 1024 * 1024, 1)) }).catch(() => null);
    if (tooBig) expect(tooBig.status).toBe(413);
    // (The client may see its upload cut off before the answer; the server removes the part either way.)
    await waitFor(async () => (await spooled()).length === 0);
  });

  it('the same image hashes the same sent as a file or as a data: URI (an Idempotency-Key replays across both)', async () => {
    const headers = { 'idempotency-key': `spool-${Date.now()}` };
    const first = await s.api(S, { method: 'POST', headers, body: form(png) });
    expect(first.status).toBe(200);
    const again = await s.api(S, { method: 'POST', headers, json: { model: 'veo-2.0-generate-001', prompt: 'p', aspect_ratio: '16:9', images: [dataUri(png)] } });
    expect(again.status).toBe(200);
    expect(((await again.json()) as TaskJson).id).toBe(((await first.json()) as TaskJson).id);
    // A different image under the same key is a different request.
    const other = await s.api(S, { method: 'POST', headers, body: form(await makeImage(320, 180, 'jpeg')) });
    expect(((await other.json()) as ErrorJson).error.code).toBe('idempotency_key_reused');
    expect(await spooled()).toEqual([]);
  });
});

describe('an API node sweeps what a killed process spooled', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'reelay-spool-sweep-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it('a dead owner\'s root with a half-written upload is removed when an API-only node starts', async () => {
    const scratchBase = join(dir, 'tmp');
    // A root named for a process that has exited, holding what a killed server would leave mid-upload.
    const deadRoot = join(scratchBase, `reelay-scratch-${await deadPid()}-1-0123abcd`);
    await mkdir(join(deadRoot, 'uploads'), { recursive: true });
    await writeFile(join(deadRoot, 'uploads', 'upload-0123456789abcdef'), Buffer.alloc(1000));
    const env = { REELAY_DATA_DIR: join(dir, 'data'), TMPDIR: scratchBase, REELAY_ROLE: 'api' };
    expect((await cli(['keys', 'create', '--name', 'x', '--json'], env)).code).toBe(0);
    const api = await startChild(env);
    try {
      // /healthz answers as soon as HTTP listens; the sweep runs right after.
      await waitFor(async () => !(await exists(deadRoot)), 10_000);
      expect((await readdir(scratchBase)).filter((n) => n.startsWith(`reelay-scratch-${api.child.pid}-`))).toHaveLength(1);
    } finally {
      api.child.kill('SIGTERM');
      await exited(api.child);
    }
    // A clean stop takes its own root with it.
    expect((await readdir(scratchBase)).filter((n) => n.startsWith('reelay-scratch-'))).toEqual([]);
  });
});

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const c = spawn(process.execPath, ['-e', '']);
  await exited(c);
  return c.pid!;
}
