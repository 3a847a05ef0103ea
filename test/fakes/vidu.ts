// A strict stand-in for Vidu's enterprise API (UPSTREAM.md §4): /img2video, /start-end2video, /reference2video, /tasks/{id}/creations,
// /tasks/{id}/cancel, `Authorization: Token`, Vidu's error envelope and codes. Written from the doc, not from our adapter.
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import sharp from 'sharp';
import { isJson, playScript, sampleMp4, sendJson, startFake, type FakeServer, type Scripted } from './http-fake.ts';

const REASON: Record<number, string> = { 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 429: 'TooManyRequests' };
/** Vidu's general HTTP error envelope; the reason defaults from the status (5xx → InternalServiceFailure). */
export const viduError = (code: number, message: string, reason = REASON[code] ?? (code >= 500 ? 'InternalServiceFailure' : 'BadRequest')) =>
  ({ code, reason, message, metadata: { trace_id: `fake-${randomBytes(4).toString('hex')}` } });

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
interface ModelRules { seconds: number[]; defaultSeconds: number; resolutions: (seconds: number) => string[]; defaultResolution: string }
const rules = (seconds: number[], resolutions: string[], defaultResolution = '720p'): ModelRules =>
  ({ seconds, defaultSeconds: seconds.includes(5) ? 5 : seconds[0]!, resolutions: () => resolutions, defaultResolution });

/** img2video models and limits, the §4 table (resellers' copies [U]; defaults the table leaves open are guesses). */
export const IMG2VIDEO_MODELS: Record<string, ModelRules> = {
  'viduq4-preview': rules(range(3, 16), ['540p', '720p', '1080p', '2K', '4K']),
  'viduq3-pro': rules(range(1, 16), ['540p', '720p', '1080p']),
  'viduq3-turbo': rules(range(1, 16), ['540p', '720p', '1080p']),
  'viduq3-pro-fast': rules(range(1, 16), ['720p', '1080p']),
  'viduq2-pro': rules(range(1, 10), ['540p', '720p', '1080p']),
  'viduq2-turbo': rules(range(1, 10), ['540p', '720p', '1080p']),
  'viduq2-pro-fast': rules(range(1, 10), ['720p', '1080p']),
  viduq1: rules([5], ['1080p'], '1080p'),
  'viduq1-classic': rules([5], ['1080p'], '1080p'),
  'vidu2.0': { seconds: [4, 8], defaultSeconds: 4, resolutions: (s) => (s === 8 ? ['720p'] : ['360p', '720p', '1080p']), defaultResolution: '720p' },
};
/** Every model's limits: img2video's, and the two served only on /reference2video (§4: 3–16 s, 540p–1080p / 1–16 s, 720p–1080p). */
const MODELS: Record<string, ModelRules> = {
  ...IMG2VIDEO_MODELS,
  viduq3: rules(range(3, 16), ['540p', '720p', '1080p']),
  'viduq3-mix': rules(range(1, 16), ['720p', '1080p']),
};
export type ViduCreate = 'img2video' | 'start-end2video' | 'reference2video';
const ALL: ViduCreate[] = ['img2video', 'start-end2video', 'reference2video'];
/** The §4 table's "endpoints" column (text2video left out: nothing here serves it). */
export const ENDPOINTS: Record<string, ViduCreate[]> = {
  'viduq4-preview': ['img2video', 'reference2video'],
  'viduq3-pro': ['img2video', 'start-end2video'], 'viduq3-turbo': ['img2video', 'start-end2video'],
  'viduq3-pro-fast': ['img2video'],
  viduq3: ['reference2video'], 'viduq3-mix': ['reference2video'],
  'viduq2-pro': ['img2video', 'start-end2video'], 'viduq2-turbo': ['img2video', 'start-end2video'], 'viduq2-pro-fast': ['img2video', 'start-end2video'],
  viduq1: ALL, 'viduq1-classic': ALL, 'vidu2.0': ALL,
};
/** The model's limits on an endpoint: q2's start-end renders 1–8 s (§4). */
const limitsOf = (model: string, endpoint: ViduCreate): ModelRules =>
  (endpoint === 'start-end2video' && model.startsWith('viduq2') ? { ...MODELS[model]!, seconds: range(1, 8) } : MODELS[model]!);

