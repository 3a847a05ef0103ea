/**
 * Issue #10, extended to the SDK-compatibility surfaces (UPSTREAM.md §0–§3, §6):
 * a generated corpus of hostile requests over the Gemini API
 * (`/v1beta/models/{m}:predictLongRunning`, `/v1beta/{operation}`,
 * `/v1beta/files/{id}:download`), Vertex AI (`…/publishers/google/models/{m}:predictLongRunning`
 * and `:fetchPredictOperation`, express and project-scoped) and OpenAI Videos
 * (`/v1/videos` create, list, retrieve, delete, content).
 *
 * Each case must answer a 4xx (never a 5xx) in the envelope of its surface:
 * Google's `{"error":{code,message,status,details}}` on the Gemini and Vertex
 * paths, OpenAI's `{"error":{message,type,param,code}}` on /v1/videos. After
 * the whole corpus the server must hold exactly what it held before: the two
 * tasks made in beforeAll (one ours, one another key's), the same ledger and
 * the same files.
 *
 * As in the native corpus, inputs that are valid by content are sent with a key
 * that has no credits: they pass every check, the insert rolls back, and the
 * answer is 402 — acceptance proven without creating anything.
 *
 * No case has a time limit (issue 18): the pathological payloads are guarded
 * by their outcome, as in the native corpus (hardening-corpus.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.ts';
import {
  blobFiles, countTasks, encodeForm, expectErrorEnvelope, expectGoogleErrorEnvelope, ledgerEntries, multipartBody, rawRequest,
} from '../helpers/hostile.ts';
import {
  badImageStrings, DEPTH, hostileIds, makeHostileImages, MB, nested, refusedImages, unicodeLiterals, type HostileImages,
} from '../helpers/hostile-inputs.ts';

const V3F = 'veo-3.0-fast-generate-001';
const V31F = 'veo-3.1-fast-generate-preview';
const VIDEOS = '/v1/videos';

// ---------------------------------------------------------------------------
// Fixtures, filled in beforeAll (cases read them lazily, when they run)

const k = { key: '', broke: '', revoked: '', other: '', ownTask: '', otherTask: '' };
let s: TestServer;
const img = {} as HostileImages;
const b64 = (b: Buffer) => b.toString('base64');
const hex = (id: string) => Buffer.from(id, 'utf8').toString('hex');
const dataUri = (b: Buffer, mime = 'image/png') => `data:${mime};base64,${b64(b)}`;

// ---------------------------------------------------------------------------
// Request builders

type Surface = 'gemini' | 'vertex' | 'openai';
type KeyName = 'key' | 'broke' | 'revoked' | 'other';
/** A named key (sent where that surface's SDK sends it), none at all, or raw headers. */
type Auth = KeyName | 'none' | { headers: Record<string, string> };
interface Send { surface: Surface; method?: string; path: string; auth?: Auth; headers?: Record<string, string>; body?: string | Buffer; contentType?: string }

function send(r: Send): Promise<Response> {
  const headers: Record<string, string> = { ...r.headers };
  const auth = r.auth ?? 'key';
  if (typeof auth === 'object') Object.assign(headers, auth.headers);
  else if (auth !== 'none' && r.surface === 'openai') headers.authorization = `Bearer ${k[auth]}`;
  else if (auth !== 'none') headers['x-goog-api-key'] = k[auth];
  if (r.contentType !== undefined) headers['content-type'] = r.contentType;
  return rawRequest(s.base, { method: r.method ?? 'GET', path: r.path, headers, ...(r.body !== undefined ? { body: r.body } : {}) });
}

type Json = Record<string, unknown>;
/** Overrides where `undefined` removes the field. */
function merge(base: Json, over: Json = {}): Json {
  const out: Json = { ...base, ...over };
  for (const [key, v] of Object.entries(over)) if (v === undefined) delete out[key];
  return out;
}

// -- Google (Gemini API and Vertex AI share the create body) --
const gemini = (model = V3F) => `/v1beta/models/${model}:predictLongRunning`;
const vertexPaths = [
  (model = V3F, verb = 'predictLongRunning') => `/v1beta1/publishers/google/models/${model}:${verb}`,
  (model = V3F, verb = 'predictLongRunning') => `/v1/projects/p1/locations/us-central1/publishers/google/models/${model}:${verb}`,
];
const geminiOp = (id: string, model = V3F) => `/v1beta/models/${model}/operations/${id}`;
const geminiFile = (fileId: string) => `/v1beta/files/${fileId}:download?alt=media`;

/** A valid `predictLongRunning` body, as `@google/genai` sends it, with per-part overrides. */
function gBody(o: { inst?: Json; params?: Json; top?: Json } = {}): Json {
  const inst = merge({ prompt: 'a slow push in', image: { bytesBase64Encoded: b64(img.png), mimeType: 'image/png' } }, o.inst);
  const params = merge({ durationSeconds: 4, aspectRatio: '16:9', resolution: '720p' }, o.params);
  return merge({ instances: [inst], parameters: params }, o.top);
}
const gImage = (b: Buffer, mimeType: unknown = 'image/png') => ({ bytesBase64Encoded: b64(b), mimeType });

// -- OpenAI --
/** A valid JSON create body (the SDK sends multipart; the route takes both). */
function oBody(over: Json = {}): Json {
  return merge({ model: V3F, prompt: 'a slow push in', seconds: '4', size: '1280x720', input_reference: dataUri(img.png) }, over);
}
const oPostJson = (payload: unknown, auth: Auth = 'key', headers: Record<string, string> = {}) =>
  send({ surface: 'openai', method: 'POST', path: VIDEOS, auth, headers, contentType: 'application/json', body: JSON.stringify(payload) });
/** `contentType: null` sends none. */
const oPostRaw = (raw: string | Buffer, contentType: string | null = 'application/json', auth: Auth = 'key') =>
  send({ surface: 'openai', method: 'POST', path: VIDEOS, auth, body: raw, ...(contentType !== null ? { contentType } : {}) });
async function oPostForm(fd: FormData, auth: Auth = 'key'): Promise<Response> {
  const { body, contentType } = await encodeForm(fd);
  return send({ surface: 'openai', method: 'POST', path: VIDEOS, auth, contentType, body });
}
/** The text fields the `openai` SDK sends (model, prompt, seconds, size). */
function oForm(over: Record<string, string> = {}): FormData {
  const fd = new FormData();
  for (const [name, v] of Object.entries({ model: V3F, prompt: 'a slow push in', seconds: '4', size: '1280x720', ...over })) fd.append(name, v);
  return fd;
}
const fileBlob = (b: Buffer, type = 'image/png') => new Blob([new Uint8Array(b)], { type });
const withFile = (fd: FormData, b: Buffer, name = 'input_reference', type = 'image/png', filename = 'start.png') => {
  fd.append(name, fileBlob(b, type), filename);
  return fd;
};
const partHeaders = (name: string) => `Content-Disposition: form-data; name="${name}"`;
const rawForm = (parts: { headers: string; body: string | Buffer }[], auth: Auth = 'key') => {
  const m = multipartBody(parts);
  return send({ surface: 'openai', method: 'POST', path: VIDEOS, auth, contentType: m.contentType, body: m.body });
};

// ---------------------------------------------------------------------------
// The corpus

interface Case {
  group: string;
  surface: Surface;
  name: string;
  run: () => Promise<Response>;
  status?: number | number[];
  /** Reelay's error code: `error.code` on OpenAI, the ErrorInfo `reason` on Google. */
  code?: string | string[];
  check?: (e: { error: { message: string } }) => void;
  /**
   * A known envelope bug: the case asserts today's answer (a 4xx in Reelay's §10
   * envelope instead of the surface's), so it fails once fixed; then drop this.
   */
}
const cases: Case[] = [];
const add = (group: string, c: Omit<Case, 'group'>) => cases.push({ group, ...c });

/**
 * Errors Fastify's router raises before any route or scope is chosen (malformed
 * percent-encoding → 400, a path parameter over 200 characters → 414) are rendered by
 * the app-wide frameworkErrors handler (src/http/error-handler.ts) in Reelay's §10
 * envelope, also on the Gemini and Vertex paths, where clients expect Google's.
 */

type GoogleRun = (path: (model?: string) => string) => Promise<Response>;
let vertexTurn = 0;
/**
 * One create case on both Google surfaces: Gemini, and Vertex (express and project-scoped
 * in turn); `vertex` overrides fields for the Vertex copy.
 */
function addGoogle(group: string, c: Omit<Case, 'group' | 'surface' | 'run'> & { run: GoogleRun; vertex?: Partial<Case> }) {
  const { vertex: vertexOver, ...rest } = c;
  const vertex = vertexPaths[vertexTurn++ % vertexPaths.length]!;
  add(group, { ...rest, surface: 'gemini', name: `gemini: ${c.name}`, run: () => c.run(gemini) });
  add(group, { ...rest, ...vertexOver, surface: 'vertex', name: `vertex: ${c.name}`, run: () => c.run((m) => vertex(m)) });
}
const gPost = (path: string, payload: unknown, auth: Auth = 'key', headers: Record<string, string> = {}) =>
  send({ surface: path.startsWith('/v1beta/') ? 'gemini' : 'vertex', method: 'POST', path, auth, headers, contentType: 'application/json', body: JSON.stringify(payload) });
