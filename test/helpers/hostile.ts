/**
 * Shared tools for the hardening suites (issue #10): raw HTTP that the client
 * does not normalise, the §10 error-envelope check, hand-built image bytes,
 * and "nothing was left behind" probes.
 */
import dc from 'node:diagnostics_channel';
import http from 'node:http';
import type net from 'node:net';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { expect } from 'vitest';
import type { TestServer } from './server.ts';

export interface RawRequest {
  method?: string;
  /** Sent byte for byte: no URL normalisation ("/a/../b" and "%2e%2e" stay as written). */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/**
 * One request over node:http (fetch would resolve dot segments and refuse some
 * header values), answered as a fetch Response so every suite asserts alike.
 */
export function rawRequest(base: string, r: RawRequest): Promise<Response> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: u.hostname, port: u.port, method: r.method ?? 'GET', path: r.path, headers: r.headers ?? {}, agent: false,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
        const status = res.statusCode ?? 0;
        resolve(new Response([204, 304].includes(status) ? null : Buffer.concat(chunks), { status, headers }));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(r.body);
  });
}

/** Serialise a FormData the way fetch would, so it can go through rawRequest. */
export async function encodeForm(fd: FormData): Promise<{ body: Buffer; contentType: string }> {
  const r = new Request('http://form.invalid/', { method: 'POST', body: fd });
  return { body: Buffer.from(await r.arrayBuffer()), contentType: r.headers.get('content-type')! };
}