const FIELDS = new Set(['model', 'images', 'prompt', 'duration', 'seed', 'resolution', 'movement_amplitude', 'bgm', 'audio', 'audio_type',
  'voice_id', 'is_rec', 'off_peak', 'watermark', 'wm_position', 'wm_url', 'payload', 'callback_url']);
/** §4: aspect_ratio is text2video/reference2video only; subjects is reference2video's. */
const REFERENCE_FIELDS = new Set([...FIELDS, 'aspect_ratio', 'subjects']);
/** "The whole HTTP body ≤ 20 MB": the smaller reading of MB. */
export const VIDU_MAX_BODY = 20_000_000;

export interface ViduRefusal { status: number; reason: string; message: string }
const no = (reason: string, message: string, status = 400): ViduRefusal => ({ status, reason, message });
const IMAGE = /^data:image\/(png|jpeg|jpg|webp);base64,[A-Za-z0-9+/]+=*$|^https?:\/\/\S+$/;

/** Vidu's checks of an img2video body that need no decoding; the fake also decodes the image (imageProblem). */
export const checkImg2Video = (b: unknown) => checkCreate('img2video', b);

/** Vidu's checks of a create body on `endpoint` that need no decoding; the fake also decodes the images (imageProblem, pairProblem). */
export function checkCreate(endpoint: ViduCreate, b: unknown): ViduRefusal | null {
  if (!b || typeof b !== 'object' || Array.isArray(b)) return no('BadRequest', 'request body must be a JSON object');
  const body = b as Record<string, unknown>;
  const fields = endpoint === 'reference2video' ? REFERENCE_FIELDS : FIELDS;
  for (const k of Object.keys(body)) if (!fields.has(k)) return no('FieldUnwanted', `field ${k} is not accepted by ${endpoint}`);
  if (body.model === undefined) return no('FieldLacking', 'model is required');
  const name = String(body.model);
  if (!MODELS[name]) return no('FieldInvalid', `model ${name} is invalid`);
  if (!ENDPOINTS[name]!.includes(endpoint)) return no('FieldInvalid', `model ${name} does not support ${endpoint}`);
  const images = imagesProblem(endpoint, body);
  if (images) return images;
  if (body.prompt !== undefined && (typeof body.prompt !== 'string' || [...body.prompt].length > 5000)) return no('FieldInvalid', 'prompt must be a string of at most 5000 characters');
  // [U] Not in UPSTREAM.md: a public Vidu client (ComfyUI's) refuses reference2video without a prompt, as Vidu's page marks it required.
  if (endpoint === 'reference2video' && !body.prompt) return no('FieldLacking', 'prompt is required for reference2video');
  const model = limitsOf(name, endpoint);
  const seconds = body.duration ?? model.defaultSeconds;
  if (typeof seconds !== 'number' || !model.seconds.includes(seconds)) return no('FieldInvalid', `duration ${String(seconds)} is not supported by ${name}${endpoint === 'img2video' ? '' : ` on ${endpoint}`}`);
  const resolution = body.resolution ?? model.defaultResolution;
  if (typeof resolution !== 'string' || !model.resolutions(seconds).includes(resolution)) return no('FieldInvalid', `resolution ${String(resolution)} is not supported by ${name} at ${seconds}s`);
  const ratios = ['16:9', '9:16', '1:1', ...(name.startsWith('viduq3') ? ['4:3', '3:4'] : [])];
  if (body.aspect_ratio !== undefined && !ratios.includes(body.aspect_ratio as string)) return no('FieldInvalid', `aspect_ratio ${String(body.aspect_ratio)} is not supported by ${name}; use ${ratios.join(', ')}`);
  return scalarProblem(body);
}