/** `contentType: null` sends none. */
const gPostRaw = (path: string, raw: string | Buffer, contentType: string | null = 'application/json', auth: Auth = 'key') =>
  send({ surface: path.startsWith('/v1beta/') ? 'gemini' : 'vertex', method: 'POST', path, auth, body: raw, ...(contentType !== null ? { contentType } : {}) });
const bounded = (e: { error: { message: string } }) => expect(e.error.message.length).toBeLessThan(2000);

// == Google create (Gemini and Vertex) =========================================

// -- G1. every field with wrong JSON types -------------------------------------------
const gWrong: { where: 'top' | 'inst' | 'params'; field: string; values: unknown[]; code: string }[] = [
  { where: 'top', field: 'instances', values: ['x', 1, true, {}, []], code: 'missing_instances' },
  { where: 'top', field: 'instances', values: [[1], [null], ['x'], [[]]], code: 'invalid_instances' },
  { where: 'top', field: 'parameters', values: ['x', 1, true, []], code: 'invalid_parameters' },
  { where: 'inst', field: 'prompt', values: [42, true, [], {}, ['x']], code: 'invalid_prompt' },
  { where: 'inst', field: 'image', values: ['x', 1, true, [], ['x']], code: 'invalid_image' },
  { where: 'params', field: 'durationSeconds', values: [true, [], {}, 'abc', 4.5, '', ' ', '8.0', '4s', '４', 5, -4, 0], code: 'invalid_seconds' },
  { where: 'params', field: 'aspectRatio', values: [42, [], '1:1', '16/9', '', '１６:９', '16:9\u0000'], code: 'invalid_aspect_ratio' },
  { where: 'params', field: 'resolution', values: [42, [], '8k', '', '720p\u0301', '١٠٨٠p'], code: 'invalid_size' },
  { where: 'params', field: 'negativePrompt', values: [42, true, [], {}], code: 'invalid_negative_prompt' },
  { where: 'params', field: 'seed', values: ['42', true, 1.5, -1, 4294967296, []], code: 'invalid_seed' },
  { where: 'params', field: 'generateAudio', values: [1, 'true', [], {}], code: 'invalid_generate_audio' },
  { where: 'params', field: 'sampleCount', values: [2, 0, '2', -1, 1.5, 'abc', {}], code: 'invalid_parameters.sampleCount' },
  { where: 'params', field: 'numberOfVideos', values: [2, '3', 4294967297], code: 'invalid_parameters.numberOfVideos' },
];
for (const { where, field, values, code } of gWrong) {
  for (const v of values) {
    addGoogle('google create: wrong types', {
      name: `${where === 'top' ? '' : `${where}.`}${field} = ${JSON.stringify(v).slice(0, 30)}`, status: 400, code,
      run: (p) => gPost(p(), gBody({ [where]: { [field]: v } })),
    });
  }
}
const gImageWrong: [string, () => unknown][] = [
  ['bytesBase64Encoded a number', () => ({ bytesBase64Encoded: 42, mimeType: 'image/png' })],
  ['bytesBase64Encoded an array', () => ({ bytesBase64Encoded: [b64(img.png)], mimeType: 'image/png' })],
  ['bytesBase64Encoded an object', () => ({ bytesBase64Encoded: {}, mimeType: 'image/png' })],
  ['bytesBase64Encoded empty', () => ({ bytesBase64Encoded: '', mimeType: 'image/png' })],
  ['bytesBase64Encoded null', () => ({ bytesBase64Encoded: null, mimeType: 'image/png' })],
  ['only mimeType', () => ({ mimeType: 'image/png' })],
  ['empty object', () => ({})],
  ['inlineData.data a number', () => ({ inlineData: { data: 42, mimeType: 'image/png' } })],
  ['inlineData empty', () => ({ inlineData: {} })],
  ['imageBytes (the SDK-side name, not the wire name)', () => ({ imageBytes: b64(img.png), mimeType: 'image/png' })],
];
for (const [name, image] of gImageWrong) {
  addGoogle('google create: wrong types', { name: `image: ${name}`, status: 400, code: 'invalid_image', run: (p) => gPost(p(), gBody({ inst: { image: image() } })) });
}
const gUnsupported: [string, () => Json][] = [
  ['image.gcsUri', () => gBody({ inst: { image: { gcsUri: 'gs://bucket/start.png', mimeType: 'image/png' } } })],
  ['instances[0].mask', () => gBody({ inst: { mask: { maskMode: 'foreground' } } })],
  ['parameters.storageUri', () => gBody({ params: { storageUri: 'gs://bucket/out/' } })],
];
for (const [name, payload] of gUnsupported) addGoogle('google create: unsupported fields', { name, status: 400, code: 'unsupported_field', run: (p) => gPost(p(), payload()) });
// Creative inputs are mapped now; refused only when they cannot apply: a video this gateway never returned, references on a model without them.
addGoogle('google create: creative inputs', { name: 'instances[0].video from elsewhere', status: 400, code: 'unknown_video', run: (p) => gPost(p(), gBody({ inst: { video: { uri: 'https://x.test/v.mp4' } } })) });
addGoogle('google create: creative inputs', { name: 'instances[0].referenceImages on a model without references', status: 400, code: 'invalid_reference_images', run: (p) => gPost(p(), gBody({ inst: { referenceImages: [{ image: gImage(img.png), referenceType: 'asset' }] } })) });

// -- G2. missing and extra fields ---------------------------------------------
addGoogle('google create: missing fields', { name: 'empty object', status: 400, code: 'missing_instances', run: (p) => gPost(p(), {}) });
addGoogle('google create: missing fields', { name: 'one empty instance', status: 400, code: 'missing_prompt', run: (p) => gPost(p(), { instances: [{}] }) });
addGoogle('google create: missing fields', { name: 'no prompt', status: 400, code: 'missing_prompt', run: (p) => gPost(p(), gBody({ inst: { prompt: undefined } })) });
addGoogle('google create: missing fields', { name: 'prompt: null', status: 400, code: 'missing_prompt', run: (p) => gPost(p(), gBody({ inst: { prompt: null } })) });
addGoogle('google create: missing fields', { name: 'no image', status: 400, code: 'missing_images', run: (p) => gPost(p(), gBody({ inst: { image: undefined } })) });
addGoogle('google create: missing fields', { name: 'lastFrame without image', status: 400, code: 'invalid_instances[0].lastFrame', run: (p) => gPost(p(V31F), gBody({ inst: { image: undefined, lastFrame: gImage(img.png) }, params: { durationSeconds: 8 } })) });
addGoogle('google create: missing fields', { name: 'two instances', status: 400, code: 'invalid_instances', run: (p) => { const b = gBody(); return gPost(p(), { ...b, instances: [...(b.instances as unknown[]), ...(b.instances as unknown[])] }); } });
addGoogle('google create: extra fields', { name: '100 000 unknown keys and no instances', status: 400, code: 'missing_instances', check: bounded, run: (p) => gPost(p(), Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]))) });
addGoogle('google create: extra fields', { name: '100 000 unknown parameters do not rescue a bad duration', status: 400, code: 'invalid_seconds', check: bounded, run: (p) => gPost(p(), gBody({ params: { ...Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`p${i}`, i])), durationSeconds: 7 } })) });
addGoogle('google create: extra fields', { name: 'a 1 MB key name in the instance', status: 400, code: 'missing_prompt', run: (p) => gPost(p(), { instances: [{ ['k'.repeat(MB)]: 1 }] }) });
addGoogle('google create: extra fields', { name: 'SDK-refused fields do not rescue a bad one', status: 400, code: 'invalid_aspect_ratio', run: (p) => gPost(p(), gBody({ params: { fps: 60, compressionQuality: 'lossless', pubsubTopic: 'x', aspectRatio: '4:3' }, top: { labels: { a: 'b' } } })) });

