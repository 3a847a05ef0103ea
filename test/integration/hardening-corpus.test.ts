/**
 * Issue #10, part 1: a generated corpus of hostile requests over every
 * endpoint. Each case must answer a 4xx in the §10 envelope (never a 5xx),
 * and after the whole corpus the server must hold no task, no ledger entry
 * but the test key's grant, and no input file.
 *
 * Images that are valid by content (whatever name or MIME type they were
 * sent with) are sent with a key that has no credits: they pass every image
 * check, the task insert runs and is rolled back, and the answer is 402
 * insufficient_credits — acceptance, proven without creating anything.
 *
 * No case has a time limit (issue 18: a duration bound fails under load). The
 * pathological payloads (100 000 keys, nesting bombs, 100 000 image items) are
 * guarded by their outcome: the code shows which limit answered (depth → not a
 * stack overflow's 500; count → before any item was decoded); a parser that hung
 * would fail on the suite's timeout; how fast they are is for bench/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.ts';
import {
  countTasks, encodeForm, expectErrorEnvelope, inputFiles, keyIdOf, ledgerEntries, multipartBody, rawRequest, type RawRequest,
} from '../helpers/hostile.ts';
import {
  badImageStrings, DEPTH, hostileIds, makeHostileImages, MB, nested, refusedImages, unicodeLiterals, type HostileImages,
} from '../helpers/hostile-inputs.ts';
import { linkSigner } from '../../src/infra/blob/signed-links.ts';

const S = '/v1/video/generations';
const V2 = 'veo-2.0-generate-001';
const V3F = 'veo-3.0-fast-generate-001';
const ADMIN_TOKEN = 'hardening-admin-token-0123456789';
const SIGNING_SECRET = 'hardening-signing-secret-0123456789abcdef';

// ---------------------------------------------------------------------------
// Fixtures, filled in beforeAll (cases read them lazily, when they run)

const k = { key: '', broke: '', revoked: '' };
let s: TestServer;
const img = {} as HostileImages;

async function makeFixtures() {
  Object.assign(img, await makeHostileImages());
}

// ---------------------------------------------------------------------------
// Request builders

type Auth = 'key' | 'broke' | 'none' | { header: string };
interface Send { method?: string; path: string; auth?: Auth; headers?: Record<string, string>; body?: string | Buffer; contentType?: string }

function send(r: Send): Promise<Response> {
  const headers: Record<string, string> = { ...r.headers };
  const auth = r.auth ?? 'key';
  if (auth === 'key') headers.authorization = `Bearer ${k.key}`;
  else if (auth === 'broke') headers.authorization = `Bearer ${k.broke}`;
  else if (auth !== 'none') headers.authorization = auth.header;
  if (r.contentType !== undefined) headers['content-type'] = r.contentType;
  const req: RawRequest = { method: r.method ?? 'GET', path: r.path, headers, ...(r.body !== undefined ? { body: r.body } : {}) };
  return rawRequest(s.base, req);
}

type Json = Record<string, unknown>;
const dataUri = (b: Buffer, mime: string) => `data:${mime};base64,${b.toString('base64')}`;
/** A valid submit (Veo 2, cheapest) with overrides; `undefined` removes a field. */
function body(over: Json = {}): Json {
  const b: Json = { model: V2, prompt: 'a slow push in', aspect_ratio: '16:9', images: [dataUri(img.png, 'image/png')], ...over };
  for (const [key, v] of Object.entries(over)) if (v === undefined) delete b[key];
  return b;
}
const postJson = (payload: unknown, auth: Auth = 'key', headers: Record<string, string> = {}): Promise<Response> =>
  send({ method: 'POST', path: S, auth, headers, contentType: 'application/json', body: JSON.stringify(payload) });
const postRaw = (raw: string | Buffer, contentType = 'application/json', auth: Auth = 'key'): Promise<Response> =>
  send({ method: 'POST', path: S, auth, contentType, body: raw });
async function postForm(fd: FormData, auth: Auth = 'key'): Promise<Response> {
  const { body: b, contentType } = await encodeForm(fd);
  return send({ method: 'POST', path: S, auth, contentType, body: b });
}
function textParts(over: Record<string, string> = {}): FormData {
  const fd = new FormData();
  for (const [name, v] of Object.entries({ model: V2, prompt: 'a slow push in', aspect_ratio: '16:9', ...over })) fd.append(name, v);
  return fd;
}
const fileBlob = (b: Buffer, type = 'image/png') => new Blob([new Uint8Array(b)], { type });
const partHeaders = (name: string, extra = '') => `Content-Disposition: form-data; name="${name}"${extra}`;
const textPartsRaw = () => [
  { headers: partHeaders('model'), body: V2 }, { headers: partHeaders('prompt'), body: 'a slow push in' }, { headers: partHeaders('aspect_ratio'), body: '16:9' },
];

// ---------------------------------------------------------------------------
// The corpus

interface Case {
  group: string;
  name: string;
  run: () => Promise<Response>;
  status?: number | number[];
  code?: string | string[];
  /** Connection-level answers (431, 408) come before a request id exists. */
  noRequestId?: boolean;
  check?: (e: { error: { message: string } }) => void;
}
const cases: Case[] = [];
const add = (group: string, c: Omit<Case, 'group'>) => cases.push({ group, ...c });