/** images: exactly 1 (img2video), exactly 2, start then end (start-end2video), or 1–7 — or subjects instead — (reference2video). */
function imagesProblem(endpoint: ViduCreate, body: Record<string, unknown>): ViduRefusal | null {
  if (endpoint === 'reference2video' && body.subjects !== undefined) {
    if (body.images !== undefined) return no('FieldInvalid', 'images and subjects cannot both be set');
    return subjectsProblem(body.subjects);
  }
  if (body.images === undefined) return no('FieldLacking', 'images is required');
  const count = endpoint === 'img2video' ? [1, 1] : endpoint === 'start-end2video' ? [2, 2] : [1, 7];
  if (!Array.isArray(body.images) || body.images.length < count[0]! || body.images.length > count[1]!) {
    const want = endpoint === 'img2video' ? 'exactly 1 image' : endpoint === 'start-end2video' ? 'exactly 2 images (start, end)' : '1 to 7 images';
    return no('FieldItemCountOutOfRange', `images must contain ${want} for ${endpoint}`);
  }
  const i = body.images.findIndex((img) => typeof img !== 'string' || !IMAGE.test(img));
  return i < 0 ? null : no('ImageFormatInvalid', `images[${i}] must be a URL or a data:image/(png|jpeg|jpg|webp);base64 URI`);
}

/** §4: subjects: [{name|id, images (≤ 3), voice_id?}], named `@name` in the prompt. */
function subjectsProblem(subjects: unknown): ViduRefusal | null {
  if (!Array.isArray(subjects) || subjects.length < 1 || subjects.length > 7) return no('FieldItemCountOutOfRange', 'subjects must contain 1 to 7 subjects');
  for (const [i, s] of subjects.entries()) {
    const sub = (s ?? {}) as Record<string, unknown>;
    if (typeof sub.name !== 'string' && typeof sub.id !== 'string') return no('FieldLacking', `subjects[${i}] needs a name or an id`);
    const imgs = sub.images;
    if (!Array.isArray(imgs) || imgs.length < 1 || imgs.length > 3) return no('FieldItemCountOutOfRange', `subjects[${i}].images must contain 1 to 3 images`);
    if (imgs.some((img) => typeof img !== 'string' || !IMAGE.test(img))) return no('ImageFormatInvalid', `subjects[${i}].images must be URLs or data:image/(png|jpeg|jpg|webp);base64 URIs`);
  }
  return null;
}

function scalarProblem(body: Record<string, unknown>): ViduRefusal | null {
  if (body.seed !== undefined && (!Number.isInteger(body.seed) || (body.seed as number) < 0 || (body.seed as number) > 2147483647)) return no('FieldInvalid', 'seed must be an integer in [0, 2147483647]');
  for (const k of ['audio', 'is_rec', 'off_peak', 'bgm', 'watermark'] as const) if (body[k] !== undefined && typeof body[k] !== 'boolean') return no('FieldInvalid', `${k} must be a boolean`);
  if (body.audio_type !== undefined && !['all', 'speech_only', 'sound_effect_only'].includes(body.audio_type as string)) return no('FieldInvalid', 'audio_type must be all, speech_only or sound_effect_only');
  if (body.movement_amplitude !== undefined && !['auto', 'small', 'medium', 'large'].includes(body.movement_amplitude as string)) return no('FieldInvalid', 'movement_amplitude is invalid');
  for (const k of ['voice_id', 'callback_url', 'wm_url', 'wm_position', 'payload'] as const) if (body[k] !== undefined && typeof body[k] !== 'string') return no('FieldInvalid', `${k} must be a string`);
  if (typeof body.payload === 'string' && body.payload.length > 1_048_576) return no('FieldInvalid', 'payload must be at most 1048576 characters');
  return null;
}

type Decoded = { format: string; width: number; height: number };

/**
 * start-end2video: the two frames' "resolution ratio" within 0.8–1.25 (§4). Read both ways [U] — as the
 * ratio of their aspect ratios (ComfyUI's client check) and of their pixel counts — and refused if either is out.
 */