// -- G3. huge strings: refused, and the message does not echo them -------------------
const gHuge: [string, () => Json, string][] = [
  ['1 MB prompt', () => gBody({ inst: { prompt: 'x'.repeat(MB) } }), 'invalid_prompt'],
  ['5001 emoji prompt', () => gBody({ inst: { prompt: '🎬'.repeat(5001) } }), 'invalid_prompt'],
  ['1 MB negativePrompt', () => gBody({ params: { negativePrompt: 'x'.repeat(MB) } }), 'invalid_negative_prompt'],
  ['1 MB aspectRatio', () => gBody({ params: { aspectRatio: 'x'.repeat(MB) } }), 'invalid_aspect_ratio'],
  ['1 MB resolution', () => gBody({ params: { resolution: 'x'.repeat(MB) } }), 'invalid_size'],
  ['1 MB durationSeconds', () => gBody({ params: { durationSeconds: '9'.repeat(MB) } }), 'invalid_seconds'],
  ['1 MB sampleCount', () => gBody({ params: { sampleCount: '9'.repeat(MB) } }), 'invalid_parameters.sampleCount'],
];
for (const [name, payload, code] of gHuge) addGoogle('google create: huge strings', { name, status: 400, code, check: bounded, run: (p) => gPost(p(), payload()) });
addGoogle('google create: huge strings', { name: 'body over 20 MB', status: 413, code: 'body_too_large', run: (p) => gPostRaw(p(), `{"instances":[{"prompt":"${' '.repeat(21 * MB)}"}]}`) });

// -- G4. unknown and hostile models in the path --------------------------------------
const gModels: [string, string, (number | number[])?][] = [
  ['unknown model veo-9', 'veo-9'], ['an OpenAI model on a Google surface', 'sora-2'], ['upper case', V3F.toUpperCase()],
  ['a Vidu model', 'viduq1-nope'], ['NUL-suffixed', `${V3F}%00`],
  ['RTL override', encodeURIComponent(`\u202e${V3F}`)], ['emoji', encodeURIComponent('🎬')], ['dot-dot', '..'],
  ['encoded slash', `models%2F${V3F}`],
  ['bad percent-encoding', 'veo%E0%A4%A', 400], ['100 characters', 'v'.repeat(100)], ['201 characters', 'v'.repeat(201), 414],
  ['10 000 characters', 'v'.repeat(10_000), 414], ['lone surrogate (UTF-8 of U+D800)', 'veo%ED%A0%80', 400], ['invalid UTF-8', 'veo%FF%FE', 400],
];
for (const [name, model, status] of gModels) {
  addGoogle('google create: models', {
    name, status: status ?? [400, 404], 
    // Over-long parameters on Vertex paths fall through to its catch-all: a 404 in Google's envelope.
    ...(status === 414 ? { vertex: { status: [404, 414], code: 'route_not_found' } } : {}), ...(status === undefined ? { code: ['invalid_model', 'route_not_found', 'model_not_found'] } : {}),
    run: (p) => gPost(p(model), gBody()),
  });
}

// -- G5. unicode: prompts that pass every rule (no credits → 402); bad ones in enum fields --
for (const [name, literal] of unicodeLiterals) {
  addGoogle('google create: unicode', {
    name: `prompt with ${name} is accepted by the rules (no credits → 402)`, status: 402, code: 'insufficient_credits',
    run: (p) => gPostRaw(p(), JSON.stringify(gBody({ inst: { prompt: 'PROMPT' } })).replace('"PROMPT"', literal), 'application/json', 'broke'),
  });
}
addGoogle('google create: unicode', { name: 'BOM-only prompt is blank', status: 400, code: 'invalid_prompt', run: (p) => gPost(p(), gBody({ inst: { prompt: '\ufeff  \u3000' } })) });
addGoogle('google create: unicode', { name: 'lone surrogate in aspectRatio', status: 400, code: 'invalid_aspect_ratio', run: (p) => gPostRaw(p(), JSON.stringify(gBody()).replace('"16:9"', '"16:9\\ud800"')) });
addGoogle('google create: unicode', { name: 'invalid UTF-8 bytes in resolution', status: 400, code: 'invalid_size', run: (p) => { const [head, tail] = JSON.stringify(gBody()).split('720p'); return gPostRaw(p(), Buffer.concat([Buffer.from(head!), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(tail!)])); } });
addGoogle('google create: unicode', { name: 'latin-1 Idempotency-Key', status: 400, code: 'invalid_idempotency_key', run: (p) => gPost(p(), gBody(), 'broke', { 'idempotency-key': 'clé' }) });

// -- G6. invalid base64 / image strings in bytesBase64Encoded and inlineData.data -------
for (const [name, value] of badImageStrings) {
  addGoogle('google create: bad base64', { name: `bytesBase64Encoded: ${name}`, status: 400, code: 'invalid_image', run: (p) => gPost(p(), gBody({ inst: { image: { bytesBase64Encoded: value(img), mimeType: 'image/png' } } })) });
}
for (const [name, value] of badImageStrings.slice(0, 8)) {
  addGoogle('google create: bad base64', { name: `inlineData.data: ${name}`, status: 400, code: 'invalid_image', run: (p) => gPost(p(), gBody({ inst: { image: { inlineData: { data: value(img), mimeType: 'image/png' } } } })) });
}
addGoogle('google create: bad base64', {
  name: 'lastFrame with invalid base64 (Veo 3.1)', status: 400, code: 'invalid_image',
  run: (p) => gPost(p(V31F), gBody({ inst: { lastFrame: { bytesBase64Encoded: '!!!!', mimeType: 'image/png' } }, params: { durationSeconds: 8 } })),
});

// -- G7. images judged by content: lying mimeType accepted (402), non-images refused ---------
const gAccepted: [string, () => Json][] = [
  ['PNG declared image/jpeg', () => gBody({ inst: { image: gImage(img.png, 'image/jpeg') } })],
  ['JPEG declared image/png', () => gBody({ inst: { image: gImage(img.jpeg, 'image/png') } })],
  ['WebP declared image/gif (portrait)', () => gBody({ inst: { image: gImage(img.webp, 'image/gif') }, params: { aspectRatio: '9:16' } })],
  ['PNG declared text/html', () => gBody({ inst: { image: gImage(img.png, 'text/html') } })],
  ['PNG with a numeric mimeType', () => gBody({ inst: { image: gImage(img.png, 42) } })],
  ['PNG without a mimeType', () => gBody({ inst: { image: { bytesBase64Encoded: b64(img.png) } } })],
  ['PNG in inlineData declared application/octet-stream', () => gBody({ inst: { image: { inlineData: { data: b64(img.png), mimeType: 'application/octet-stream' } } } })],
  ['PNG as URL-safe base64 with line breaks', () => gBody({ inst: { image: { bytesBase64Encoded: img.png.toString('base64url').replace(/(.{60})/g, '$1\n'), mimeType: 'image/png' } } })],
  ['polyglot: PNG with a ZIP appended', () => gBody({ inst: { image: gImage(Buffer.concat([img.png, img.zip])) } })],
  ['polyglot: PNG with HTML appended', () => gBody({ inst: { image: gImage(Buffer.concat([img.png, img.html])) } })],
  ['16x16 (the minimum side)', () => gBody({ inst: { image: gImage(img.px16) } })],
];
for (const [name, payload] of gAccepted) addGoogle('google create: images by content (accepted)', { name, status: 402, code: 'insufficient_credits', run: (p) => gPost(p(), payload(), 'broke') });
for (const [name, bytes, mime] of refusedImages) {
  addGoogle('google create: images by content (refused)', { name, status: 400, code: 'invalid_image', run: (p) => gPost(p(), gBody({ inst: { image: gImage(bytes(img), mime ?? 'image/png') } }), 'broke') });
}
addGoogle('google create: images by content (refused)', {
  name: 'an https URL in bytesBase64Encoded without a mimeType', status: 400,
  run: (p) => gPost(p(), gBody({ inst: { image: { bytesBase64Encoded: 'https://169.254.169.254/latest/meta-data/iam' } } }), 'broke'),
});