// -- 1. every submit field with every wrong JSON type --------------------------
const wrongTypes: Record<string, { field: string; values: unknown[] }[]> = {
  string: ['model', 'prompt', 'aspect_ratio', 'size', 'negative_prompt', 'audio_type', 'voice_id', 'callback_url']
    .map((field) => ({ field, values: [42, true, [], {}, ['x']] })),
  boolean: ['generate_audio', 'audio', 'off_peak', 'is_rec'].map((field) => ({ field, values: [1, 0, 'true', [], {}] })),
  integer: [{ field: 'seed', values: ['42', true, 1.5, [], {}, -1, 4294967296] }],
  seconds: ['seconds', 'duration'].map((field) => ({ field, values: [true, [], {}, 'abc', 4.5, '', ' ', '8.0'] })),
  images: [{ field: 'images', values: ['x', 1, {}, true, [1], [null], [[]], [{}], [], 'A VALID IMAGE, THEN 7'] }],
};
for (const [kind, fields] of Object.entries(wrongTypes)) {
  for (const { field, values } of fields) {
    for (const v of values) {
      const code = field === 'images' ? 'invalid_images' : `invalid_${field}`;
      // The fixtures do not exist yet at collection time: build that one value when the case runs.
      const value = () => (v === 'A VALID IMAGE, THEN 7' ? [dataUri(img.png, 'image/png'), 7] : v);
      add('submit: wrong types', {
        name: `${field} (${kind}) = ${JSON.stringify(v).slice(0, 30)}`,
        run: () => postJson(body({ [field]: value() })), status: 400, code,
      });
    }
  }
}

// -- 2. missing and extra fields ---------------------------------------------
/** The message does not echo what it refuses (a 1 MB value, 100 000 keys). */
const bounded = (e: { error: { message: string } }) => expect(e.error.message.length).toBeLessThan(2000);
for (const field of ['model', 'prompt', 'images']) {
  add('submit: missing fields', { name: `without ${field}`, run: () => postJson(body({ [field]: undefined })), status: 400, code: `missing_${field}` });
  add('submit: missing fields', { name: `${field}: null`, run: () => postJson(body({ [field]: null })), status: 400, code: `missing_${field}` });
}
// aspect_ratio may be omitted (it then comes from the start image), but not together with the image.
add('submit: missing fields', { name: 'without aspect_ratio and images', run: () => postJson(body({ aspect_ratio: undefined, images: undefined })), status: 400, code: 'missing_images' });
add('submit: missing fields', { name: 'without aspect_ratio, a bad seconds', run: () => postJson(body({ aspect_ratio: null, seconds: 99 })), status: 400, code: 'invalid_seconds' });
add('submit: missing fields', { name: 'empty object', run: () => postJson({}), status: 400, code: 'missing_model' });
add('submit: extra fields', { name: '100 000 unknown keys and no model', run: () => postJson(Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]))), status: 400, code: 'missing_model', check: bounded });
add('submit: extra fields', { name: 'a 1 MB key name', run: () => postJson({ ['k'.repeat(MB)]: 1, prompt: 'x' }), status: 400, code: 'missing_model' });
add('submit: extra fields', { name: 'extra fields do not rescue a bad one', run: () => postJson(body({ n_frames: 99, model_id: V2, seconds: 99 })), status: 400, code: 'invalid_seconds' });

// -- 3. huge strings: refused, and the message does not echo them ------------------
for (const [field, code] of [['prompt', 'invalid_prompt'], ['negative_prompt', 'invalid_negative_prompt'], ['model', 'invalid_model'],
  ['aspect_ratio', 'invalid_aspect_ratio'], ['size', 'invalid_size'], ['callback_url', 'invalid_callback_url'], ['seconds', 'invalid_seconds']] as const) {
  add('submit: huge strings', { name: `1 MB ${field}`, run: () => postJson(body({ [field]: 'x'.repeat(MB) })), status: 400, code, check: bounded });
}
add('submit: huge strings', { name: '5001 emoji prompt', run: () => postJson(body({ prompt: '🎬'.repeat(5001) })), status: 400, code: 'invalid_prompt' });
add('submit: huge strings', { name: '1 MB URL in images', run: () => postJson(body({ images: [`https://img.test/${'a'.repeat(MB)}`] })), status: 400, check: bounded });
// Refused by its count, before any of the 100 000 items is decoded or fetched: the message is the count rule's.
add('submit: huge strings', {
  name: '100 000 image items', run: () => postJson(body({ images: Array(100_000).fill('aaaa') })), status: 400, code: 'invalid_images',
  check: (e) => expect(e.error.message).toMatch(/takes one image .*got 100000/),
});
add('submit: huge strings', { name: 'body over 20 MB', run: () => postRaw(`{"prompt":"${' '.repeat(21 * MB)}"}`), status: 413, code: 'body_too_large' });

// -- 4. unicode edge cases ------------------------------------------------------
// Prompts that pass every rule: the insert runs and rolls back (402), proving the
// whole path handles them; escapes are written by hand so lone surrogates survive.
for (const [name, literal] of unicodeLiterals) {
  add('submit: unicode', {
    name: `prompt with ${name} is accepted by the rules (no credits → 402)`,
    run: () => postRaw(JSON.stringify(body()).replace('"a slow push in"', literal), 'application/json', 'broke'), status: 402, code: 'insufficient_credits',
  });
  add('submit: unicode', {
    name: `negative_prompt with ${name} (no credits → 402)`,
    run: () => postRaw(JSON.stringify(body({ negative_prompt: 'NP' })).replace('"NP"', literal), 'application/json', 'broke'), status: 402, code: 'insufficient_credits',
  });
}
add('submit: unicode', { name: 'BOM-only prompt is blank', run: () => postJson(body({ prompt: '\ufeff  \u3000' })), status: 400, code: 'invalid_prompt' });
add('submit: unicode', { name: 'lone surrogate in model', run: () => postRaw(JSON.stringify(body()).replace(`"${V2}"`, '"veo\\ud800"')), status: 400, code: 'invalid_model' });
add('submit: unicode', { name: 'NUL-suffixed model id', run: () => postJson(body({ model: `${V2}\u0000` })), status: 400, code: 'invalid_model' });
add('submit: unicode', { name: 'RTL override in model id', run: () => postJson(body({ model: `\u202e${V2}` })), status: 400, code: 'invalid_model' });
add('submit: unicode', { name: 'fullwidth aspect ratio １６:９', run: () => postJson(body({ aspect_ratio: '１６:９' })), status: 400, code: 'invalid_aspect_ratio' });
add('submit: unicode', { name: 'Arabic-Indic digits in size', run: () => postJson(body({ size: '١٢٨٠x٧٢٠' })), status: 400, code: 'invalid_size' });
add('submit: unicode', { name: 'combining mark in size', run: () => postJson(body({ size: '720p\u0301' })), status: 400, code: 'invalid_size' });
add('submit: unicode', { name: 'emoji in audio_type', run: () => postJson(body({ audio_type: '🔊' })), status: 400, code: 'invalid_audio_type' });
add('submit: unicode', { name: 'IDN homograph callback_url (Cyrillic а) over http', run: () => postJson(body({ callback_url: 'http://exаmple.com/hook' })), status: 400, code: 'invalid_callback_url' });
add('submit: unicode', { name: 'latin-1 Idempotency-Key', run: () => postJson(body(), 'broke', { 'idempotency-key': 'clé' }), status: 400, code: 'invalid_idempotency_key' });
add('submit: unicode', { name: 'Idempotency-Key of 256 characters', run: () => postJson(body(), 'broke', { 'idempotency-key': 'k'.repeat(256) }), status: 400, code: 'invalid_idempotency_key' });
add('submit: unicode', { name: 'invalid UTF-8 bytes in model', run: () => { const [head, tail] = JSON.stringify(body()).split(V2); return postRaw(Buffer.concat([Buffer.from(head!), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(tail!)])); }, status: 400, code: 'invalid_model' });

