// Reading a multipart submit into files (upload-spool.ts): whose fault each failure is. A full scratch disk
// while an image part is written is the server's (503 storage_full, retry later), never the client's
// "malformed multipart"; a part over the limit is 413 and its partial file goes.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installErrorHandling } from '../../src/http/error-handler.ts';
import { readSubmitBody } from '../../src/http/submit-body.ts';
import { createUploadSpool, type UploadSpool } from '../../src/http/upload-spool.ts';

const LIMIT = 64 * 1024;

function body(image: Buffer): FormData {
  const f = new FormData();
  f.set('prompt', 'p');
  f.set('images', new Blob([new Uint8Array(image)], { type: 'image/png' }), 'a.png');
  return f;
}

describe('readSubmitBody with image parts spooled to files', () => {
  let dir: string;
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reelay-submit-body-'));
    app = Fastify();
    installErrorHandling(app, LIMIT);
    await app.register(multipart, { limits: { fileSize: LIMIT, files: 9, fields: 40, parts: 50, fieldSize: LIMIT } });
    const real = createUploadSpool(join(dir, 'uploads'));
    app.post('/real', async (req) => {
      const b = await readSubmitBody(req, LIMIT, real);
      try {
        return { body: b.body, files: b.files.map((f) => ({ size: f.size, sha256: f.sha256, type: f.contentType })) };
      } finally {
        await b.release();
      }
    });
    app.post('/disk-full', async (req) => {
      // A scratch disk that fills up part way through the part, as a write of the real spool would fail.
      const spool: UploadSpool = {
        ...real,
        async spool(stream: Readable) {
          for await (const _chunk of stream) break;
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
        },
      };
      await readSubmitBody(req, LIMIT, spool);
      return { unexpected: true };
    });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('fields and the spooled part: its size, SHA-256 and declared type; nothing left once released', async () => {
    const image = Buffer.alloc(50_000, 7);
    const res = await fetch(`${base}/real`, { method: 'POST', body: body(image) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      body: { prompt: 'p' },
      files: [{ size: 50_000, sha256: createHash('sha256').update(image).digest('hex'), type: 'image/png' }],
    });
    expect(await readdir(join(dir, 'uploads'))).toEqual([]);
  });

  it('a part over the limit: 413 body_too_large, and its partial file is removed', async () => {
    const res = await fetch(`${base}/real`, { method: 'POST', body: body(Buffer.alloc(LIMIT + 1, 7)) }).catch(() => null);
    if (res) {
      expect(res.status).toBe(413);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('body_too_large');
    }
    expect(await readdir(join(dir, 'uploads'))).toEqual([]);
  });

  it('a full scratch disk is the server\'s fault: 503 storage_full with Retry-After, not 400 invalid_multipart', async () => {
    const res = await fetch(`${base}/disk-full`, { method: 'POST', body: body(Buffer.alloc(10_000, 7)) });
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('storage_full');
    expect(error.message).not.toMatch(/ENOSPC/);
  });
});