// -- G8. JSON bombs and framing ----------------------------------------------------------
const gFraming: [string, () => string | Buffer, string?][] = [
  ['100 000 nested arrays', () => nested('[', ']', DEPTH), 'invalid_body'],
  ['100 000 nested objects', () => nested('{"a":', '}', DEPTH, '1'), 'missing_instances'],
  ['100 000 nested arrays in instances', () => `{"instances":${nested('[', ']', DEPTH)}}`, 'invalid_instances'],
  ['100 000 nested arrays in prompt', () => `{"instances":[{"prompt":${nested('[', ']', DEPTH)}}]}`, 'invalid_prompt'],
  ['100 000 nested objects in image', () => JSON.stringify(gBody({ inst: { image: 'X' } })).replace('"X"', nested('{"inlineData":', '}', DEPTH, '1')), 'invalid_image'],
  ['100 000 nested arrays in parameters', () => JSON.stringify(gBody()).replace(/"parameters":\{[^}]*\}/, `"parameters":${nested('[', ']', DEPTH)}`), 'invalid_parameters'],
  ['1 000 000 unclosed brackets', () => '['.repeat(1_000_000), 'invalid_json'],
  ['__proto__ pollution attempt', () => `{"__proto__":{"isAdmin":true},"instances":[]}`, 'forbidden_json_key'],
  ['constructor.prototype pollution attempt', () => '{"constructor":{"prototype":{"polluted":1}}}', 'forbidden_json_key'],
  ['duplicate keys: second instances empty', () => JSON.stringify(gBody()).replace(/}$/, ',"instances":[]}'), 'missing_instances'],
  ['duplicate keys: second parameters has a bad duration', () => JSON.stringify(gBody()).replace(/}$/, ',"parameters":{"durationSeconds":7}}'), 'invalid_seconds'],
  ['duplicate keys: second prompt blank', () => JSON.stringify(gBody()).replace('"prompt":"a slow push in"', '"prompt":"a slow push in","prompt":"  "'), 'invalid_prompt'],
  ['trailing garbage', () => `${JSON.stringify(gBody())}garbage`, 'invalid_json'],
  ['two objects', () => `${JSON.stringify(gBody())}{}`, 'invalid_json'],
  ['single quotes', () => "{'instances':[]}", 'invalid_json'],
  ['NaN literal', () => JSON.stringify(gBody()).replace('"durationSeconds":4', '"durationSeconds":NaN'), 'invalid_json'],
  ['comment', () => '{/* hi */"instances":[]}', 'invalid_json'],
  ['trailing comma', () => '{"instances":[],}', 'invalid_json'],
  ['whitespace only', () => '   \n ', 'invalid_json'],
  ['truncated', () => JSON.stringify(gBody()).slice(0, 40), 'invalid_json'],
  ['seed of 400 digits', () => JSON.stringify(gBody()).replace('"durationSeconds":4', `"durationSeconds":4,"seed":${'9'.repeat(400)}`), 'invalid_seed'],
  ['durationSeconds 1e400 (Infinity)', () => JSON.stringify(gBody()).replace('"durationSeconds":4', '"durationSeconds":1e400'), 'invalid_seconds'],
  ['durationSeconds -0', () => JSON.stringify(gBody()).replace('"durationSeconds":4', '"durationSeconds":-0'), 'invalid_seconds'],
  ['sampleCount 1e400 (Infinity)', () => JSON.stringify(gBody()).replace('"durationSeconds":4', '"durationSeconds":4,"sampleCount":1e400'), 'invalid_parameters.sampleCount'],
  ['JSON true', () => 'true', 'invalid_body'], ['JSON number', () => '12', 'invalid_body'], ['JSON string', () => '"hello"', 'invalid_body'],
  ['JSON null', () => 'null', 'invalid_body'],
];
for (const [name, payload, code] of gFraming) {
  addGoogle('google create: JSON framing', { name, status: 400, ...(code ? { code } : {}), run: (p) => gPostRaw(p(), payload()) });
}

// -- G9. wrong content types ---------------------------------------------------------
const gContentTypes: [string, string | null, () => string | Buffer, number, string][] = [
  ['text/plain', 'text/plain', () => JSON.stringify(gBody()), 415, 'unsupported_media_type'],
  ['no content type', null, () => JSON.stringify(gBody()), 415, 'unsupported_media_type'],
  ['application/xml', 'application/xml', () => '<instances><prompt>p</prompt></instances>', 415, 'unsupported_media_type'],
  ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded', () => 'instances=1', 415, 'unsupported_media_type'],
  ['multipart/form-data (the OpenAI shape)', 'multipart/form-data; boundary=hardening-boundary-7MA4YWxk', () => multipartBody([{ headers: partHeaders('prompt'), body: 'p' }]).body, 415, 'unsupported_media_type'],
  ['image/png body', 'image/png', () => img.png, 415, 'unsupported_media_type'],
  ['application/octet-stream', 'application/octet-stream', () => img.png, 415, 'unsupported_media_type'],
  ['text/json', 'text/json', () => JSON.stringify(gBody()), 415, 'unsupported_media_type'],
  ['application/json; charset=utf-16 with UTF-16 bytes', 'application/json; charset=utf-16', () => Buffer.from(`\ufeff${JSON.stringify(gBody())}`, 'utf16le'), 400, 'invalid_json'],
];
for (const [name, ct, payload, status, code] of gContentTypes) {
  addGoogle('google create: content types', { name, status, code, run: (p) => gPostRaw(p(), payload(), ct) });
}

// == Gemini: operations and file downloads =====================================

for (const [name, id] of hostileIds) {
  add('gemini operation: ids', { surface: 'gemini', name, status: [400, 404, 414], run: () => send({ surface: 'gemini', path: geminiOp(id) }) });
}
const geminiOps: [string, () => string, number | number[], string?][] = [
  ['unknown task', () => geminiOp('task_00000000000000000000000000000000'), 404, 'task_not_found'],
  ["another key's operation", () => geminiOp(k.otherTask), 404, 'task_not_found'],
  ["another key's operation under another model", () => geminiOp(k.otherTask, 'veo-2.0-generate-001'), 404, 'task_not_found'],
  ['operations/ without an id', () => '/v1beta/models/veo-3.0-fast-generate-001/operations/', [400, 404]],
  ['operation without models/…', () => `/v1beta/operations/${k.ownTask}`, 404, 'route_not_found'],
  ['operation name with a trailing segment', () => `${geminiOp(k.ownTask)}/extra`, 404, 'route_not_found'],
  ['traversal out of the operation', () => `${geminiOp(k.ownTask)}/../../../../files/abc:download`, 404],
  ['model segment of 201 characters', () => geminiOp(k.ownTask, 'm'.repeat(201)), 414],
  ["another key's operation under an encoded-slash model", () => geminiOp(k.otherTask, `${V3F}%2F..%2F..`), 404, 'task_not_found'],
];
for (const [name, path, status, code] of geminiOps) {
  add('gemini operation: names', { surface: 'gemini', name, status, ...(code ? { code } : {}), run: () => send({ surface: 'gemini', path: path() }) });
}
const geminiFiles: [string, () => string, number | number[], string?][] = [
  ['unknown task (valid hex)', () => geminiFile(hex('task_00000000000000000000000000000000')), 404, 'task_not_found'],
  ["another key's task", () => geminiFile(hex(k.otherTask)), 404, 'task_not_found'],
  ["another key's task inside an http:// uri (the SDK's path form)", () => `/v1beta/files/http://evil.test/v1beta/files/${hex(k.otherTask)}:download?alt=media`, 404, 'task_not_found'],
  ['own task not finished yet', () => geminiFile(hex(k.ownTask)), 409, 'task_not_succeeded'],
  ['upper-case hex', () => geminiFile(hex(k.ownTask).toUpperCase()), 404, 'file_not_found'],
  ['odd-length hex', () => geminiFile(hex(k.ownTask).slice(1)), 404, 'file_not_found'],
  ['not hex', () => geminiFile('zzzz'), 404, 'file_not_found'],
  ['hex of ../../etc/passwd', () => geminiFile(hex('../../etc/passwd')), 404, 'file_not_found'],
  ['hex of a NUL-suffixed id', () => geminiFile(`${hex(k.ownTask)}00`), 404, 'file_not_found'],
  ['hex of 101 bytes', () => geminiFile('61'.repeat(101)), [404, 414]],
  ['empty id', () => geminiFile(''), 404],
  ['no :download suffix', () => `/v1beta/files/${hex(k.ownTask)}`, 404, 'file_not_found'],
  [':download twice', () => `/v1beta/files/${hex(k.ownTask)}:download:download`, 404, 'file_not_found'],
  ['raw traversal', () => '/v1beta/files/../../etc/passwd:download', 404],
  ['encoded traversal', () => '/v1beta/files/%2e%2e%2f%2e%2e%2fetc%2fpasswd:download', 404],
  ['NUL in the id', () => '/v1beta/files/74%00:download', 404],
  ['bad percent-encoding', () => '/v1beta/files/%E0%A4%A:download', 400],
  ['10 000-character path', () => `/v1beta/files/${'a/'.repeat(5000)}x:download`, [404, 414]],
];
for (const [name, path, status, code] of geminiFiles) {
  add('gemini files', { surface: 'gemini', name, status, ...(code ? { code } : {}), run: () => send({ surface: 'gemini', path: path() }) });
}

// == Vertex: fetchPredictOperation =============================================