// -- 5. invalid base64 and image-string syntax --------------------------------------
for (const [name, value] of badImageStrings) {
  add('submit: bad image strings', { name, run: () => postJson(body({ images: [value(img)] })), status: 400, code: 'invalid_image' });
}

// -- 6. images judged by content: lying names/MIME accepted (402), non-images refused ------
const accepted: [string, () => Promise<Response>][] = [
  ['PNG in a data URI declared image/jpeg', () => postJson(body({ images: [dataUri(img.png, 'image/jpeg')] }), 'broke')],
  ['JPEG in a data URI declared image/png', () => postJson(body({ images: [dataUri(img.jpeg, 'image/png')] }), 'broke')],
  ['WebP in a data URI declared image/gif', () => postJson(body({ images: [dataUri(img.webp, 'image/gif')], aspect_ratio: '9:16' }), 'broke')],
  ['PNG as URL-safe base64 with line breaks', () => postJson(body({ images: [img.png.toString('base64url').replace(/(.{60})/g, '$1\n')] }), 'broke')],
  ['PNG file part named evil.gif, sent as image/gif', () => { const fd = textParts(); fd.append('images', fileBlob(img.png, 'image/gif'), 'evil.gif'); return postForm(fd, 'broke'); }],
  ['JPEG file part named setup.exe, application/octet-stream', () => { const fd = textParts(); fd.append('images', fileBlob(img.jpeg, 'application/octet-stream'), 'setup.exe'); return postForm(fd, 'broke'); }],
  ['WebP file part named index.html, text/html', () => { const fd = textParts({ aspect_ratio: '9:16' }); fd.append('input_reference', fileBlob(img.webp, 'text/html'), 'index.html'); return postForm(fd, 'broke'); }],
  ['PNG file part with a traversal filename', () => { const fd = textParts(); fd.append('images', fileBlob(img.png), '../../../../etc/passwd'); return postForm(fd, 'broke'); }],
  ['PNG file part with an RTL-override filename', () => { const fd = textParts(); fd.append('images', fileBlob(img.png), 'photo\u202egnp.exe'); return postForm(fd, 'broke'); }],
  ['polyglot: PNG with a ZIP appended', () => postJson(body({ images: [dataUri(Buffer.concat([img.png, img.zip]), 'image/png')] }), 'broke')],
  ['polyglot: PNG with HTML appended', () => postJson(body({ images: [dataUri(Buffer.concat([img.png, img.html]), 'image/png')] }), 'broke')],
  ['polyglot: JPEG with a ZIP appended', () => postJson(body({ images: [dataUri(Buffer.concat([img.jpeg, img.zip]), 'image/jpeg')] }), 'broke')],
  ['16x16 (the minimum side)', () => postJson(body({ images: [dataUri(img.px16, 'image/png')] }), 'broke')],
  ['64x16 (exactly 4:1)', () => postJson(body({ images: [dataUri(img.ratio4, 'image/png')] }), 'broke')],
];
for (const [name, run] of accepted) add('submit: images by content (accepted)', { name, run, status: 402, code: 'insufficient_credits' });

for (const [name, bytes, mime] of refusedImages) {
  add('submit: images by content (refused)', { name: `data URI: ${name}`, run: () => postJson(body({ images: [dataUri(bytes(img), mime ?? 'image/png')] }), 'broke'), status: 400, code: 'invalid_image' });
}
for (const [name, bytes, mime] of refusedImages.slice(0, 12)) {
  add('submit: images by content (refused)', {
    name: `file part: ${name}`, status: 400, code: 'invalid_image',
    run: () => { const fd = textParts(); fd.append('images', fileBlob(bytes(img), mime ?? 'image/png'), 'frame.png'); return postForm(fd, 'broke'); },
  });
}
add('submit: images by content (refused)', { name: 'empty file part', status: 400, code: 'invalid_image', run: () => { const fd = textParts(); fd.append('images', fileBlob(Buffer.alloc(0)), 'empty.png'); return postForm(fd, 'broke'); } });