export function pairProblem(start: Decoded, end: Decoded): ViduRefusal | null {
  if (start.format === 'url' || end.format === 'url') return null;
  const aspect = (start.width / start.height) / (end.width / end.height);
  const pixels = (start.width * start.height) / (end.width * end.height);
  for (const [what, r] of [['aspect ratios', aspect], ['resolutions', pixels]] as const) {
    if (r < 0.8 || r > 1.25) return no('FieldInvalid', `the ${what} of the start and end images must be within 0.8–1.25 of each other (got ${r.toFixed(3)})`);
  }
  return null;
}

/** A data-URI image Vidu cannot use: not a real png/jpeg/webp, over 50 MB, or an aspect outside 1:4–4:1. */
export async function imageProblem(uri: string): Promise<{ refusal: ViduRefusal } | { format: string; width: number; height: number }> {
  if (!uri.startsWith('data:')) return { format: 'url', width: 0, height: 0 };
  const bytes = Buffer.from(uri.slice(uri.indexOf(',') + 1), 'base64');
  if (bytes.length > 50 * 1024 * 1024) return { refusal: no('ImageFormatInvalid', 'image must be at most 50 MB') };
  const meta = await sharp(bytes).metadata().catch(() => null);
  if (!meta?.width || !meta.height || !['png', 'jpeg', 'webp'].includes(meta.format ?? '')) return { refusal: no('ImageFormatInvalid', 'image could not be decoded as png, jpeg or webp') };
  const ratio = meta.width / meta.height;
  if (ratio < 0.25 || ratio > 4) return { refusal: no('ImageFormatInvalid', 'image aspect ratio must be between 1:4 and 4:1') };
  return { format: meta.format!, width: meta.width, height: meta.height };
}

/** A scripted answer: http-fake's (an error by status, a hang, malformed JSON) or one of Vidu's codes, with an optional Retry-After. */
export type ViduScripted = Scripted | { status: number; reason: string; message?: string; retryAfter?: string };
export type ViduOutcome = 'ok' | 'failed' | 'never';

export interface ViduFake extends FakeServer {
  /** Configure as VIDU_BASE_URL (…/ent/v2). */
  baseUrl: string;
  /** Scripted answers for the next calls of each kind; `pollState` answers the next polls with that state (e.g. one Vidu adds later). */
  script: { submit: ViduScripted[]; poll: ViduScripted[]; cancel: ViduScripted[]; pollState: string[] };
  /** How tasks created from now on end; `failCode` is a failed task's err_code (§4's table, e.g. CreationPolicyViolation). */
  outcome: ViduOutcome;
  failCode: string;
  /** Polls answered queueing/processing before the outcome; off-peak tasks first answer `scheduled` for `scheduledPolls` polls. */
  pollsUntilDone: number;
  scheduledPolls: number;
  /** The account's credits (null: unlimited); a submit costing more is refused with CreditInsufficient. */
  accountCredits: number | null;
  /** Models the account is refused (400 ModelUnavailable). */
  unavailableModels: string[];
  cancelled: string[];
  /** The state each poll answered, in order. */
  answered: { id: string; state: string }[];
  /** Every accepted create: its endpoint, size in bytes, body and the images as decoded (`image`: the first). */
  created: { id: string; endpoint: ViduCreate; bytes: number; body: Record<string, unknown>; image: Decoded; images: Decoded[] }[];
  /**
   * When set, a task created with `callback_url` finishes this long after
   * creation and Vidu POSTs a signed callback (UPSTREAM.md §4) to that URL.
   */
  callbackAfterMs: number | null;
  /** Every callback the fake sent: the URL, its status, and the exact headers (tests replay or forge them). */
  callbacks: { url: string; status: number; headers: Record<string, string>; body: string }[];
}

/** Vidu's signature, written from its doc rather than from Reelay's code, so the two check each other. */
export function signViduCallback(apiKey: string, callbackUrl: string, date: string, nonce: string): Record<string, string> {
  const u = new URL(callbackUrl);
  const signing = `POST\n${u.pathname || '/'}\n${u.search.slice(1)}\nvidu\n${date}\nDate:${date}\nx-request-nonce:${nonce}\n`;
  return {
    Date: date, 'x-request-nonce': nonce, 'X-HMAC-SIGNED-HEADERS': 'Date;x-request-nonce',
    'X-HMAC-SIGNATURE': createHmac('sha256', apiKey).update(signing).digest('base64'),
    'X-HMAC-ALGORITHM': 'hmac-sha256', 'X-HMAC-ACCESS-KEY': 'vidu',
  };
}