const opName = (id: string) => `projects/p1/locations/us-central1/publishers/google/models/${V3F}/operations/${id}`;
const vertexFetch: [string, () => string | Buffer, number | number[], string?, string?][] = [
  ['empty object', () => '{}', 400, 'invalid_operationName'],
  ['operationName a number', () => '{"operationName":42}', 400, 'invalid_operationName'],
  ['operationName an array', () => `{"operationName":[${JSON.stringify(opName(k.ownTask))}]}`, 400, 'invalid_operationName'],
  ['operationName an object', () => '{"operationName":{"name":"x"}}', 400, 'invalid_operationName'],
  ['operationName null', () => '{"operationName":null}', 400, 'invalid_operationName'],
  ['operationName empty', () => '{"operationName":""}', 400, 'invalid_operationName'],
  ['operationName of 1001 characters', () => JSON.stringify({ operationName: `operations/${'a'.repeat(990)}` }), 400, 'invalid_operationName'],
  ['operationName without /operations/', () => JSON.stringify({ operationName: `publishers/google/models/${V3F}` }), 400, 'invalid_operationName'],
  ['operationName ending in operations/', () => JSON.stringify({ operationName: opName('') }), 400, 'invalid_operationName'],
  ['operationName with a trailing slash', () => JSON.stringify({ operationName: `${opName(k.ownTask)}/` }), 400, 'invalid_operationName'],
  ['operationName with a query string', () => JSON.stringify({ operationName: `${opName(k.ownTask)}?alt=media` }), 400, 'invalid_operationName'],
  ['operationName traversal ../../etc/passwd', () => JSON.stringify({ operationName: 'operations/../../etc/passwd' }), 400, 'invalid_operationName'],
  ['operationName id of 101 characters', () => JSON.stringify({ operationName: opName(`task_${'a'.repeat(96)}`) }), 400, 'invalid_operationName'],
  ['operationName id with an encoded slash', () => JSON.stringify({ operationName: opName('task_%2F..') }), 400, 'invalid_operationName'],
  ['operationName id with NUL', () => '{"operationName":"operations/task_\\u0000x"}', 400, 'invalid_operationName'],
  ['operationName id with an RTL override', () => JSON.stringify({ operationName: opName('task_\u202eabc') }), 400, 'invalid_operationName'],
  ['operationName id with a lone surrogate', () => '{"operationName":"operations/task_\\ud800"}', 400, 'invalid_operationName'],
  ["another key's operation", () => JSON.stringify({ operationName: opName(k.otherTask) }), 404, 'task_not_found'],
  ["another key's operation behind a traversal prefix", () => JSON.stringify({ operationName: `../../../operations/${k.otherTask}` }), 404, 'task_not_found'],
  ['unknown task', () => JSON.stringify({ operationName: opName('task_00000000000000000000000000000000') }), 404, 'task_not_found'],
  ['100 000 nested arrays', () => nested('[', ']', DEPTH), 400, 'invalid_body'],
  ['100 000 nested objects in operationName', () => `{"operationName":${nested('{"a":', '}', DEPTH, '1')}}`, 400, 'invalid_operationName'],
  ['invalid JSON', () => '{"operationName":', 400, 'invalid_json'],
  ['JSON array', () => '[]', 400, 'invalid_body'],
  ['JSON string', () => JSON.stringify(opName(k.ownTask)), 400, 'invalid_body'],
  ['empty body', () => '', 400, 'invalid_json'],
  ['__proto__ pollution attempt', () => `{"__proto__":{"operationName":${JSON.stringify(opName(k.ownTask))}}}`, 400, 'forbidden_json_key'],
  ['text/plain body', () => JSON.stringify({ operationName: opName(k.ownTask) }), 415, 'unsupported_media_type', 'text/plain'],
  ['XML body', () => '<operationName>x</operationName>', 415, 'unsupported_media_type', 'application/xml'],
];
vertexFetch.forEach(([name, payload, status, code, ct], i) => {
  add('vertex fetchPredictOperation', {
    surface: 'vertex', name, status, ...(code ? { code } : {}),
    run: () => gPostRaw(vertexPaths[i % 2]!(V3F, 'fetchPredictOperation'), payload(), ct ?? 'application/json'),
  });
});
add('vertex fetchPredictOperation', { surface: 'vertex', name: 'no body, no content type', status: 415, code: 'unsupported_media_type', run: () => send({ surface: 'vertex', method: 'POST', path: vertexPaths[0]!(V3F, 'fetchPredictOperation') }) });
add('vertex fetchPredictOperation', { surface: 'vertex', name: 'model segment of 201 characters', status: [404, 414], code: 'route_not_found', run: () => gPost(vertexPaths[0]!('m'.repeat(201), 'fetchPredictOperation'), { operationName: opName(k.ownTask) }) });

// == OpenAI create ===============================================================

// -- O1. wrong types and bad values (JSON) --------------------------------------------
const oWrong: { field: string; values: unknown[]; code: string }[] = [
  { field: 'prompt', values: [42, true, [], {}, ['x'], '', '   '], code: 'invalid_prompt' },
  { field: 'model', values: [42, true, [], {}, 'sora-3', 'gpt-4o', 'SORA-2', '../../etc/passwd', `${V3F}\u0000`, '\u202esora-2'], code: 'invalid_model' },
  { field: 'seconds', values: [4.5, true, [], {}, 'abc', '', ' ', '4.0', '4s', '-4', '0', '12', '１２', '1e1', '0x4', 99, '4\u0000'], code: 'invalid_seconds' },
  { field: 'size', values: [42, true, [], {}, '1280x720x3', '0x0', '-1280x720', '1280×720', '', 'big', '99999999999999999999x1', '1281x720', '1280x720\u0000', '1920x1080p'], code: 'invalid_size' },
  { field: 'input_reference', values: [42, true, [], ['x'], {}, { image_url: 5 }, { image_url: ['x'] }], code: 'invalid_image' },
  { field: 'negative_prompt', values: [42, [], {}], code: 'invalid_negative_prompt' },
  { field: 'seed', values: ['42', 1.5, -1, 4294967296], code: 'invalid_seed' },
  { field: 'generate_audio', values: ['yes', 1, []], code: 'invalid_generate_audio' },
  { field: 'callback_url', values: ['javascript:alert(1)', 'http://example.com/hook', 42], code: 'invalid_callback_url' },
];
for (const { field, values, code } of oWrong) {
  for (const v of values) {
    add('openai create: wrong types', { surface: 'openai', name: `${field} = ${JSON.stringify(v).slice(0, 30)}`, status: 400, code, run: () => oPostJson(oBody({ [field]: v })) });
  }
}
add('openai create: wrong types', { surface: 'openai', name: 'input_reference.file_id (no Files API)', status: 400, code: 'unsupported_field', run: () => oPostJson(oBody({ input_reference: { file_id: 'file_1' } })) });
add('openai create: missing fields', { surface: 'openai', name: 'empty object', status: 400, code: ['missing_prompt', 'missing_images'], run: () => oPostJson({}) });
add('openai create: missing fields', { surface: 'openai', name: 'no prompt', status: 400, code: 'missing_prompt', run: () => oPostJson(oBody({ prompt: undefined })) });
add('openai create: missing fields', { surface: 'openai', name: 'no input_reference', status: 400, code: 'missing_images', check: (e) => expect(e.error.message).toContain('"input_reference"'), run: () => oPostJson(oBody({ input_reference: undefined })) });
add('openai create: missing fields', { surface: 'openai', name: 'input_reference: null', status: 400, code: 'missing_images', run: () => oPostJson(oBody({ input_reference: null })) });
add('openai create: extra fields', { surface: 'openai', name: '100 000 unknown keys and no prompt', status: 400, code: 'missing_prompt', check: bounded, run: () => oPostJson(Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]))) });
add('openai create: extra fields', { surface: 'openai', name: 'OpenAI-only fields do not rescue a bad one', status: 400, code: 'invalid_seconds', run: () => oPostJson(oBody({ remix_video_id: 'video_1', n: 4, seconds: '5' })) });
add('openai create: huge strings', { surface: 'openai', name: '1 MB prompt', status: 400, code: 'invalid_prompt', check: bounded, run: () => oPostJson(oBody({ prompt: 'x'.repeat(MB) })) });
add('openai create: huge strings', { surface: 'openai', name: '1 MB size', status: 400, code: 'invalid_size', check: bounded, run: () => oPostJson(oBody({ size: `1280x${'7'.repeat(MB)}` })) });
add('openai create: huge strings', { surface: 'openai', name: '1 MB seconds', status: 400, code: 'invalid_seconds', check: bounded, run: () => oPostJson(oBody({ seconds: '4'.repeat(MB) })) });
add('openai create: huge strings', { surface: 'openai', name: '1 MB model', status: 400, code: 'invalid_model', check: bounded, run: () => oPostJson(oBody({ model: 's'.repeat(MB) })) });
add('openai create: huge strings', { surface: 'openai', name: 'body over 20 MB', status: 413, code: 'body_too_large', run: () => oPostRaw(`{"prompt":"${' '.repeat(21 * MB)}"}`) });