// -- 7. JSON bombs and framing ------------------------------------------------------
const framing: [string, () => string | Buffer, (string | string[])?][] = [
  ['100 000 nested arrays', () => nested('[', ']', DEPTH), 'invalid_body'],
  ['100 000 nested objects', () => nested('{"a":', '}', DEPTH, '1'), 'missing_model'],
  ['100 000 nested arrays in prompt', () => `{"model":"${V2}","prompt":${nested('[', ']', DEPTH)}}`, 'invalid_prompt'],
  ['100 000 nested arrays in images', () => JSON.stringify(body({ images: 'X' })).replace('"X"', nested('[', ']', DEPTH)), 'invalid_images'],
  ['100 000 nested objects in an unknown field', () => `{"x":${nested('{"a":', '}', DEPTH, '1')}}`, 'missing_model'],
  ['1 000 000 unclosed brackets', () => '['.repeat(1_000_000), 'invalid_json'],
  ['nesting bomb with __proto__', () => `{"__proto__":{"model":"${V2}"},"a":${nested('[', ']', DEPTH)}}`, 'forbidden_json_key'],
  ['__proto__ pollution attempt', () => `{"__proto__":{"isAdmin":true},"model":"${V2}"}`, 'forbidden_json_key'],
  ['constructor.prototype pollution attempt', () => '{"constructor":{"prototype":{"polluted":1}}}', 'forbidden_json_key'],
  ['duplicate keys: last model invalid', () => JSON.stringify(body()).replace('{', `{"model":"${V2}",`).replace(`"model":"${V2}","prompt"`, '"model":"veo-9","prompt"'), 'invalid_model'],
  ['duplicate keys: first model invalid, images missing', () => `{"model":"nope","model":"${V2}","prompt":"p","aspect_ratio":"16:9"}`, 'missing_images'],
  ['duplicate keys: second prompt blank', () => JSON.stringify(body()).replace(/}$/, ',"prompt":"  "}'), 'invalid_prompt'],
  ['duplicate keys: second images empty', () => JSON.stringify(body()).replace(/}$/, ',"images":[]}'), 'invalid_images'],
  ['trailing garbage', () => `${JSON.stringify(body())}garbage`, 'invalid_json'],
  ['two objects', () => `${JSON.stringify(body())}{}`, 'invalid_json'],
  ['single quotes', () => "{'model':'veo'}", 'invalid_json'],
  ['NaN literal', () => `{"model":"${V2}","seed":NaN}`, 'invalid_json'],
  ['comment', () => '{/* hi */"model":"x"}', 'invalid_json'],
  ['trailing comma', () => '{"model":"x",}', 'invalid_json'],
  ['whitespace only', () => '   \n ', 'invalid_json'],
  ['raw control character in a string', () => '{"model":"a\u0001b"}', 'invalid_json'],
  ['400-digit seed', () => JSON.stringify(body()).replace(/}$/, `,"seed":${'9'.repeat(400)}}`), 'invalid_seed'],
  ['seed 1e400 (Infinity)', () => JSON.stringify(body()).replace(/}$/, ',"seed":1e400}'), 'invalid_seed'],
  ['seconds 1e400 (Infinity)', () => JSON.stringify(body()).replace(/}$/, ',"seconds":1e400}'), 'invalid_seconds'],
  ['seconds -0', () => JSON.stringify(body()).replace(/}$/, ',"seconds":-0}'), 'invalid_seconds'],
  ['seconds 1e-400 (0)', () => JSON.stringify(body()).replace(/}$/, ',"seconds":1e-400}'), 'invalid_seconds'],
  ['JSON true', () => 'true', 'invalid_body'], ['JSON number', () => '12', 'invalid_body'], ['JSON string', () => '"hello"', 'invalid_body'],
  ['JSON null', () => 'null', 'invalid_body'],
];
for (const [name, payload, code] of framing) {
  add('submit: JSON framing', { name, run: () => postRaw(payload()), status: 400, ...(code ? { code } : {}) });
}

// -- 8. wrong content types ---------------------------------------------------
const contentTypes: [string, string | undefined, () => string | Buffer, number, string][] = [
  ['text/plain', 'text/plain', () => JSON.stringify(body()), 415, 'unsupported_media_type'],
  ['application/xml', 'application/xml', () => '<submit><model>veo</model></submit>', 415, 'unsupported_media_type'],
  ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded', () => 'model=veo&prompt=x', 415, 'unsupported_media_type'],
  ['no content type', undefined, () => JSON.stringify(body()), 415, 'unsupported_media_type'],
  ['application/json; charset=utf-16 with UTF-16 bytes', 'application/json; charset=utf-16', () => Buffer.from(`\ufeff${JSON.stringify(body())}`, 'utf16le'), 400, 'invalid_json'],
  ['application/json; charset=utf-16le without BOM', 'application/json; charset=utf-16le', () => Buffer.from(JSON.stringify(body()), 'utf16le'), 400, 'invalid_json'],
  ['image/png body', 'image/png', () => img.png, 415, 'unsupported_media_type'],
  ['application/octet-stream', 'application/octet-stream', () => img.png, 415, 'unsupported_media_type'],
  ['application/json-patch+json', 'application/json-patch+json', () => '[]', 415, 'unsupported_media_type'],
  ['text/json', 'text/json', () => JSON.stringify(body()), 415, 'unsupported_media_type'],
  ['a content type of semicolons', ';;;', () => JSON.stringify(body()), 415, 'unsupported_media_type'],
  ['multipart/mixed', 'multipart/mixed; boundary=x', () => '--x--\r\n', 415, 'unsupported_media_type'],
];
for (const [name, ct, payload, status, code] of contentTypes) {
  add('submit: content types', { name, status, code, run: () => send({ method: 'POST', path: S, body: payload(), ...(ct !== undefined ? { contentType: ct } : {}) }) });
}