/** A hand-written multipart body (parts without a filename, odd headers, …). */
export function multipartBody(parts: { headers: string; body: string | Buffer }[], boundary = 'hardening-boundary-7MA4YWxk'): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\n${p.headers}\r\n\r\n`, 'latin1'));
    chunks.push(typeof p.body === 'string' ? Buffer.from(p.body, 'utf8') : p.body);
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

type ErrorWant = { status?: number | number[]; code?: string | string[]; requestId?: boolean; label?: string };

/** What every surface's client error shares: a 4xx (never 5xx), JSON, and (unless told) an x-request-id. */
async function readClientError(res: Response, want: ErrorWant): Promise<{ text: string; label: string }> {
  const text = await res.text();
  const label = `${want.label ?? ''} → ${res.status} ${text.slice(0, 300)}`;
  expect(res.status, label).toBeGreaterThanOrEqual(400);
  expect(res.status, label).toBeLessThan(500);
  if (want.status !== undefined) expect([want.status].flat(), label).toContain(res.status);
  expect(res.headers.get('content-type') ?? '', label).toMatch(/^application\/json/);
  if (want.requestId !== false) expect(res.headers.get('x-request-id'), label).toMatch(/\S/);
  return { text, label };
}

export interface ErrorEnvelope { error: { type: string; code: string; message: string; param: string | null } }

/**
 * API.md §10: a 4xx (never 5xx) whose body is exactly
 * `{"error":{"type","code","message","param"}}` with string type/code/message.
 */
export async function expectErrorEnvelope(
  res: Response,
  want: ErrorWant = {},
): Promise<ErrorEnvelope> {
  const { text, label } = await readClientError(res, want);
  const b = JSON.parse(text) as ErrorEnvelope;
  expect(Object.keys(b), label).toEqual(['error']);
  expect(Object.keys(b.error).sort(), label).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof b.error.type, label).toBe('string');
  expect(typeof b.error.code, label).toBe('string');
  expect(typeof b.error.message, label).toBe('string');
  expect(b.error.message.length, label).toBeGreaterThan(0);
  expect(b.error.param === null || typeof b.error.param === 'string', label).toBe(true);
  if (want.code !== undefined) expect([want.code].flat(), label).toContain(b.error.code);
  return b;
}

export interface GoogleErrorEnvelope {
  error: { code: number; message: string; status: string; details: { '@type': string; reason: string; domain: string; metadata: Record<string, string> }[] };
}

/** google.rpc status names UPSTREAM.md §1 pairs with each HTTP status (and what Reelay adds for the rest). */
const GOOGLE_STATUS: Record<number, string[]> = {
  400: ['INVALID_ARGUMENT', 'FAILED_PRECONDITION'], 401: ['UNAUTHENTICATED'], 402: ['FAILED_PRECONDITION'], 403: ['PERMISSION_DENIED'],
  404: ['NOT_FOUND'], 408: ['DEADLINE_EXCEEDED'], 409: ['ALREADY_EXISTS', 'FAILED_PRECONDITION'], 413: ['INVALID_ARGUMENT'],
  414: ['INVALID_ARGUMENT'], 415: ['INVALID_ARGUMENT'], 416: ['OUT_OF_RANGE'], 429: ['RESOURCE_EXHAUSTED'], 431: ['INVALID_ARGUMENT'],
};

/**
 * The Gemini API / Vertex AI error envelope (UPSTREAM.md §1): a 4xx (never 5xx)
 * whose body is exactly `{"error":{"code","message","status","details"}}`, `code`
 * the HTTP status, `status` its google.rpc name; Reelay's own error code travels
 * as the `reason` of a google.rpc.ErrorInfo in `details` (matched against `want.code`).
 */
export async function expectGoogleErrorEnvelope(
  res: Response,
  want: ErrorWant = {},
): Promise<GoogleErrorEnvelope> {
  const { text, label } = await readClientError(res, want);
  const b = JSON.parse(text) as GoogleErrorEnvelope;
  expect(Object.keys(b), label).toEqual(['error']);
  expect(Object.keys(b.error).sort(), label).toEqual(['code', 'details', 'message', 'status']);
  expect(b.error.code, label).toBe(res.status);
  expect(GOOGLE_STATUS[res.status] ?? [], label).toContain(b.error.status);
  expect(typeof b.error.message, label).toBe('string');
  expect(b.error.message.length, label).toBeGreaterThan(0);
  expect(Array.isArray(b.error.details), label).toBe(true);
  const info = b.error.details.find((d) => d['@type'] === 'type.googleapis.com/google.rpc.ErrorInfo');
  expect(info, label).toBeDefined();
  expect(typeof info!.reason, label).toBe('string');
  if (want.code !== undefined) expect([want.code].flat(), label).toContain(info!.reason);
  return b;
}

// ---------------------------------------------------------------------------
// Image bytes built by hand

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(typed) >>> 0);
  return Buffer.concat([len, typed, crc]);
}

/** A PNG (8-bit grayscale) with the given header dimensions and IDAT payload; the payload need not match. */
export function pngWith(width: number, height: number, idat: Buffer): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grayscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A decompression bomb: the header claims width×height, the file is a few hundred bytes. */
export const pngBomb = (width: number, height: number) => pngWith(width, height, zlib.deflateSync(Buffer.alloc(Math.min(width + 1, 1 << 16))));

/** A complete, valid all-black PNG; it compresses ~1000:1, so even 100 MP is ~100 KB. */
export const blackPng = (width: number, height: number) =>
  pngWith(width, height, zlib.deflateSync(Buffer.alloc((width + 1) * height), { level: 9 }));

/** zlib (or gzip) of `total` zero bytes, streamed so the zeros never sit in memory at once. */
export async function compressedZeros(total: number, format: 'deflate' | 'gzip' = 'deflate'): Promise<Buffer> {
  const z = format === 'gzip' ? zlib.createGzip({ level: 9 }) : zlib.createDeflate({ level: 9 });
  const out: Buffer[] = [];
  z.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => { z.on('end', resolve); z.on('error', reject); });
  const chunk = Buffer.alloc(1024 * 1024);
  for (let left = total; left > 0; left -= chunk.length) {
    const slice = left >= chunk.length ? chunk : chunk.subarray(0, left);
    if (!z.write(slice)) await new Promise((r) => z.once('drain', r));
  }
  z.end();
  await done;
  return Buffer.concat(out);
}

/** Rewrite the frame size in a baseline/progressive JPEG's SOF marker. */
export function jpegWithSize(jpeg: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(jpeg);
  for (let i = 2; i + 9 < out.length;) {
    if (out[i] !== 0xff) break;
    const marker = out[i + 1]!;
    const len = out.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xc3) {
      out.writeUInt16BE(height, i + 5);
      out.writeUInt16BE(width, i + 7);
      return out;
    }
    i += 2 + len;
  }
  throw new Error('no SOF marker found');
}

/** Rewrite the canvas size in an extended (VP8X) WebP header (e.g. one with alpha). */
export function webpWithCanvas(webp: Buffer, width: number, height: number): Buffer {
  if (webp.toString('latin1', 12, 16) !== 'VP8X') throw new Error('not a VP8X WebP');
  const out = Buffer.from(webp);
  out.writeUIntLE(width - 1, 24, 3);
  out.writeUIntLE(height - 1, 27, 3);
  return out;
}

// ---------------------------------------------------------------------------
// What a rejected request must not leave behind

/** Files under blobs/inputs (recursively); [] when the folder does not exist. */
export async function inputFiles(dataDir: string): Promise<string[]> {
  try {
    return (await readdir(join(dataDir, 'blobs', 'inputs'), { recursive: true }));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Every file under blobs/ (inputs, outputs, temporary files), recursively; [] when there is none. */
export async function blobFiles(dataDir: string): Promise<string[]> {
  try {
    const entries = await readdir(join(dataDir, 'blobs'), { recursive: true, withFileTypes: true });
    return entries.filter((e) => !e.isDirectory()).map((e) => join(e.parentPath, e.name)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

export async function countTasks(s: TestServer): Promise<number> {
  const r = await s.app.store.db.kysely.selectFrom('tasks').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}

export function ledgerEntries(s: TestServer) {
  return s.app.store.db.kysely.selectFrom('credit_entries').select(['key_id', 'kind', 'amount', 'task_id']).execute();
}

/** The key id behind a bearer key (for ledger checks). */
export async function keyIdOf(s: TestServer, key: string): Promise<string> {
  return (await s.app.keys.authenticate(`Bearer ${key}`)).keyId;
}

/**
 * Every outbound TCP connection attempt ("ip:port") this process starts until
 * `stop()` (the test server runs in-process): proof that something was refused
 * before any socket tried to connect, whether or not the target would answer.
 */
export function recordConnectionAttempts(): { attempts: string[]; stop(): void } {
  const attempts: string[] = [];
  const onSocket = (message: unknown) => {
    (message as { socket: net.Socket }).socket.on('connectionAttempt', (ip: string, port: number) => attempts.push(`${ip}:${port}`));
  };
  dc.subscribe('net.client.socket', onSocket);
  return { attempts, stop: () => dc.unsubscribe('net.client.socket', onSocket) };
}

/**
 * Time a promise, for LOWER bounds only ("it waited for the deadline"): load can
 * only lengthen a duration, so an upper bound on one is a flaky test (issue 18).
 * Assert order and outcome instead, or move the measurement to bench/.
 */
export async function timed<T>(p: Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await p;
  return { value, ms: performance.now() - t0 };
}