// -- O2. unicode ------------------------------------------------------------------
for (const [name, literal] of unicodeLiterals.slice(0, 6)) {
  add('openai create: unicode', {
    surface: 'openai', name: `prompt with ${name} is accepted by the rules (no credits → 402)`, status: 402, code: 'insufficient_credits',
    run: () => oPostRaw(JSON.stringify(oBody({ prompt: 'PROMPT' })).replace('"PROMPT"', literal), 'application/json', 'broke'),
  });
}
add('openai create: unicode', { surface: 'openai', name: 'lone surrogate in seconds', status: 400, code: 'invalid_seconds', run: () => oPostRaw(JSON.stringify(oBody()).replace('"seconds":"4"', '"seconds":"4\\ud800"')) });
add('openai create: unicode', { surface: 'openai', name: 'Arabic-Indic digits in size', status: 400, code: 'invalid_size', run: () => oPostJson(oBody({ size: '١٢٨٠x٧٢٠' })) });
add('openai create: unicode', { surface: 'openai', name: 'latin-1 Idempotency-Key', status: 400, code: 'invalid_idempotency_key', run: () => oPostJson(oBody(), 'broke', { 'idempotency-key': 'clé' }) });
add('openai create: unicode', { surface: 'openai', name: 'Idempotency-Key of 256 characters', status: 400, code: 'invalid_idempotency_key', run: () => oPostJson(oBody(), 'broke', { 'idempotency-key': 'k'.repeat(256) }) });

// -- O3. bad image strings in input_reference and input_reference.image_url ------------
for (const [name, value] of badImageStrings) {
  add('openai create: bad image strings', { surface: 'openai', name: `input_reference: ${name}`, status: 400, code: 'invalid_image', run: () => oPostJson(oBody({ input_reference: value(img) })) });
  add('openai create: bad image strings', { surface: 'openai', name: `input_reference.image_url: ${name}`, status: 400, code: 'invalid_image', run: () => oPostJson(oBody({ input_reference: { image_url: value(img) } })) });
}

// -- O4. input_reference files judged by content ------------------------------------------
const oAccepted: [string, () => FormData][] = [
  ['PNG named evil.gif, sent as image/gif', () => withFile(oForm(), img.png, 'input_reference', 'image/gif', 'evil.gif')],
  ['JPEG named setup.exe, application/octet-stream', () => withFile(oForm(), img.jpeg, 'input_reference', 'application/octet-stream', 'setup.exe')],
  ['WebP named index.html, text/html (portrait size)', () => withFile(oForm({ size: '720x1280' }), img.webp, 'input_reference', 'text/html', 'index.html')],
  ['PNG with a traversal filename', () => withFile(oForm(), img.png, 'input_reference', 'image/png', '../../../../etc/passwd')],
  ['PNG with an RTL-override filename', () => withFile(oForm(), img.png, 'input_reference', 'image/png', 'photo\u202egnp.exe')],
  ['polyglot: PNG with a ZIP appended', () => withFile(oForm(), Buffer.concat([img.png, img.zip]))],
  ['polyglot: JPEG with HTML appended', () => withFile(oForm(), Buffer.concat([img.jpeg, img.html]), 'input_reference', 'image/jpeg')],
  ['sora-2 alias with OpenAI defaults (portrait, 4 s)', () => { const fd = new FormData(); fd.append('model', 'sora-2'); fd.append('prompt', 'p'); return withFile(fd, img.webp, 'input_reference', 'image/webp', 'a.webp'); }],
];
for (const [name, form] of oAccepted) add('openai create: images by content (accepted)', { surface: 'openai', name, status: 402, code: 'insufficient_credits', run: () => oPostForm(form(), 'broke') });
for (const [name, bytes, mime] of refusedImages) {
  add('openai create: images by content (refused)', { surface: 'openai', name: `file: ${name}`, status: 400, code: 'invalid_image', run: () => oPostForm(withFile(oForm(), bytes(img), 'input_reference', mime ?? 'image/png'), 'broke') });
}
add('openai create: images by content (refused)', { surface: 'openai', name: 'empty file', status: 400, code: 'invalid_image', run: () => oPostForm(withFile(oForm(), Buffer.alloc(0)), 'broke') });

// -- O5. multipart abuse -------------------------------------------------------------
const oMultipart: [string, () => Promise<Response>, number, string | string[]][] = [
  ['60 text parts (limit 50 parts)', () => { const fd = oForm(); for (let i = 0; i < 56; i++) fd.append(`f${i}`, 'v'); return oPostForm(fd); }, 400, 'too_many_parts'],
  ['10 input_reference files (limit 9 files)', () => { const fd = oForm(); for (let i = 0; i < 10; i++) withFile(fd, img.png); return oPostForm(fd); }, 400, 'too_many_parts'],
  ['an input_reference file over 20 MB', () => oPostForm(withFile(oForm(), Buffer.concat([img.png, Buffer.alloc(21 * MB)]))), 413, 'body_too_large'],
  ['a prompt part over 20 MB', () => oPostForm(withFile(oForm({ prompt: 'x'.repeat(21 * MB) }), img.png)), 413, 'body_too_large'],
  ['two input_reference files', () => oPostForm(withFile(withFile(oForm(), img.png), img.png)), 400, 'invalid_images'],
  ['an input_reference file and input_reference[image_url]', () => { const fd = withFile(oForm(), img.png); fd.append('input_reference[image_url]', dataUri(img.png)); return oPostForm(fd); }, 400, 'invalid_images'],
  ['input_reference[file_id] text part', () => { const fd = oForm(); fd.append('input_reference[file_id]', 'file_1'); return oPostForm(fd); }, 400, 'unsupported_field'],
  ['input_reference[image_url] text part with garbage', () => { const fd = oForm(); fd.append('input_reference[image_url]', '!!!!'); return oPostForm(fd); }, 400, 'invalid_image'],
  ['input_reference text part with binary garbage', () => { const fd = oForm(); fd.append('input_reference', '\u0000\u0001\u00ff garbage'); return oPostForm(fd); }, 400, 'invalid_image'],
  ['file part without a filename (becomes text, not an image)', () => rawForm([{ headers: partHeaders('prompt'), body: 'p' }, { headers: `${partHeaders('model')}`, body: V3F }, { headers: `${partHeaders('input_reference')}\r\nContent-Type: image/png`, body: img.png }]), 400, 'invalid_image'],
  ['no boundary parameter', () => oPostRaw('xx', 'multipart/form-data'), 400, 'invalid_multipart'],
  ['truncated body (no closing boundary)', () => oPostRaw(`--b\r\n${partHeaders('prompt')}\r\n\r\np`, 'multipart/form-data; boundary=b'), 400, 'invalid_multipart'],
  ['boundary that never appears', () => oPostRaw(multipartBody([{ headers: partHeaders('prompt'), body: 'p' }]).body, 'multipart/form-data; boundary=nothere'), 400, 'invalid_multipart'],
  ['only the closing boundary', () => oPostRaw('--b--\r\n', 'multipart/form-data; boundary=b'), 400, ['missing_prompt', 'missing_images']],
  ['5000 part headers', () => rawForm([{ headers: `${partHeaders('prompt')}\r\n${'X-A: b\r\n'.repeat(5000)}`, body: 'p' }]), 400, ['missing_images', 'invalid_multipart']],
  ['seconds part empty', () => oPostForm(withFile(oForm({ seconds: '' }), img.png)), 400, 'invalid_seconds'],
  ['seconds part "four"', () => oPostForm(withFile(oForm({ seconds: 'four' }), img.png)), 400, 'invalid_seconds'],
  ['size part "1280*720"', () => oPostForm(withFile(oForm({ size: '1280*720' }), img.png)), 400, 'invalid_size'],
  ['seed part "1e3"', () => oPostForm(withFile(oForm({ seed: '1e3' }), img.png)), 400, 'invalid_seed'],
  ['model part repeated, last one unknown', () => { const fd = oForm(); fd.append('model', 'sora-9'); return oPostForm(withFile(fd, img.png)); }, 400, 'invalid_model'],
  ['file part named __proto__', () => oPostForm(withFile(oForm(), img.png, '__proto__')), 400, ['invalid_request', 'unexpected_file']],
  ['text part named constructor', () => rawForm([{ headers: partHeaders('constructor'), body: 'x' }]), 400, ['invalid_request', 'missing_prompt', 'missing_images']],
];
for (const [name, run, status, code] of oMultipart) add('openai create: multipart', { surface: 'openai', name, run, status: status === 400 ? [400, 403] : status, code });
for (const field of ['input-reference', 'inputReference', 'image', 'file', 'input_reference[]', 'input_reference[file]', 'Input_Reference', 'reference', 'video']) {
  add('openai create: multipart', { surface: 'openai', name: `file part under a wrong name: ${field}`, status: 400, code: 'unexpected_file', run: () => oPostForm(withFile(oForm(), img.png, field)) });
}