// -- 9. multipart abuse -------------------------------------------------------------
const multipartCases: [string, () => Promise<Response>, string][] = [
  ['60 text parts (limit 50 parts)', () => { const fd = textParts(); for (let i = 0; i < 57; i++) fd.append(`f${i}`, 'v'); return postForm(fd); }, 'too_many_parts'],
  ['10 file parts (limit 9 files)', () => { const fd = textParts(); for (let i = 0; i < 10; i++) fd.append('images', fileBlob(img.png), `f${i}.png`); return postForm(fd); }, 'too_many_parts'],
  ['41 text fields (limit 40)', () => { const fd = new FormData(); for (let i = 0; i < 41; i++) fd.append(`f${i}`, 'v'); return postForm(fd); }, 'too_many_parts'],
  ['file part without a filename (becomes text, not an image)', () => { const m = multipartBody([...textPartsRaw(), { headers: `${partHeaders('images')}\r\nContent-Type: image/png`, body: img.png }]); return send({ method: 'POST', path: S, contentType: m.contentType, body: m.body }); }, 'invalid_image'],
  ['file part named __proto__', () => { const fd = textParts(); fd.append('__proto__', fileBlob(img.png), 'a.png'); return postForm(fd); }, 'invalid_request'],
  ['text part named constructor', () => { const m = multipartBody([{ headers: partHeaders('constructor'), body: 'x' }]); return send({ method: 'POST', path: S, contentType: m.contentType, body: m.body }); }, 'invalid_request'],
  ['unexpected file part name', () => { const fd = textParts(); fd.append('avatar', fileBlob(img.png), 'a.png'); return postForm(fd); }, 'unexpected_file'],
  ['no boundary parameter', () => send({ method: 'POST', path: S, contentType: 'multipart/form-data', body: 'xx' }), 'invalid_multipart'],
  ['truncated body (no closing boundary)', () => send({ method: 'POST', path: S, contentType: 'multipart/form-data; boundary=b', body: `--b\r\n${partHeaders('model')}\r\n\r\nveo` }), 'invalid_multipart'],
  ['boundary that never appears', () => send({ method: 'POST', path: S, contentType: 'multipart/form-data; boundary=nothere', body: multipartBody(textPartsRaw()).body }), 'invalid_multipart'],
  ['only the closing boundary', () => send({ method: 'POST', path: S, contentType: 'multipart/form-data; boundary=b', body: '--b--\r\n' }), 'missing_model'],
  ['5000 part headers', () => { const m = multipartBody([{ headers: `${partHeaders('model')}\r\n${'X-A: b\r\n'.repeat(5000)}`, body: V2 }]); return send({ method: 'POST', path: S, contentType: m.contentType, body: m.body }); }, 'missing_prompt'],
  ['1 MB prompt text part', () => { const fd = textParts({ prompt: 'x'.repeat(MB) }); fd.append('images', fileBlob(img.png), 'a.png'); return postForm(fd); }, 'invalid_prompt'],
  ['seed "NaN"', () => { const fd = textParts({ seed: 'NaN' }); fd.append('images', fileBlob(img.png), 'a.png'); return postForm(fd); }, 'invalid_seed'],
  ['seed "1e3"', () => { const fd = textParts({ seed: '1e3' }); fd.append('images', fileBlob(img.png), 'a.png'); return postForm(fd); }, 'invalid_seed'],
  ['off_peak "yes"', () => { const fd = textParts({ off_peak: 'yes' }); fd.append('images', fileBlob(img.png), 'a.png'); return postForm(fd); }, 'invalid_off_peak'],
  ['images text part with binary garbage', () => { const fd = textParts(); fd.append('images', '\u0000\u0001\u00ff garbage'); return postForm(fd); }, 'invalid_image'],
  ['model part repeated, last one invalid', () => { const fd = textParts(); fd.append('model', 'veo-9'); fd.append('images', fileBlob(img.png), 'a.png'); return postForm(fd); }, 'invalid_model'],
  ['three image files on Veo 2', () => { const fd = textParts(); for (let i = 0; i < 3; i++) fd.append('images', fileBlob(img.png), 'a.png'); return postForm(fd); }, 'invalid_images'],
];
for (const [name, run, code] of multipartCases) add('submit: multipart', { name, run, code, status: code === 'invalid_request' ? [400, 403] : 400 });

// -- 10. ids: traversal, over-long, unicode, on every task endpoint ---------------------
const taskEndpoints: [string, string, (id: string) => string][] = [
  ['GET task', 'GET', (id) => `${S}/${id}`], ['cancel', 'POST', (id) => `${S}/${id}/cancel`], ['content', 'GET', (id) => `${S}/${id}/content`],
  ['deliveries', 'GET', (id) => `${S}/${id}/deliveries`], ['retry delivery', 'POST', (id) => `${S}/${id}/deliveries/evt_x/retry`],
  ['retry (hostile delivery id)', 'POST', (id) => `${S}/task_x/deliveries/${id}/retry`],
];
for (const [ep, method, path] of taskEndpoints) {
  for (const [name, id] of hostileIds) add(`ids: ${ep}`, { name, run: () => send({ method, path: path(id) }), status: [400, 404, 414] });
}
add('ids: cancel', { name: 'unknown id with a JSON nesting bomb body', run: () => send({ method: 'POST', path: `${S}/task_unknown/cancel`, contentType: 'application/json', body: nested('[', ']', DEPTH) }), status: 404, code: 'task_not_found' });
add('ids: cancel', { name: 'unknown id with an XML body', run: () => send({ method: 'POST', path: `${S}/task_unknown/cancel`, contentType: 'application/xml', body: '<x/>' }), status: 415 });