interface Task { polls: number; outcome: ViduOutcome; failCode: string; offPeak: boolean; state: string; credits: number; cancelled?: boolean; finished?: boolean }

function play(s: ViduScripted | undefined, res: ServerResponse): boolean {
  if (s === undefined || typeof s === 'string' || !('reason' in s)) return playScript(s, res, viduError);
  if (s.retryAfter !== undefined) res.setHeader('retry-after', s.retryAfter);
  sendJson(res, s.status, viduError(s.status, s.message ?? `scripted ${s.reason}`, s.reason));
  return true;
}

export async function startViduFake(apiKey: string): Promise<ViduFake> {
  const tasks = new Map<string, Task>();
  const fake: Partial<ViduFake> = {
    script: { submit: [], poll: [], cancel: [], pollState: [] }, outcome: 'ok', failCode: 'ImageObjectsUndetected', pollsUntilDone: 2, scheduledPolls: 2,
    accountCredits: null, unavailableModels: [], cancelled: [], answered: [], created: [], callbackAfterMs: null, callbacks: [],
  };
  const creationsOf = (id: string) => [{ id: `c${id}`, url: `${server.origin}/files/${id}.mp4`, cover_url: `${server.origin}/files/${id}.jpg` }];
  const view = (id: string, t: Task) => {
    const base = { state: t.state, err_code: '', credits: t.credits, payload: '', bgm: false, off_peak: t.offPeak, creations: [] as unknown[] };
    if (t.state === 'failed') return { ...base, err_code: t.cancelled ? 'UserCancelled' : t.failCode };
    return t.state === 'success' ? { ...base, creations: creationsOf(id) } : base;
  };
  // Polls move a task along: [scheduled ×N if off-peak], queueing, processing…, then its outcome.
  const advance = (t: Task) => {
    if (t.finished) return;
    const n = ++t.polls - (t.offPeak ? fake.scheduledPolls! : 0);
    if (n <= 0) t.state = 'scheduled';
    else if (t.outcome === 'never' || n <= fake.pollsUntilDone!) t.state = n <= 1 ? 'queueing' : 'processing';
    else finish(t);
  };
  const finish = (t: Task) => { t.finished = true; t.state = t.outcome === 'failed' ? 'failed' : 'success'; };
  async function callBack(id: string, url: string) {
    const t = tasks.get(id);
    if (!t || t.finished) return;
    if (t.outcome === 'never') t.outcome = 'ok';
    finish(t);
    const body = JSON.stringify(view(id, t));
    const headers = { 'content-type': 'application/json', ...signViduCallback(apiKey, url, new Date().toUTCString(), randomBytes(16).toString('hex')) };
    const res = await fetch(url, { method: 'POST', headers, body }).catch(() => null);
    fake.callbacks!.push({ url, status: res?.status ?? 0, headers, body });
  }
  const err = (res: ServerResponse, r: ViduRefusal) => sendJson(res, r.status, viduError(r.status, r.message, r.reason));

  async function create(res: ServerResponse, endpoint: ViduCreate, b: unknown, bytes: number) {
    if (play(fake.script!.submit.shift(), res)) return;
    const refused = checkCreate(endpoint, b);
    if (refused) return err(res, refused);
    const body = b as Record<string, unknown>;
    const uris = Array.isArray(body.images) ? body.images as string[]
      : (body.subjects as { images: string[] }[]).flatMap((s) => s.images);
    const images: Decoded[] = [];
    for (const uri of uris) {
      const image = await imageProblem(uri);
      if ('refusal' in image) return err(res, image.refusal);
      images.push(image);
    }
    const pair = endpoint === 'start-end2video' ? pairProblem(images[0]!, images[1]!) : null;
    if (pair) return err(res, pair);
    if (fake.unavailableModels!.includes(body.model as string)) return err(res, no('ModelUnavailable', `model ${String(body.model)} is unavailable`));
    const credits = (body.duration as number | undefined ?? 5) * (body.off_peak ? 1 : 2) + (body.is_rec ? 10 : 0);
    if (fake.accountCredits !== null && fake.accountCredits! < credits) return err(res, no('CreditInsufficient', 'credit insufficient'));
    if (fake.accountCredits !== null) fake.accountCredits! -= credits;
    const id = String(randomInt(1e12, 1e13));
    tasks.set(id, { polls: 0, outcome: fake.outcome!, failCode: fake.failCode!, offPeak: body.off_peak === true, state: 'created', credits });
    fake.created!.push({ id, endpoint, bytes, body, image: images[0]!, images });
    if (typeof body.callback_url === 'string' && fake.callbackAfterMs !== null) {
      const url = body.callback_url;
      setTimeout(() => void callBack(id, url), fake.callbackAfterMs).unref();
    }
    sendJson(res, 200, { ...body, images: undefined, task_id: id, state: 'created', credits, created_at: new Date().toISOString() });
  }

  function cancel(res: ServerResponse, id: string, b: unknown) {
    if (play(fake.script!.cancel.shift(), res)) return;
    const t = tasks.get(id);
    if (!t) return err(res, no('TaskNotFound', 'task not found', 404));
    if ((b as { id?: unknown } | undefined)?.id !== id) return err(res, no('BadRequest', 'id in body must match the task'));
    // §4's refusal example: a scheduled (off-peak) task cannot be cancelled, nor one already ended.
    if (['scheduled', 'success', 'failed'].includes(t.state)) return err(res, no('BadRequest', `task state is ${t.state}, can not cancel`));
    Object.assign(t, { state: 'failed', cancelled: true, finished: true });
    fake.cancelled!.push(id);
    sendJson(res, 200, {});
  }

  const server = await startFake(async (req, res, rec, raw) => {
    const path = new URL(rec.path, 'http://fake').pathname;
    const file = /^\/files\/(\d+)\.mp4$/.exec(path);
    if (file && req.method === 'GET') {
      const mp4 = sampleMp4();
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': mp4.length });
      return void res.end(mp4);
    }
    // A guess: the docs give no status for an oversized body; 413 from the front proxy, as nginx answers, before any JSON.
    if (raw.length > VIDU_MAX_BODY) {
      res.writeHead(413, { 'content-type': 'text/html' });
      return void res.end('<html><body><h1>413 Request Entity Too Large</h1></body></html>');
    }
    if (req.headers.authorization !== `Token ${apiKey}`) return err(res, no('Unauthorized', 'invalid api key', 401));
    const endpoint = /^\/ent\/v2\/(img2video|start-end2video|reference2video)$/.exec(path)?.[1] as ViduCreate | undefined;
    if (endpoint && req.method === 'POST') {
      if (!isJson(req) || typeof rec.body !== 'object') return err(res, no('BadRequest', 'body must be JSON (application/json)'));
      return create(res, endpoint, rec.body, raw.length);
    }
    const creations = /^\/ent\/v2\/tasks\/([^/]+)\/creations$/.exec(path);
    if (creations && req.method === 'GET') {
      if (play(fake.script!.poll.shift(), res)) return;
      const id = decodeURIComponent(creations[1]!);
      const t = tasks.get(id);
      if (!t) return err(res, no('TaskNotFound', 'task not found', 404));
      const forced = fake.script!.pollState.shift();
      if (forced === undefined) advance(t);
      const answer = forced === undefined ? view(id, t) : { ...view(id, t), state: forced };
      fake.answered!.push({ id, state: answer.state });
      return sendJson(res, 200, answer);
    }
    const cancelled = /^\/ent\/v2\/tasks\/([^/]+)\/cancel$/.exec(path);
    if (cancelled && req.method === 'POST') return cancel(res, decodeURIComponent(cancelled[1]!), rec.body);
    return err(res, no('NotFound', 'not found', 404));
  });
  return Object.assign(fake, server, { baseUrl: `${server.origin}/ent/v2` }) as ViduFake;
}