// -- O6. JSON framing and content types -----------------------------------------------
const oFraming: [string, () => string | Buffer, string?][] = [
  ['100 000 nested arrays', () => nested('[', ']', DEPTH), 'invalid_body'],
  ['100 000 nested objects', () => nested('{"a":', '}', DEPTH, '1'), 'missing_prompt'],
  ['100 000 nested arrays in prompt', () => `{"prompt":${nested('[', ']', DEPTH)}}`, 'invalid_prompt'],
  ['100 000 nested objects in input_reference', () => JSON.stringify(oBody({ input_reference: 'X' })).replace('"X"', nested('{"image_url":', '}', DEPTH, '1')), 'invalid_image'],
  ['1 000 000 unclosed brackets', () => '['.repeat(1_000_000), 'invalid_json'],
  ['__proto__ pollution attempt', () => '{"__proto__":{"isAdmin":true},"prompt":"p"}', 'forbidden_json_key'],
  ['duplicate keys: second prompt blank', () => JSON.stringify(oBody()).replace(/}$/, ',"prompt":"  "}'), 'invalid_prompt'],
  ['duplicate keys: second seconds unsupported', () => JSON.stringify(oBody()).replace(/}$/, ',"seconds":"12"}'), 'invalid_seconds'],
  ['trailing garbage', () => `${JSON.stringify(oBody())}garbage`, 'invalid_json'],
  ['single quotes', () => "{'prompt':'p'}", 'invalid_json'],
  ['whitespace only', () => '   \n ', 'invalid_json'],
  ['JSON true', () => 'true', 'invalid_body'], ['JSON array', () => '[]', 'invalid_body'], ['JSON string', () => '"hello"', 'invalid_body'],
  ['JSON null', () => 'null', 'invalid_body'],
];
for (const [name, payload, code] of oFraming) add('openai create: JSON framing', { surface: 'openai', name, status: 400, ...(code ? { code } : {}), run: () => oPostRaw(payload()) });
const oContentTypes: [string, string | null, () => string | Buffer, number, string][] = [
  ['text/plain', 'text/plain', () => JSON.stringify(oBody()), 415, 'unsupported_media_type'],
  ['no content type', null, () => JSON.stringify(oBody()), 415, 'unsupported_media_type'],
  ['application/xml', 'application/xml', () => '<prompt>p</prompt>', 415, 'unsupported_media_type'],
  ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded', () => 'prompt=p&model=sora-2', 415, 'unsupported_media_type'],
  ['image/png body', 'image/png', () => img.png, 415, 'unsupported_media_type'],
  ['application/octet-stream', 'application/octet-stream', () => img.png, 415, 'unsupported_media_type'],
  ['multipart/mixed', 'multipart/mixed; boundary=x', () => '--x--\r\n', 415, 'unsupported_media_type'],
  ['application/json; charset=utf-16 with UTF-16 bytes', 'application/json; charset=utf-16', () => Buffer.from(`\ufeff${JSON.stringify(oBody())}`, 'utf16le'), 400, 'invalid_json'],
];
for (const [name, ct, payload, status, code] of oContentTypes) add('openai create: content types', { surface: 'openai', name, status, code, run: () => oPostRaw(payload(), ct) });

// == OpenAI retrieve, delete, content, list ===========================================

const videoEndpoints: [string, string, (id: string) => string][] = [
  ['retrieve', 'GET', (id) => `${VIDEOS}/${id}`], ['delete', 'DELETE', (id) => `${VIDEOS}/${id}`], ['content', 'GET', (id) => `${VIDEOS}/${id}/content`],
];
for (const [ep, method, path] of videoEndpoints) {
  for (const [name, id] of hostileIds) add(`openai ${ep}: ids`, { surface: 'openai', name, status: [400, 404, 414], run: () => send({ surface: 'openai', method, path: path(id) }) });
  add(`openai ${ep}: ids`, { surface: 'openai', name: "another key's video", status: 404, code: 'task_not_found', run: () => send({ surface: 'openai', method, path: path(k.otherTask) }) });
  add(`openai ${ep}: ids`, { surface: 'openai', name: 'unknown video', status: 404, code: 'task_not_found', run: () => send({ surface: 'openai', method, path: path('video_00000000000000000000000000000000') }) });
}
add('openai delete: ids', { surface: 'openai', name: "another key's video with a JSON nesting bomb body", status: [400, 404], run: () => send({ surface: 'openai', method: 'DELETE', path: `${VIDEOS}/${k.otherTask}`, contentType: 'application/json', headers: { 'content-length': String(2 * DEPTH) }, body: nested('[', ']', DEPTH) }) });
const contentQueries: [string, () => string, number, string][] = [
  ['own video not finished yet', () => '', 409, 'task_not_succeeded'],
  ['variant=spritesheet (not available)', () => '?variant=spritesheet', 400, 'unsupported_variant'],
  ['variant=VIDEO', () => '?variant=VIDEO', 400, 'invalid_variant'], ['variant=', () => '?variant=', 400, 'invalid_variant'],
  ['variant repeated', () => '?variant=video&variant=thumbnail', 400, 'invalid_variant'], ['variant with NUL', () => '?variant=thumbnail%00', 400, 'invalid_variant'],
  ['variant traversal', () => '?variant=../../etc/passwd', 400, 'invalid_variant'], ['variant of 10 000 characters', () => `?variant=${'v'.repeat(10_000)}`, 400, 'invalid_variant'],
];
for (const [name, q, status, code] of contentQueries) add('openai content: variants', { surface: 'openai', name, status, code, run: () => send({ surface: 'openai', path: `${VIDEOS}/${k.ownTask}/content${q()}` }) });

const listQueries: [string, () => string, string][] = [
  ['limit=-1', () => 'limit=-1', 'invalid_limit'], ['limit=0', () => 'limit=0', 'invalid_limit'], ['limit=101', () => 'limit=101', 'invalid_limit'],
  ['limit=abc', () => 'limit=abc', 'invalid_limit'], ['limit=', () => 'limit=', 'invalid_limit'], ['limit=1.5', () => 'limit=1.5', 'invalid_limit'],
  ['limit repeated', () => 'limit=1&limit=2', 'invalid_limit'], ['limit=%00', () => 'limit=%00', 'invalid_limit'], ['limit=NaN', () => 'limit=NaN', 'invalid_limit'],
  ['limit=Infinity', () => 'limit=Infinity', 'invalid_limit'], ['limit of 400 digits', () => `limit=${'9'.repeat(400)}`, 'invalid_limit'],
  ['order=sideways', () => 'order=sideways', 'invalid_order'], ['order=ASC', () => 'order=ASC', 'invalid_order'], ['order=', () => 'order=', 'invalid_order'],
  ['order repeated', () => 'order=asc&order=desc', 'invalid_order'], ['order=desc%00', () => 'order=desc%00', 'invalid_order'],
  ['after=garbage', () => 'after=garbage', 'invalid_after'], ['after=garbage&order=asc', () => 'after=garbage&order=asc', 'invalid_after'],
  ["after=another key's video", () => `after=${k.otherTask}`, 'invalid_after'], ["after=another key's video&order=asc", () => `after=${k.otherTask}&order=asc`, 'invalid_after'],
  ['after of 101 characters', () => `after=${'a'.repeat(101)}`, 'invalid_after'], ['after=', () => 'after=', 'invalid_after'],
  ['after repeated', () => `after=${k.ownTask}&after=${k.ownTask}`, 'invalid_after'],
  ['after traversal', () => 'after=..%2F..%2Fetc%2Fpasswd', 'invalid_after'], ['after unicode', () => `after=${encodeURIComponent('🎬\u202e')}`, 'invalid_after'],
  ["after=' OR '1'='1", () => `after=${encodeURIComponent("' OR '1'='1")}`, 'invalid_after'],
];
for (const [name, q, code] of listQueries) add('openai list: query', { surface: 'openai', name, status: 400, code, run: () => send({ surface: 'openai', path: `${VIDEOS}?${q()}` }) });

// == Authentication on every compat endpoint =========================================