// -- 11. authentication on every endpoint ---------------------------------------
const v1Endpoints: [string, string, string][] = [
  ['submit', 'POST', S], ['list', 'GET', S], ['GET task', 'GET', `${S}/task_x`], ['cancel', 'POST', `${S}/task_x/cancel`],
  ['content', 'GET', `${S}/task_x/content`], ['deliveries', 'GET', `${S}/task_x/deliveries`], ['retry', 'POST', `${S}/task_x/deliveries/evt_x/retry`],
  ['credits', 'GET', '/v1/credits'], ['models', 'GET', '/v1/models'], ['rotate secret', 'POST', '/v1/webhooks/secret/rotate'],
];
const badAuth: [string, () => Auth][] = [
  ['no Authorization', () => 'none'], ['Basic scheme', () => ({ header: 'Basic dXNlcjpwYXNz' })], ['Bearer without a token', () => ({ header: 'Bearer' })],
  ['unknown key', () => ({ header: `Bearer rly_${'Z'.repeat(40)}` })], ['revoked key', () => ({ header: `Bearer ${k.revoked}` })],
  ['10 KB token', () => ({ header: `Bearer ${'x'.repeat(10_000)}` })], ['two tokens', () => ({ header: `Bearer ${k.key} ${k.key}` })],
  ['key with a latin-1 suffix', () => ({ header: `Bearer ${k.key}é` })], ['the admin token as an API key', () => ({ header: `Bearer ${ADMIN_TOKEN}` })],
];
for (const [ep, method, path] of v1Endpoints) {
  for (const [name, auth] of badAuth) {
    add(`auth: ${ep}`, {
      name, status: 401, code: 'invalid_api_key',
      run: () => send({ method, path, auth: auth(), ...(method === 'POST' ? { contentType: 'application/json', body: JSON.stringify(body()) } : {}) }),
    });
  }
}
const adminEndpoints: [string, string, string][] = [['list keys', 'GET', '/admin/keys'], ['create key', 'POST', '/admin/keys'], ['grant', 'POST', '/admin/keys/key_x/credits']];
const badAdminAuth: [string, () => Auth][] = [
  ['no Authorization', () => 'none'], ['wrong token', () => ({ header: 'Bearer not-the-admin-token-at-all' })],
  ['an API key', () => 'key'], ['admin token with a suffix', () => ({ header: `Bearer ${ADMIN_TOKEN}x` })], ['Basic scheme', () => ({ header: `Basic ${ADMIN_TOKEN}` })],
];
for (const [ep, method, path] of adminEndpoints) {
  for (const [name, auth] of badAdminAuth) {
    add(`auth: admin ${ep}`, {
      name, status: 401, code: 'invalid_api_key',
      run: () => send({ method, path, auth: auth(), ...(method === 'POST' ? { contentType: 'application/json', body: '{"name":"x","amount":5}' } : {}) }),
    });
  }
}

// -- 12. query parameters of the wrong type ------------------------------------------
const queries: [string, string, string][] = [
  ['list', `${S}?limit=0`, 'invalid_limit'], ['list', `${S}?limit=101`, 'invalid_limit'], ['list', `${S}?limit=-1`, 'invalid_limit'],
  ['list', `${S}?limit=1.5`, 'invalid_limit'], ['list', `${S}?limit=abc`, 'invalid_limit'], ['list', `${S}?limit=`, 'invalid_limit'],
  ['list', `${S}?limit=1e9`, 'invalid_limit'], ['list', `${S}?limit=%00`, 'invalid_limit'], ['list', `${S}?limit=1&limit=2`, 'invalid_limit'],
  ['list', `${S}?limit=${'9'.repeat(400)}`, 'invalid_limit'],
  ['list', `${S}?status=QUEUED`, 'invalid_status'], ['list', `${S}?status=done`, 'invalid_status'], ['list', `${S}?status=`, 'invalid_status'],
  ['list', `${S}?status=queued&status=failed`, 'invalid_status'], ['list', `${S}?status=queued%00`, 'invalid_status'],
  ['list', `${S}?after=task_unknown`, 'invalid_after'], ['list', `${S}?after=${'a'.repeat(101)}`, 'invalid_after'],
  ['list', `${S}?after=a&after=b`, 'invalid_after'], ['list', `${S}?after=${encodeURIComponent('🎬\u202e')}`, 'invalid_after'],
  ['list', `${S}?after=..%2F..%2Fetc%2Fpasswd`, 'invalid_after'],
  ['credits', '/v1/credits?limit=0', 'invalid_limit'], ['credits', '/v1/credits?limit=101', 'invalid_limit'], ['credits', '/v1/credits?limit=abc', 'invalid_limit'],
  ['credits', '/v1/credits?limit=1&limit=1', 'invalid_limit'], ['credits', '/v1/credits?limit=-5', 'invalid_limit'], ['credits', '/v1/credits?limit=2.5', 'invalid_limit'],
  ['content', `${S}/task_x/content?variant=VIDEO`, 'invalid_variant'], ['content', `${S}/task_x/content?variant=`, 'invalid_variant'],
  ['content', `${S}/task_x/content?variant=video&variant=thumbnail`, 'invalid_variant'], ['content', `${S}/task_x/content?variant=thumbnail%00`, 'invalid_variant'],
  ['content', `${S}/task_x/content?variant=../../etc/passwd`, 'invalid_variant'],
];
for (const [ep, path, code] of queries) add(`query: ${ep}`, { name: path.slice(path.indexOf('?')).slice(0, 60), run: () => send({ path }), status: 400, code });

