/**
 * Every field rule of API.md §3 and §6, over real HTTP, with the exact §10
 * error JSON — and proof that a rejected submit leaves nothing behind (no
 * task, no input blob). Accepted/boundary cases run against their own
 * API-only server (REELAY_ROLE=api: nothing renders) and are cancelled after.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataUri, makeImage } from '../helpers/images.ts';
import { startServer, type TaskJson, type TestServer } from '../helpers/server.ts';
import { loadCatalog } from '../../src/domain/catalog.ts';

const SUBMIT = '/v1/video/generations';
const CATALOG_IDS = loadCatalog().ids();
const V2 = 'veo-2.0-generate-001';
const V3 = 'veo-3.0-generate-001';
const V3F = 'veo-3.0-fast-generate-001';
const V31 = 'veo-3.1-generate-preview';
const V31F = 'veo-3.1-fast-generate-preview';

/** Test inputs, made once before any case runs (cases read them lazily). */
const img = {} as {
  png: Buffer; pngUri: string; pngB64: string; jpeg: Buffer; webp: Buffer;
  gif: Buffer; wide: Buffer; tall: Buffer; tiny: Buffer; truncated: Buffer;
};

/** A small HTTP server for image-URL cases (the default test server allows loopback targets). */
let imageHost: http.Server;
let imageBase = '';

beforeAll(async () => {
  img.png = await makeImage(320, 180, 'png');
  img.pngUri = dataUri(img.png);
  img.pngB64 = img.png.toString('base64');
  img.jpeg = await makeImage(320, 180, 'jpeg');
  img.webp = await makeImage(180, 320, 'webp');
  img.gif = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#f00' } }).gif().toBuffer();
  img.wide = await makeImage(500, 100, 'png');
  img.tall = await makeImage(100, 500, 'png');
  img.tiny = await makeImage(8, 8, 'png');
  const big = await makeImage(640, 360, 'png');
  img.truncated = big.subarray(0, Math.floor(big.length / 2));

  imageHost = http.createServer((req, res) => {
    if (req.url === '/frame.png') { res.writeHead(200, { 'content-type': 'image/png' }).end(img.png); return; }
    if (req.url === '/anim.gif') { res.writeHead(200, { 'content-type': 'image/gif' }).end(img.gif); return; }
    res.writeHead(404).end('nope');
  });
  await new Promise<void>((r) => imageHost.listen(0, '127.0.0.1', r));
  imageBase = `http://127.0.0.1:${(imageHost.address() as AddressInfo).port}`;
});
afterAll(async () => {
  imageHost?.closeAllConnections();
  await new Promise<void>((r) => (imageHost ? imageHost.close(() => r()) : r()));
});

// ---------------------------------------------------------------------------
// Request builders

type Json = Record<string, unknown>;
/** A valid submit; overrides replace fields, `undefined` removes one. */
function body(over: Json = {}): Json {
  const b: Json = { model: V3F, prompt: 'a slow push in', aspect_ratio: '16:9', images: [img.pngUri], ...over };
  for (const [k, v] of Object.entries(over)) if (v === undefined) delete b[k];
  return b;
}

interface Req { init: RequestInit & { json?: unknown }; noAuth?: boolean }
const json = (b: unknown, headers: Record<string, string> = {}): Req => ({ init: { method: 'POST', json: b, headers } });
const raw = (payload: string, contentType: string): Req => ({ init: { method: 'POST', body: payload, headers: { 'content-type': contentType } } });

interface Part { name: string; value?: string; file?: Buffer; type?: string; filename?: string }
function multipart(parts: Part[], headers: Record<string, string> = {}): Req {
  const fd = new FormData();
  for (const p of parts) {
    if (p.file) fd.append(p.name, new Blob([new Uint8Array(p.file)], { type: p.type ?? 'image/png' }), p.filename ?? 'frame.png');
    else fd.append(p.name, p.value ?? '');
  }
  return { init: { method: 'POST', body: fd, headers } };
}
/** The valid text fields of a multipart submit (images come as file parts). */
const textParts = (over: Record<string, string> = {}): Part[] =>
  Object.entries({ model: V3F, prompt: 'a slow push in', aspect_ratio: '16:9', ...over }).map(([name, value]) => ({ name, value }));

async function send(s: TestServer, r: Req): Promise<Response> {
  if (r.noAuth) {
    const { json: j, ...init } = r.init;
    const headers = new Headers(init.headers);
    if (j !== undefined) headers.set('content-type', 'application/json');
    return fetch(`${s.base}${SUBMIT}`, { ...init, headers, ...(j !== undefined ? { body: JSON.stringify(j) } : {}) });
  }
  return s.api(SUBMIT, r.init);
}