const googleEndpoints: [Surface, string, string, () => string][] = [
  ['gemini', 'create', 'POST', () => gemini()], ['gemini', 'operation', 'GET', () => geminiOp(k.ownTask)],
  ['gemini', 'download', 'GET', () => geminiFile(hex(k.ownTask))],
  ['vertex', 'create (express)', 'POST', () => vertexPaths[0]!()], ['vertex', 'create (project)', 'POST', () => vertexPaths[1]!()],
  ['vertex', 'fetchPredictOperation', 'POST', () => vertexPaths[0]!(V3F, 'fetchPredictOperation')],
];
const googleBadAuth: [string, () => Auth][] = [
  ['no key at all', () => 'none'], ['x-goog-api-key empty', () => ({ headers: { 'x-goog-api-key': '' } })],
  ['x-goog-api-key of spaces', () => ({ headers: { 'x-goog-api-key': '   ' } })], ['unknown key', () => ({ headers: { 'x-goog-api-key': `rly_${'Z'.repeat(40)}` } })],
  ['revoked key', () => 'revoked'], ['10 KB key', () => ({ headers: { 'x-goog-api-key': 'x'.repeat(10_000) } })],
  ['two keys in one header', () => ({ headers: { 'x-goog-api-key': `${k.key}, ${k.key}` } })], ['key with a latin-1 suffix', () => ({ headers: { 'x-goog-api-key': `${k.key}é` } })],
  ['"Bearer <key>" in x-goog-api-key', () => ({ headers: { 'x-goog-api-key': `Bearer ${k.key}` } })],
  ['Authorization: Bearer with no token', () => ({ headers: { authorization: 'Bearer' } })],
  ['Authorization: Bearer with spaces inside the token', () => ({ headers: { authorization: `Bearer ${k.key.slice(0, 8)} ${k.key.slice(8)}` } })],
  ['Authorization: Basic', () => ({ headers: { authorization: `Basic ${Buffer.from(`${k.key}:`).toString('base64')}` } })],
];
for (const [surface, ep, method, path] of googleEndpoints) {
  for (const [name, auth] of googleBadAuth) {
    add(`auth: ${surface} ${ep}`, {
      surface, name, status: 401, code: 'invalid_api_key',
      run: () => send({ surface, method, path: path(), auth: auth(), ...(method === 'POST' ? { contentType: 'application/json', body: JSON.stringify(ep === 'fetchPredictOperation' ? { operationName: opName(k.ownTask) } : gBody()) } : {}) }),
    });
  }
}
const openaiEndpoints: [string, string, () => string][] = [
  ['create', 'POST', () => VIDEOS], ['list', 'GET', () => VIDEOS], ['retrieve', 'GET', () => `${VIDEOS}/${k.ownTask}`],
  ['delete', 'DELETE', () => `${VIDEOS}/${k.ownTask}`], ['content', 'GET', () => `${VIDEOS}/${k.ownTask}/content`],
];
const openaiBadAuth: [string, () => Auth][] = [
  ['no Authorization', () => 'none'], ['Bearer with no token', () => ({ headers: { authorization: 'Bearer' } })],
  ['Bearer and spaces only', () => ({ headers: { authorization: 'Bearer    ' } })],
  ['Bearer with spaces inside the token', () => ({ headers: { authorization: `Bearer ${k.key.slice(0, 8)} ${k.key.slice(8)}` } })],
  ['two tokens', () => ({ headers: { authorization: `Bearer ${k.key} ${k.key}` } })], ['unknown key', () => ({ headers: { authorization: `Bearer rly_${'Z'.repeat(40)}` } })],
  ['revoked key', () => 'revoked'], ['10 KB token', () => ({ headers: { authorization: `Bearer ${'x'.repeat(10_000)}` } })],
  ['key with a latin-1 suffix', () => ({ headers: { authorization: `Bearer ${k.key}é` } })], ['Basic scheme', () => ({ headers: { authorization: 'Basic dXNlcjpwYXNz' } })],
  ['Token scheme (Vidu style)', () => ({ headers: { authorization: `Token ${k.key}` } })], ['only x-goog-api-key (the Google header)', () => ({ headers: { 'x-goog-api-key': k.key } })],
];
for (const [ep, method, path] of openaiEndpoints) {
  for (const [name, auth] of openaiBadAuth) {
    add(`auth: openai ${ep}`, {
      surface: 'openai', name, status: 401, code: 'invalid_api_key',
      run: () => send({ surface: 'openai', method, path: path(), auth: auth(), ...(method === 'POST' ? { contentType: 'application/json', body: JSON.stringify(oBody()) } : {}) }),
    });
  }
}

// == Unknown routes and methods on each surface ==========================================

const routes: [Surface, string, () => string][] = [
  ['gemini', 'GET', () => gemini()], ['gemini', 'PUT', () => gemini()], ['gemini', 'POST', () => `/v1beta/models/${V3F}:generateContent`],
  ['gemini', 'POST', () => `/v1beta/models/${V3F}:predict`], ['gemini', 'POST', () => `/v1beta/tunedModels/${V3F}:predictLongRunning`],
  ['gemini', 'GET', () => `/v1beta/models/${V3F}/operations`], ['gemini', 'DELETE', () => geminiOp(k.ownTask)],
  ['gemini', 'POST', () => geminiOp(k.ownTask)], ['gemini', 'POST', () => geminiFile(hex(k.ownTask))],
  ['vertex', 'GET', () => vertexPaths[0]!()], ['vertex', 'GET', () => vertexPaths[1]!()],
  ['vertex', 'POST', () => vertexPaths[0]!(V3F, 'predict')], ['vertex', 'POST', () => vertexPaths[1]!(V3F, 'generateContent')],
  ['vertex', 'POST', () => `/v1beta1/publishers/openai/models/${V3F}:predictLongRunning`],
  ['vertex', 'GET', () => `/v1beta1/publishers/google/models/${V3F}/operations/${k.ownTask}`],
  ['vertex', 'POST', () => `/v1/projects/p1/publishers/google/models/${V3F}:predictLongRunning`],
  ['openai', 'PUT', () => VIDEOS], ['openai', 'PATCH', () => `${VIDEOS}/${k.ownTask}`], ['openai', 'POST', () => `${VIDEOS}/${k.ownTask}`],
  ['openai', 'POST', () => `${VIDEOS}/${k.ownTask}/remix`], ['openai', 'GET', () => `${VIDEOS}/${k.ownTask}/content/extra`],
  ['openai', 'DELETE', () => VIDEOS], ['openai', 'POST', () => `${VIDEOS}/edits`],
];
for (const [surface, method, path] of routes) {
  add(`routes: ${surface}`, { surface, name: `${method} ${path().slice(0, 80)}`, status: 404, code: 'route_not_found', run: () => send({ surface, method, path: path(), ...(method === 'POST' || method === 'PUT' ? { contentType: 'application/json', body: '{}' } : {}) }) });
}

// ---------------------------------------------------------------------------

describe('hardening corpus: hostile input on the SDK-compatibility surfaces', () => {
  let before: { tasks: number; ledger: unknown[]; files: string[] };

  beforeAll(async () => {
    Object.assign(img, await makeHostileImages());
    s = await startServer({ REELAY_ROLE: 'api', REELAY_ALLOW_PRIVATE_URLS: '0' }, {
      // No real DNS: every name is "private", so an image URL is refused before any connection.
      lookup: async () => [{ address: '10.0.0.1', family: 4 }],
    });
    k.key = s.key;
    k.broke = (await s.app.keys.create('broke')).key;
    const revoked = await s.app.keys.create('revoked');
    await s.app.keys.revoke(revoked.id);
    k.revoked = revoked.key;
    k.other = await s.newKey('other');
    // One queued task per key (no worker in the api role): ours, and another key's to aim at.
    const submit = async (key: string) => {
      const res = await s.api('/v1/video/generations', {
        method: 'POST', headers: { authorization: `Bearer ${key}` },
        json: { model: V3F, prompt: 'p', aspect_ratio: '16:9', seconds: 4, images: [dataUri(img.png)] },
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { id: string }).id;
    };
    k.ownTask = await submit(k.key);
    k.otherTask = await submit(k.other);
    before = { tasks: await countTasks(s), ledger: await ledgerEntries(s), files: await blobFiles(s.dataDir) };
  });
  afterAll(async () => { await s?.close(); });

  it(`has at least 150 generated cases (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(150);
  });

  const inSurfaceEnvelope = async (c: Case) => {
    const res = await c.run();
    const want = { label: c.name, ...(c.status !== undefined ? { status: c.status } : {}), ...(c.code !== undefined ? { code: c.code } : {}) };
    const e = c.surface === 'openai' ? await expectErrorEnvelope(res, want) : await expectGoogleErrorEnvelope(res, want);
    c.check?.(e);
  };

  for (const c of cases) {
    it(`[${c.group}] ${c.name}`, () => inSurfaceEnvelope(c));
  }

  it('left nothing behind: the same tasks, ledger and files as before the corpus', async () => {
    expect(before.tasks).toBe(2);
    expect(await countTasks(s)).toBe(before.tasks);
    expect(await ledgerEntries(s)).toEqual(before.ledger);
    expect(await blobFiles(s.dataDir)).toEqual(before.files);
    // Nothing was cancelled or deleted by a hostile delete, on either key.
    for (const [id, key] of [[k.ownTask, k.key], [k.otherTask, k.other]] as const) {
      const t = (await (await s.api(`/v1/video/generations/${id}`, { headers: { authorization: `Bearer ${key}` } })).json()) as { status: string };
      expect(t.status).toBe('queued');
    }
  });

  it('still serves every surface normally afterwards', async () => {
    expect((await s.api(`${VIDEOS}?limit=5`)).status).toBe(200);
    expect((await s.api(`${VIDEOS}/${k.ownTask}`)).status).toBe(200);
    expect((await fetch(`${s.base}${geminiOp(k.ownTask)}`, { headers: { 'x-goog-api-key': s.key } })).status).toBe(200);
    const vx = await fetch(`${s.base}${vertexPaths[0]!(V3F, 'fetchPredictOperation')}`, {
      method: 'POST', headers: { 'x-goog-api-key': s.key, 'content-type': 'application/json' }, body: JSON.stringify({ operationName: opName(k.ownTask) }),
    });
    expect(vx.status).toBe(200);
  });
});