// -- 13. /files/* signed links ----------------------------------------------------------
const signer = linkSigner(SIGNING_SECRET, '');
const future = () => Math.floor(Date.now() / 1000) + 3600;
const signed = (key: string, exp = future()) => signer.blobUrl(key, exp);
const files: [string, () => string, number, string][] = [
  ['no query', () => '/files/outputs/task_x/video.mp4', 403, 'invalid_signature'],
  ['sig missing', () => `/files/outputs/task_x/video.mp4?expires=${future()}`, 403, 'invalid_signature'],
  ['expires missing', () => '/files/outputs/task_x/video.mp4?sig=abc', 403, 'invalid_signature'],
  ['expires not numeric', () => '/files/outputs/task_x/video.mp4?expires=tomorrow&sig=abc', 403, 'invalid_signature'],
  ['expires negative', () => '/files/outputs/task_x/video.mp4?expires=-1&sig=abc', 403, 'invalid_signature'],
  ['expires 400 digits', () => `/files/outputs/task_x/video.mp4?expires=${'9'.repeat(400)}&sig=abc`, 403, 'invalid_signature'],
  ['expires repeated', () => `${signed('outputs/task_x/video.mp4')}&expires=1`, 400, 'invalid_expires'],
  ['sig repeated', () => `${signed('outputs/task_x/video.mp4')}&sig=x`, 400, 'invalid_sig'],
  ['tampered path', () => signed('outputs/task_x/video.mp4').replace('task_x', 'task_y'), 403, 'invalid_signature'],
  ['extended expiry', () => signed('outputs/task_x/video.mp4').replace(/expires=\d+/, 'expires=99999999999'), 403, 'invalid_signature'],
  ['expired (validly signed)', () => signed('outputs/task_x/video.mp4', 1000), 403, 'invalid_signature'],
  ['validly signed, file missing', () => signed('outputs/task_x/video.mp4'), 404, 'file_not_found'],
  ['validly signed traversal ../../etc/passwd', () => `/files/../../etc/passwd?${signed('../../etc/passwd').split('?')[1]}`, 404, 'file_not_found'],
  ['validly signed encoded traversal %2e%2e%2f', () => `/files/%2e%2e%2f%2e%2e%2fetc%2fpasswd?${signed('../../etc/passwd').split('?')[1]}`, 404, 'file_not_found'],
  ['validly signed absolute path', () => `/files/%2Fetc%2Fpasswd?${signed('/etc/passwd').split('?')[1]}`, 404, 'file_not_found'],
  ['validly signed database file', () => `/files/..%2Freelay.sqlite?${signed('../reelay.sqlite').split('?')[1]}`, 404, 'file_not_found'],
  ['unsigned traversal', () => '/files/..%2F..%2Fetc%2Fpasswd?expires=1&sig=x', 403, 'invalid_signature'],
  ['%25E0 (decodes to a lone %)', () => '/files/%25E0%25A4?expires=1&sig=x', 403, 'invalid_signature'],
  ['bad percent-encoding', () => '/files/%E0%A4%A?expires=1&sig=x', 400, 'invalid_request'],
  ['10 000-character path', () => `/files/${'a/'.repeat(5000)}x?expires=1&sig=x`, 403, 'invalid_signature'],
  ['NUL in path', () => '/files/outputs%00/x.mp4?expires=1&sig=x', 403, 'invalid_signature'],
  ['unicode path', () => `/files/${encodeURIComponent('🎬\u202e')}?expires=1&sig=x`, 403, 'invalid_signature'],
];
for (const [name, path, status, code] of files) add('files', { name, run: () => send({ path: path(), auth: 'none' }), status, code });

// -- 14. admin API with bad bodies (never a valid one: nothing may be granted) -------------
const adminAuth = (): Auth => ({ header: `Bearer ${ADMIN_TOKEN}` });
const adminPost = (path: string, payload: string | Buffer, contentType = 'application/json') =>
  send({ method: 'POST', path, auth: adminAuth(), contentType, body: payload });
const admin: [string, () => Promise<Response>, number, string?][] = [
  ['create: name a number', () => adminPost('/admin/keys', '{"name":5}'), 400, 'invalid_name'],
  ['create: name null', () => adminPost('/admin/keys', '{"name":null}'), 400, 'invalid_name'],
  ['create: name an array', () => adminPost('/admin/keys', '{"name":["a"]}'), 400, 'invalid_name'],
  ['create: name empty', () => adminPost('/admin/keys', '{"name":""}'), 400, 'invalid_name'],
  ['create: name blank', () => adminPost('/admin/keys', '{"name":"  \\t "}'), 400, 'invalid_name'],
  ['create: name of 10 000 characters', () => adminPost('/admin/keys', JSON.stringify({ name: 'n'.repeat(10_000) })), 400, 'invalid_name'],
  ['create: credits negative', () => adminPost('/admin/keys', '{"name":"x","credits":-1}'), 400, 'invalid_credits'],
  ['create: credits fractional', () => adminPost('/admin/keys', '{"name":"x","credits":1.5}'), 400, 'invalid_credits'],
  ['create: credits a string', () => adminPost('/admin/keys', '{"name":"x","credits":"5"}'), 400, 'invalid_credits'],
  ['create: credits 1e300', () => adminPost('/admin/keys', '{"name":"x","credits":1e300}'), 400, 'invalid_credits'],
  ['create: JSON array body', () => adminPost('/admin/keys', '[{"name":"x"}]'), 400],
  ['create: nesting bomb', () => adminPost('/admin/keys', nested('[', ']', DEPTH)), 400],
  ['create: text/plain', () => adminPost('/admin/keys', 'name=x', 'text/plain'), 400],
  ['create: XML', () => adminPost('/admin/keys', '<name>x</name>', 'application/xml'), 415],
  ['create: invalid JSON', () => adminPost('/admin/keys', '{"name":'), 400, 'invalid_json'],
  ['create: no body', () => send({ method: 'POST', path: '/admin/keys', auth: adminAuth() }), 400],
  ['grant: amount 0', () => adminPost('/admin/keys/key_x/credits', '{"amount":0}'), 400],
  ['grant: amount fractional', () => adminPost('/admin/keys/key_x/credits', '{"amount":1.5}'), 400, 'invalid_amount'],
  ['grant: amount a string', () => adminPost('/admin/keys/key_x/credits', '{"amount":"5"}'), 400, 'invalid_amount'],
  ['grant: amount 1e300', () => adminPost('/admin/keys/key_x/credits', '{"amount":1e300}'), 400, 'invalid_amount'],
  ['grant: amount -1e12', () => adminPost('/admin/keys/key_x/credits', '{"amount":-1000000000000}'), 400, 'invalid_amount'],
  ['grant: amount missing', () => adminPost('/admin/keys/key_x/credits', '{}'), 400, 'invalid_amount'],
  ['grant: note of 501 characters', () => adminPost('/admin/keys/key_x/credits', JSON.stringify({ amount: 5, note: 'n'.repeat(501) })), 400, 'invalid_note'],
  ['grant: unknown key', () => adminPost('/admin/keys/key_unknown/credits', '{"amount":5}'), 404, 'key_not_found'],
  ['grant: traversal key id', () => adminPost('/admin/keys/..%2F..%2Fetc/credits', '{"amount":5}'), 404],
  ['grant: 10 000-character key id', () => adminPost(`/admin/keys/${'k'.repeat(10_000)}/credits`, '{"amount":5}'), 414],
  ['grant: emoji key id', () => adminPost(`/admin/keys/${encodeURIComponent('🎬')}/credits`, '{"amount":5}'), 404],
];
for (const [name, run, status, code] of admin) add('admin', { name, run, status, ...(code ? { code } : {}) });