interface ErrorJson { error: { type: string; code: string; message: string; param: string | null } }

/** Status + the exact §10 shape: one `error` object with exactly type, code, message, param. */
async function expectError(res: Response, want: { status: number; type?: string; code: string; param?: string | null; message?: (string | RegExp)[] }) {
  const text = await res.text();
  expect(res.status, text).toBe(want.status);
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/json/);
  const b = JSON.parse(text) as ErrorJson;
  expect(Object.keys(b)).toEqual(['error']);
  expect(Object.keys(b.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(b.error.type).toBe(want.type ?? 'invalid_request_error');
  expect(b.error.code).toBe(want.code);
  expect(b.error.param).toBe(want.param === undefined ? null : want.param);
  expect(typeof b.error.message).toBe('string');
  expect(b.error.message.length).toBeGreaterThan(0);
  for (const m of want.message ?? []) {
    if (typeof m === 'string') expect(b.error.message).toContain(m);
    else expect(b.error.message).toMatch(m);
  }
  return b;
}

async function listTasks(s: TestServer, key?: string): Promise<TaskJson[]> {
  const res = await s.api(`${SUBMIT}?limit=100`, key ? { headers: { authorization: `Bearer ${key}` } } : {});
  expect(res.status).toBe(200);
  const l = (await res.json()) as { object: string; data: TaskJson[]; has_more: boolean };
  expect(l.object).toBe('list');
  expect(l.has_more).toBe(false);
  return l.data;
}

/** Files under blobs/inputs (recursively); [] when the folder does not exist. */
async function inputFiles(s: TestServer): Promise<string[]> {
  try {
    return (await readdir(join(s.dataDir, 'blobs', 'inputs'), { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

async function expectNothingCreated(s: TestServer) {
  expect(await listTasks(s)).toEqual([]);
  expect(await inputFiles(s)).toEqual([]);
  // Not even an empty per-task folder.
  const dirs = await readdir(join(s.dataDir, 'blobs', 'inputs')).catch(() => [] as string[]);
  expect(dirs).toEqual([]);
}

// ---------------------------------------------------------------------------
// Rejections: one table, one server, nothing may be created

interface Reject {
  name: string;
  req: () => Req;
  status?: number;
  type?: string;
  code: string;
  /** null when the rule names no field. */
  param: string | null;
  message?: (string | RegExp)[];
}

const long = (n: number) => 'a'.repeat(n);

const rejects: Reject[] = [
  // -- required fields (§3) --
  { name: 'missing model', req: () => json(body({ model: undefined })), code: 'missing_model', param: 'model', message: ['"model"', 'required'] },
  { name: 'missing prompt', req: () => json(body({ prompt: undefined })), code: 'missing_prompt', param: 'prompt', message: ['"prompt"', 'required'] },
  { name: 'missing aspect_ratio and images (the ratio would come from the image)', req: () => json(body({ aspect_ratio: undefined, images: undefined })), code: 'missing_images', param: 'images', message: ['"images"', 'required'] },
  { name: 'missing images', req: () => json(body({ images: undefined })), code: 'missing_images', param: 'images', message: ['"images"', 'required'] },
  { name: 'model: null is "not set" → missing', req: () => json(body({ model: null })), code: 'missing_model', param: 'model' },

  // -- JSON types --
  { name: 'model as number', req: () => json(body({ model: 3 })), code: 'invalid_model', param: 'model', message: ['"model"', 'string', 'number'] },
  { name: 'prompt as array', req: () => json(body({ prompt: ['a'] })), code: 'invalid_prompt', param: 'prompt', message: ['"prompt"', 'string', 'array'] },
  { name: 'images as string', req: () => json(body({ images: img.pngUri })), code: 'invalid_images', param: 'images', message: ['"images"', 'array', 'string'] },
  { name: 'images item as number', req: () => json(body({ images: [42] })), code: 'invalid_images', param: 'images', message: ['images[0]', 'string', 'number'] },
  { name: 'seed as string in JSON', req: () => json(body({ seed: '42' })), code: 'invalid_seed', param: 'seed', message: ['"seed"', 'string'] },
  { name: 'seed 1.5 (not an integer)', req: () => json(body({ seed: 1.5 })), code: 'invalid_seed', param: 'seed', message: ['"seed"', 'integer', '0 to 4294967295', '1.5'] },
  { name: 'seed 2^53 (beyond the safe-integer range)', req: () => json(body({ seed: 2 ** 53 })), code: 'invalid_seed', param: 'seed', message: ['"seed"', '0 to 4294967295'] },
  { name: 'generate_audio "yes"', req: () => json(body({ generate_audio: 'yes' })), code: 'invalid_generate_audio', param: 'generate_audio', message: ['"generate_audio"', 'boolean', 'string'] },
  { name: 'seconds as boolean', req: () => json(body({ seconds: true })), code: 'invalid_seconds', param: 'seconds', message: ['"seconds"', 'number', 'boolean'] },
  { name: 'off_peak as string', req: () => json(body({ off_peak: 'yes' })), code: 'invalid_off_peak', param: 'off_peak', message: ['"off_peak"', 'boolean'] },
  { name: 'callback_url as number', req: () => json(body({ callback_url: 1 })), code: 'invalid_callback_url', param: 'callback_url', message: ['"callback_url"', 'string'] },

  // -- model (§3, §6) --
  { name: 'unknown model lists every catalog id', req: () => json(body({ model: 'veo-9' })), code: 'invalid_model', param: 'model', message: ['"veo-9"', ...CATALOG_IDS] },

  // -- prompt: 1–5000 characters --
  { name: 'prompt empty', req: () => json(body({ prompt: '' })), code: 'invalid_prompt', param: 'prompt', message: ['"prompt"', '1–5000'] },
  { name: 'prompt blank', req: () => json(body({ prompt: '   \n\t ' })), code: 'invalid_prompt', param: 'prompt', message: ['"prompt"', '1–5000', 'blank'] },
  { name: 'prompt 5001 characters', req: () => json(body({ prompt: long(5001) })), code: 'invalid_prompt', param: 'prompt', message: ['"prompt"', '1–5000', '5001'] },

  // -- aspect_ratio --
  { name: 'aspect_ratio 1:1', req: () => json(body({ aspect_ratio: '1:1' })), code: 'invalid_aspect_ratio', param: 'aspect_ratio', message: ['"aspect_ratio"', '16:9, 9:16', '"1:1"'] },
  { name: 'aspect_ratio 4:3', req: () => json(body({ aspect_ratio: '4:3' })), code: 'invalid_aspect_ratio', param: 'aspect_ratio', message: ['16:9, 9:16', '"4:3"'] },

  // -- images: count --
  { name: 'images: 0 items', req: () => json(body({ images: [] })), code: 'invalid_images', param: 'images', message: ['"images"', /at least one/] },
  { name: 'images: 2 items on Veo 3 (no last frame)', req: () => json(body({ images: [img.pngUri, img.pngUri] })), code: 'invalid_images', param: 'images', message: [V3F, 'one image', 'got 2'] },
  { name: 'images: 2 items on Veo 2', req: () => json(body({ model: V2, images: [img.pngUri, img.pngUri] })), code: 'invalid_images', param: 'images', message: [V2, 'got 2'] },
  { name: 'images: 3 items on Veo 3.1', req: () => json(body({ model: V31, images: [img.pngUri, img.pngUri, img.pngUri] })), code: 'invalid_images', param: 'images', message: [V31, 'at most two', 'got 3'] },

  // -- images: source syntax --
  { name: 'image ftp:// URL', req: () => json(body({ images: ['ftp://example.com/a.png'] })), code: 'invalid_image', param: 'images', message: ['images[0]', 'https://', 'ftp'] },
  { name: 'image file:// URL', req: () => json(body({ images: ['file:///etc/passwd'] })), code: 'invalid_image', param: 'images', message: ['images[0]', 'https://', 'file'] },
  { name: 'image garbage (not base64)', req: () => json(body({ images: ['this is not base64 !!!'] })), code: 'invalid_image', param: 'images', message: ['images[0]', 'base64'] },
  { name: 'image data URI with garbage payload', req: () => json(body({ images: ['data:image/png;base64,@@@@'] })), code: 'invalid_image', param: 'images', message: ['images[0]', 'base64'] },

  // -- images: judged by content --
  { name: 'image: valid base64 of non-image bytes', req: () => json(body({ images: [Buffer.from('hello, this is plain text, not a picture').toString('base64')] })), code: 'invalid_image', param: 'images', message: ['images[0]', 'PNG', 'JPEG', 'WebP'] },
  { name: 'image: GIF', req: () => json(body({ images: [dataUri(img.gif, 'image/gif')] })), code: 'invalid_image', param: 'images', message: ['images[0]', 'GIF', 'PNG', 'JPEG', 'WebP'] },
  { name: 'image: GIF declared as image/png', req: () => json(body({ images: [dataUri(img.gif, 'image/png')] })), code: 'invalid_image', param: 'images', message: ['GIF', 'PNG, JPEG and WebP'] },
  { name: 'image: 5:1 (500x100)', req: () => json(body({ images: [dataUri(img.wide)] })), code: 'invalid_image', param: 'images', message: ['images[0]', '5.00:1', '1:4', '4:1'] },
  { name: 'image: 1:5 (100x500)', req: () => json(body({ images: [dataUri(img.tall)] })), code: 'invalid_image', param: 'images', message: ['images[0]', '1:5.00', '1:4', '4:1'] },
  { name: 'image: truncated PNG', req: () => json(body({ images: [dataUri(img.truncated)] })), code: 'invalid_image', param: 'images', message: ['images[0]', /corrupt|truncated/] },
  { name: 'image: 8x8 (below the minimum side)', req: () => json(body({ images: [dataUri(img.tiny)] })), code: 'invalid_image', param: 'images', message: ['images[0]', '8x8', '16'] },
  { name: 'image: second (last-frame) item bad on Veo 3.1', req: () => json(body({ model: V31, images: [img.pngUri, dataUri(img.gif, 'image/gif')] })), code: 'invalid_image', param: 'images', message: ['images[1]', 'GIF'] },

  // -- images: URL fetch --
  { name: 'image URL answering 404', req: () => json(body({ images: [`${imageBase}/missing.png`] })), code: 'image_fetch_failed', param: 'images', message: ['images[0]'] },
  { name: 'image URL serving a GIF', req: () => json(body({ images: [`${imageBase}/anim.gif`] })), code: 'invalid_image', param: 'images', message: ['images[0]', 'GIF'] },

  // -- seconds / duration --
  { name: 'seconds 5 on Veo 3', req: () => json(body({ model: V3, seconds: 5 })), code: 'invalid_seconds', param: 'seconds', message: ['"seconds"', '4, 6, 8', V3, 'got 5'] },
  { name: 'seconds "5" on Veo 3 Fast', req: () => json(body({ seconds: '5' })), code: 'invalid_seconds', param: 'seconds', message: ['4, 6, 8'] },
  { name: 'seconds 4 on Veo 2', req: () => json(body({ model: V2, seconds: 4 })), code: 'invalid_seconds', param: 'seconds', message: ['"seconds"', '5, 6, 7, 8', V2, 'got 4'] },
  { name: 'seconds 9 on Veo 2', req: () => json(body({ model: V2, seconds: 9 })), code: 'invalid_seconds', param: 'seconds', message: ['5, 6, 7, 8'] },
  { name: 'seconds "abc"', req: () => json(body({ seconds: 'abc' })), code: 'invalid_seconds', param: 'seconds', message: ['"seconds"', 'whole number', '"abc"'] },
  { name: 'seconds 4.5', req: () => json(body({ seconds: 4.5 })), code: 'invalid_seconds', param: 'seconds', message: ['"seconds"', 'whole number', '4.5'] },
  { name: 'seconds and duration disagree', req: () => json(body({ seconds: 4, duration: 6 })), code: 'invalid_duration', param: 'duration', message: ['"duration"', '"seconds"', '6', '4'] },
  { name: 'duration alone, not allowed for the model', req: () => json(body({ duration: 5 })), code: 'invalid_seconds', param: 'duration', message: ['"duration"', '4, 6, 8', 'got 5'] },
  { name: 'Veo 3.1 with images and seconds 4', req: () => json(body({ model: V31, seconds: 4 })), code: 'invalid_seconds', param: 'seconds', message: [V31, '8 seconds', 'got 4'] },
  { name: 'Veo 3.1 Fast with images and duration "6"', req: () => json(body({ model: V31F, duration: '6' })), code: 'invalid_seconds', param: 'duration', message: [V31F, '8 seconds', '"duration"'] },

  // -- size --
  { name: 'size 4k on Veo 2', req: () => json(body({ model: V2, size: '4k' })), code: 'invalid_size', param: 'size', message: ['"size"', '720p', '1280x720', '"4k"'] },
  { name: 'size 1080p on Veo 2', req: () => json(body({ model: V2, size: '1080p' })), code: 'invalid_size', param: 'size', message: ['720p'] },
  { name: 'size 1920x1080 on Veo 2', req: () => json(body({ model: V2, size: '1920x1080' })), code: 'invalid_size', param: 'size', message: ['720p', '1280x720'] },
  { name: 'size 1280x720 with aspect 9:16', req: () => json(body({ size: '1280x720', aspect_ratio: '9:16' })), code: 'invalid_size', param: 'size', message: ['"size"', 'landscape', 'portrait', '720x1280'] },
  { name: 'size 720x1280 with aspect 16:9', req: () => json(body({ size: '720x1280' })), code: 'invalid_size', param: 'size', message: ['portrait', 'landscape', '1280x720'] },
  { name: 'size 999x999', req: () => json(body({ size: '999x999' })), code: 'invalid_size', param: 'size', message: ['"size"', '720p, 1080p, 4k', '1280x720', '"999x999"'] },
  { name: 'size 8k', req: () => json(body({ size: '8k' })), code: 'invalid_size', param: 'size', message: ['720p, 1080p, 4k'] },
  { name: 'size 540p on Veo 3 (Vidu-only resolution)', req: () => json(body({ size: '540p' })), code: 'invalid_size', param: 'size', message: ['720p, 1080p, 4k'] },

  // -- negative_prompt / seed / generate_audio --
  { name: 'negative_prompt 5001 characters', req: () => json(body({ negative_prompt: long(5001) })), code: 'invalid_negative_prompt', param: 'negative_prompt', message: ['"negative_prompt"', '5000', '5001'] },
  { name: 'seed -1', req: () => json(body({ seed: -1 })), code: 'invalid_seed', param: 'seed', message: ['"seed"', '0 to 4294967295', '-1'] },
  { name: 'seed 4294967296', req: () => json(body({ seed: 4294967296 })), code: 'invalid_seed', param: 'seed', message: ['"seed"', '0 to 4294967295', '4294967296'] },
  { name: 'generate_audio true on Veo 2', req: () => json(body({ model: V2, generate_audio: true })), code: 'invalid_generate_audio', param: 'generate_audio', message: [V2, 'audio', V3] },

  // -- Vidu-only options on a Veo model --
  { name: 'audio on a Veo model', req: () => json(body({ audio: true })), code: 'invalid_audio', param: 'audio', message: ['"audio"', 'Vidu', V3F] },
  { name: 'audio_type on a Veo model', req: () => json(body({ audio_type: 'all' })), code: 'invalid_audio_type', param: 'audio_type', message: ['"audio_type"', 'Vidu'] },
  { name: 'voice_id on a Veo model', req: () => json(body({ voice_id: 'v1' })), code: 'invalid_voice_id', param: 'voice_id', message: ['"voice_id"', 'Vidu'] },

  // -- callback_url (http is allowed on this test server; see the next describe) --
  { name: 'callback_url not a URL', req: () => json(body({ callback_url: 'not a url' })), code: 'invalid_callback_url', param: 'callback_url', message: ['"callback_url"', 'https://', 'not a url'] },
  { name: 'callback_url ftp://', req: () => json(body({ callback_url: 'ftp://example.com/hook' })), code: 'invalid_callback_url', param: 'callback_url', message: ['https://'] },

  // -- body framing --
  { name: 'non-JSON body declared application/json', req: () => raw('{"model": "veo', 'application/json'), code: 'invalid_json', param: null, message: ['JSON'] },
  { name: 'empty body declared application/json', req: () => raw('', 'application/json'), code: 'invalid_json', param: null, message: ['JSON'] },
  { name: 'text/plain body', req: () => raw(JSON.stringify(body()), 'text/plain'), status: 415, code: 'unsupported_media_type', param: null, message: ['text/plain', 'application/json', 'multipart/form-data'] },
  { name: 'application/xml body', req: () => raw('<x/>', 'application/xml'), status: 415, code: 'unsupported_media_type', param: null, message: ['"application/xml"', 'application/json', 'multipart/form-data'] },
  { name: 'JSON array body', req: () => json([body()]), code: 'invalid_body', param: null, message: ['JSON object', 'array'] },
  { name: 'JSON string body', req: () => json('hello'), code: 'invalid_body', param: null, message: ['JSON object', 'string'] },
  { name: 'JSON null body', req: () => raw('null', 'application/json'), code: 'invalid_body', param: null, message: ['JSON object'] },
  {
    name: 'JSON body over 20 MB',
    req: () => raw(JSON.stringify(body({ prompt: 'x', negative_prompt: long(21 * 1024 * 1024) })), 'application/json'),
    status: 413, code: 'body_too_large', param: null, message: ['20 MB'],
  },

  // -- multipart --
  {
    name: 'multipart: a 21 MB file part',
    req: () => multipart([...textParts(), { name: 'images', file: Buffer.alloc(21 * 1024 * 1024, 1) }]),
    status: 413, code: 'body_too_large', param: null, message: ['20 MB'],
  },
  {
    name: 'multipart: file part with an unexpected name',
    req: () => multipart([...textParts(), { name: 'picture', file: img.png }]),
    code: 'unexpected_file', param: 'picture', message: ['"picture"', '"images"', '"input_reference"'],
  },
  {
    name: 'multipart: 3 image files on Veo 3',
    req: () => multipart([...textParts({ model: V3 }), { name: 'images', file: img.png }, { name: 'images', file: img.png }, { name: 'images', file: img.png }]),
    code: 'invalid_images', param: 'images', message: [V3, 'got 3'],
  },
  {
    name: 'multipart: no image at all',
    req: () => multipart(textParts()),
    code: 'missing_images', param: 'images',
  },
  {
    name: 'multipart: GIF file part (named .png, sent as image/png)',
    req: () => multipart([...textParts(), { name: 'images', file: img.gif, type: 'image/png', filename: 'x.png' }]),
    code: 'invalid_image', param: 'images', message: ['GIF', 'PNG, JPEG and WebP'],
  },
  {
    name: 'multipart: generate_audio "maybe"',
    req: () => multipart([...textParts(), { name: 'generate_audio', value: 'maybe' }, { name: 'images', file: img.png }]),
    code: 'invalid_generate_audio', param: 'generate_audio', message: ['boolean'],
  },
  {
    name: 'multipart: seed "abc"',
    req: () => multipart([...textParts(), { name: 'seed', value: 'abc' }, { name: 'images', file: img.png }]),
    code: 'invalid_seed', param: 'seed',
  },
  {
    name: 'multipart: seconds "5" on Veo 3',
    req: () => multipart([...textParts({ model: V3, seconds: '5' }), { name: 'images', file: img.png }]),
    code: 'invalid_seconds', param: 'seconds', message: ['4, 6, 8'],
  },

  // -- Idempotency-Key syntax --
  {
    name: 'Idempotency-Key of 300 characters',
    req: () => json(body(), { 'idempotency-key': 'k'.repeat(300) }),
    code: 'invalid_idempotency_key', param: 'Idempotency-Key', message: ['Idempotency-Key', '255'],
  },

  // -- auth --
  { name: 'no Authorization header', req: () => ({ ...json(body()), noAuth: true }), status: 401, type: 'authentication_error', code: 'invalid_api_key', param: null, message: ['Authorization'] },
  {
    name: 'unknown API key',
    req: () => ({ ...json(body(), { authorization: 'Bearer sk_not_a_real_key' }), noAuth: true }),
    status: 401, type: 'authentication_error', code: 'invalid_api_key', param: null,
  },
];

describe('submit validation: every §3/§6 rule rejected with the §10 error JSON', () => {
  let s: TestServer;
  beforeAll(async () => { s = await startServer({ REELAY_ROLE: 'api' }); });
  afterAll(async () => { await s?.close(); });

  for (const c of rejects) {
    it(`${c.name} → ${c.status ?? 400} ${c.code}`, async () => {
      const res = await send(s, c.req());
      await expectError(res, {
        status: c.status ?? 400, code: c.code, param: c.param,
        ...(c.type ? { type: c.type } : {}), ...(c.message ? { message: c.message } : {}),
      });
    });
  }

  it('rejected submits created no task and left no input file behind', async () => {
    await expectNothingCreated(s);
  });

  it('the server still answers normally after the rejections', async () => {
    const res = await s.api('/healthz');
    expect(res.status).toBe(200);
  });
});

describe('submit validation with private/loopback URLs disallowed (production default)', () => {
  let s: TestServer;
  beforeAll(async () => { s = await startServer({ REELAY_ROLE: 'api', REELAY_ALLOW_PRIVATE_URLS: '0' }); });
  afterAll(async () => { await s?.close(); });

  const cases: Reject[] = [
    { name: 'callback_url http://', req: () => json(body({ callback_url: 'http://example.com' })), code: 'invalid_callback_url', param: 'callback_url', message: ['"callback_url"', 'https://', 'http://example.com'] },
    { name: 'callback_url not a URL', req: () => json(body({ callback_url: 'example dot com' })), code: 'invalid_callback_url', param: 'callback_url', message: ['https://'] },
    { name: 'image http:// URL', req: () => json(body({ images: ['http://example.com/a.png'] })), code: 'invalid_image', param: 'images', message: ['images[0]', 'https://', 'http'] },
    { name: 'image https:// URL on a loopback address', req: () => json(body({ images: ['https://127.0.0.1/a.png'] })), code: 'image_url_not_allowed', param: 'images', message: ['images[0]'] },
  ];
  for (const c of cases) {
    it(`${c.name} → 400 ${c.code}`, async () => {
      await expectError(await send(s, c.req()), { status: 400, code: c.code, param: c.param, ...(c.message ? { message: c.message } : {}) });
    });
  }

  it('created nothing', async () => {
    await expectNothingCreated(s);
  });
});

// ---------------------------------------------------------------------------
// Accepted / boundary cases: each creates exactly one queued task (API-only server: nothing renders)

interface Accept {
  name: string;
  req: () => Req;
  /** Fields of the returned task object. */
  want?: Record<string, unknown>;
}

const accepts: Accept[] = [
  { name: 'minimal JSON submit (defaults)', req: () => json(body()), want: { model: V3F, seconds: '8', size: '720p', aspect_ratio: '16:9', generate_audio: true, off_peak: false, is_rec: false, seed: null } },
  { name: 'prompt of exactly 5000 characters', req: () => json(body({ prompt: long(5000) })), want: { prompt: long(5000) } },
  { name: 'prompt of 5000 astral characters (counted as characters, not UTF-16 units)', req: () => json(body({ prompt: '🎬'.repeat(5000) })) },
  { name: 'negative_prompt of exactly 5000 characters', req: () => json(body({ negative_prompt: long(5000) })), want: { negative_prompt: long(5000) } },
  { name: 'data URI with a lying MIME (PNG bytes declared image/jpeg)', req: () => json(body({ images: [dataUri(img.png, 'image/jpeg')] })) },
  { name: 'bare base64 image', req: () => json(body({ images: [img.pngB64] })) },
  { name: 'JPEG and WebP inputs', req: () => json(body({ images: [dataUri(img.webp, 'image/webp')], aspect_ratio: '9:16' })), want: { aspect_ratio: '9:16', size: '720p' } },
  { name: 'image URL (loopback allowed on the test server)', req: () => json(body({ images: [`${imageBase}/frame.png`] })) },
  { name: 'Veo 3.1 with seconds 8', req: () => json(body({ model: V31, seconds: 8 })), want: { model: V31, seconds: '8' } },
  { name: 'Veo 3.1 with no seconds → 8', req: () => json(body({ model: V31 })), want: { seconds: '8' } },
  { name: 'Veo 3.1 with first and last frame', req: () => json(body({ model: V31F, images: [img.pngUri, dataUri(img.jpeg, 'image/jpeg')] })), want: { model: V31F, seconds: '8' } },
  { name: 'numeric string seconds "6" on Veo 3', req: () => json(body({ model: V3, seconds: '6' })), want: { seconds: '6' } },
  { name: 'duration alias 4 on Veo 3', req: () => json(body({ model: V3, duration: 4 })), want: { seconds: '4' } },
  { name: 'seconds and duration both given and equal', req: () => json(body({ seconds: 6, duration: '6' })), want: { seconds: '6' } },
  { name: 'seconds 5 on Veo 2', req: () => json(body({ model: V2, seconds: 5 })), want: { model: V2, seconds: '5', generate_audio: false } },
  { name: 'size 1080p on Veo 3', req: () => json(body({ model: V3, size: '1080p' })), want: { size: '1080p' } },
  { name: 'size 4k on Veo 3', req: () => json(body({ model: V3, size: '4k' })), want: { size: '4k' } },
  { name: 'size 1920x1080 on Veo 3', req: () => json(body({ model: V3, size: '1920x1080' })), want: { size: '1920x1080' } },
  { name: 'size 2160x3840 with 9:16 on Veo 3', req: () => json(body({ model: V3, size: '2160x3840', aspect_ratio: '9:16' })), want: { size: '2160x3840', aspect_ratio: '9:16' } },
  { name: 'size 720x1280 with 9:16 on Veo 2', req: () => json(body({ model: V2, size: '720x1280', aspect_ratio: '9:16' })), want: { size: '720x1280' } },
  { name: 'seed 0', req: () => json(body({ seed: 0 })), want: { seed: 0 } },
  { name: 'seed 4294967295', req: () => json(body({ seed: 4294967295 })), want: { seed: 4294967295 } },
  { name: 'generate_audio false on Veo 2', req: () => json(body({ model: V2, generate_audio: false })), want: { generate_audio: false } },
  { name: 'generate_audio false on Veo 3', req: () => json(body({ generate_audio: false })), want: { generate_audio: false } },
  { name: 'null fields are treated as absent', req: () => json(body({ seed: null, seconds: null, size: null, negative_prompt: null, generate_audio: null, callback_url: null })), want: { seed: null, seconds: '8', size: '720p', generate_audio: true } },
  { name: 'off_peak and is_rec', req: () => json(body({ off_peak: true, is_rec: true })), want: { off_peak: true, is_rec: true } },
  // A public IP literal: the submit-time SSRF check resolves hostnames, and CI has no DNS.
  { name: 'callback_url https://', req: () => json(body({ callback_url: 'https://93.184.215.14/hook' })) },
  { name: 'unknown extra fields are ignored', req: () => json(body({ foo: 'bar', nested: { a: 1 }, n_frames: 99 })), want: { model: V3F } },
  {
    name: 'multipart: text fields + file part "images"',
    req: () => multipart([...textParts({ seconds: '4', size: '1280x720' }), { name: 'images', file: img.png }]),
    want: { seconds: '4', size: '1280x720', prompt: 'a slow push in' },
  },
  {
    name: 'multipart: file part "input_reference" (JPEG)',
    req: () => multipart([...textParts(), { name: 'input_reference', file: img.jpeg, type: 'image/jpeg', filename: 'ref.jpg' }]),
  },
  {
    name: 'multipart: booleans as "true"/"false" text parts',
    req: () => multipart([...textParts(), { name: 'generate_audio', value: 'false' }, { name: 'off_peak', value: 'true' }, { name: 'is_rec', value: 'false' }, { name: 'images', file: img.png }]),
    want: { generate_audio: false, off_peak: true, is_rec: false },
  },
  {
    name: 'multipart: seed as text "42"',
    req: () => multipart([...textParts(), { name: 'seed', value: '42' }, { name: 'images', file: img.png }]),
    want: { seed: 42 },
  },
  {
    name: 'multipart: image as a text part (data URI) instead of a file',
    req: () => multipart([...textParts(), { name: 'images', value: img.pngUri }]),
  },
  {
    name: 'multipart: Veo 3.1 with two image files (first + last frame)',
    req: () => multipart([...textParts({ model: V31 }), { name: 'images', file: img.png }, { name: 'images', file: img.jpeg, type: 'image/jpeg' }]),
    want: { model: V31, seconds: '8' },
  },
];

describe('submit validation: accepted and boundary cases', () => {
  let s: TestServer;
  const created: string[] = [];
  beforeAll(async () => { s = await startServer({ REELAY_ROLE: 'api' }); });
  afterAll(async () => { await s?.close(); });

  for (const c of accepts) {
    it(`${c.name} → 200 queued`, async () => {
      const res = await send(s, c.req());
      const text = await res.text();
      expect(res.status, text).toBe(200);
      const t = JSON.parse(text) as TaskJson;
      expect(t.id).toMatch(/^task_[0-9A-Za-z]{32}$/);
      expect(t).toMatchObject({ task_id: t.id, object: 'video', status: 'queued', progress: 0, ...c.want });
      created.push(t.id);
    });
  }

  describe('Idempotency-Key', () => {
    const key = `idem-${Date.now()}`;
    let first = '';
    it('first submit with a key creates a task', async () => {
      const res = await s.api(SUBMIT, { method: 'POST', json: body({ prompt: 'idempotent' }), headers: { 'idempotency-key': key } });
      expect(res.status).toBe(200);
      first = ((await res.json()) as TaskJson).id;
      created.push(first);
    });
    it('same key + same body → the same task, not a second one', async () => {
      const before = (await listTasks(s)).length;
      const res = await s.api(SUBMIT, { method: 'POST', json: body({ prompt: 'idempotent' }), headers: { 'idempotency-key': key } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as TaskJson).id).toBe(first);
      expect((await listTasks(s)).length).toBe(before);
    });
    it('same key + different body → 409 idempotency_key_reused', async () => {
      const before = (await listTasks(s)).length;
      const res = await s.api(SUBMIT, { method: 'POST', json: body({ prompt: 'something else' }), headers: { 'idempotency-key': key } });
      await expectError(res, { status: 409, type: 'conflict_error', code: 'idempotency_key_reused', param: null, message: ['Idempotency-Key', 'different'] });
      expect((await listTasks(s)).length).toBe(before);
    });
    it('the key is per API key: another key may reuse it', async () => {
      const other = await s.newKey('other');
      const res = await s.api(SUBMIT, { method: 'POST', json: body({ prompt: 'something else' }), headers: { 'idempotency-key': key, authorization: `Bearer ${other}` } });
      expect(res.status).toBe(200);
      const t = (await res.json()) as TaskJson;
      expect(t.id).not.toBe(first);
      expect((await listTasks(s, other)).map((x) => x.id)).toEqual([t.id]);
      const c = await s.api(`${SUBMIT}/${t.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${other}` } });
      expect(c.status).toBe(200);
    });
  });

  it('exactly one task per accepted submit, each with its input files stored', async () => {
    const tasks = await listTasks(s);
    expect(tasks.map((t) => t.id).sort()).toEqual([...created].sort());
    expect(new Set(created).size).toBe(created.length);
    const dirs = await readdir(join(s.dataDir, 'blobs', 'inputs'));
    // The other key's (cancelled) task has its folder too.
    for (const id of created) expect(dirs).toContain(id);
    // Images are stored by content type, whatever the name/MIME they were declared with.
    for (const f of await inputFiles(s)) expect(f).toMatch(/\/\d\.(png|jpg|webp)$/);
  });

  it('cancel them all', async () => {
    for (const id of created) {
      const res = await s.api(`${SUBMIT}/${id}/cancel`, { method: 'POST' });
      expect(res.status).toBe(200);
      expect(((await res.json()) as TaskJson).status).toBe('cancelled');
    }
    expect((await listTasks(s)).every((t) => t.status === 'cancelled')).toBe(true);
  });
});