// -- 15. webhook secret rotation with bad bodies (a valid one would rotate) --------------
const rotate = (payload: string, contentType = 'application/json') => send({ method: 'POST', path: '/v1/webhooks/secret/rotate', contentType, body: payload });
const rotations: [string, string, string?][] = [
  ['array body', '[1]'], ['string body', '"x"'], ['overlap negative', '{"overlap_seconds":-1}'], ['overlap fractional', '{"overlap_seconds":1.5}'],
  ['overlap a string', '{"overlap_seconds":"10"}'], ['overlap Infinity (1e309)', '{"overlap_seconds":1e309}'], ['overlap over 30 days', '{"overlap_seconds":2592001}'],
  ['overlap null', '{"overlap_seconds":null}'], ['overlap an object', '{"overlap_seconds":{}}'], ['nesting bomb', nested('[', ']', DEPTH)],
  ['text/plain body', 'overlap_seconds=5', 'text/plain'], ['invalid JSON', '{"overlap_seconds":'],
];
for (const [name, payload, ct] of rotations) add('webhooks: rotate', { name, run: () => rotate(payload, ct), status: 400 });

// -- 16. unknown routes and methods -------------------------------------------------
const routes: [string, string][] = [
  ['PUT', S], ['DELETE', `${S}/task_x`], ['PATCH', '/v1/credits'], ['POST', '/v1/models'], ['GET', '/v1/webhooks/secret/rotate'],
  ['GET', '/admin'], ['DELETE', '/admin/keys'], ['GET', `${S}/task_x/../../../admin/keys`], ['GET', '/%2e%2e/%2e%2e/etc/passwd'],
  ['GET', '//v1//models'], ['GET', '/v1/models%00'], ['GET', '/v1/video/generations/task_x/content/../../../../etc/passwd'],
  ['OPTIONS', S], ['GET', `/v1/${'x/'.repeat(2000)}`],
];
for (const [method, path] of routes) add('routes', { name: `${method} ${path.slice(0, 60)}`, run: () => send({ method, path }), status: 404, code: 'route_not_found' });

// -- 17. connection-level: oversized headers ----------------------------------------
add('headers', { name: '20 KB Idempotency-Key header (431)', run: () => postJson(body(), 'key', { 'idempotency-key': 'k'.repeat(20_000) }), status: 431, code: 'invalid_request', noRequestId: true });
add('headers', { name: '200 headers of 100 bytes on a poll (431)', run: () => send({ path: `${S}/task_x`, headers: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`x-h${i}`, 'v'.repeat(100)])) }), status: 431, code: 'invalid_request', noRequestId: true });

// ---------------------------------------------------------------------------

describe('hardening corpus: hostile input on every endpoint', () => {
  beforeAll(async () => {
    await makeFixtures();
    s = await startServer({
      REELAY_ROLE: 'api', REELAY_ALLOW_PRIVATE_URLS: '0', REELAY_ADMIN_TOKEN: ADMIN_TOKEN, REELAY_URL_SIGNING_SECRET: SIGNING_SECRET,
    }, {
      // No real DNS: every name is "private", so an image URL is refused before any connection.
      lookup: async () => [{ address: '10.0.0.1', family: 4 }],
    });
    k.key = s.key;
    k.broke = (await s.app.keys.create('broke')).key;
    const revoked = await s.app.keys.create('revoked');
    await s.app.keys.revoke(revoked.id);
    k.revoked = revoked.key;
  });
  afterAll(async () => { await s?.close(); });

  it(`has at least 200 generated cases (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(200);
  });

  for (const c of cases) {
    it(`[${c.group}] ${c.name}`, async () => {
      const res = await c.run();
      const e = await expectErrorEnvelope(res, {
        label: c.name, requestId: !c.noRequestId,
        ...(c.status !== undefined ? { status: c.status } : {}), ...(c.code !== undefined ? { code: c.code } : {}),
      });
      c.check?.(e);
    });
  }

  it('left nothing behind: no task, no ledger entry but the grant, no input file', async () => {
    expect(await countTasks(s)).toBe(0);
    const entries = await ledgerEntries(s);
    expect(entries).toEqual([{ key_id: await keyIdOf(s, k.key), kind: 'grant', amount: 10_000_000, task_id: null }]);
    expect(await inputFiles(s.dataDir)).toEqual([]);
    const credits = await (await s.api('/v1/credits')).json() as { balance: number };
    expect(credits.balance).toBe(10_000_000);
    const keys = await (await fetch(`${s.base}/admin/keys`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json() as { data: unknown[] };
    expect(keys.data).toHaveLength(3);
  });

  it('still serves normally afterwards', async () => {
    expect((await s.api('/healthz')).status).toBe(200);
    expect((await s.api(`${S}?limit=5`)).status).toBe(200);
  });
});
