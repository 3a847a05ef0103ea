// A strict stand-in for the Gemini API as it is on 2026-11-30 (UPSTREAM.md §0,
// §1): Veo through predictLongRunning (no Veo id live unless a test says so),
// gemini-omni-1.1-flash through the Interactions API, the models list, the
// files download with its redirect, and both error envelopes.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isB64, playScript, sampleMp4, sendJson, startFake, isJson, type FakeOptions, type FakeServer, type Scripted } from './http-fake.ts';
import { FILE_URI, interactionsError, interactionsRoute, OMNI, type InteractionsControl, type UncertainField } from './gemini-interactions.ts';
import { probeVideo } from './vertex.ts';

export { checkInteractionBody, OMNI, type InteractionOutcome } from './gemini-interactions.ts';

const STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
};
/** The google.rpc error envelope (UPSTREAM.md §1.2). */
export const googleError = (code: number, message: string, details: unknown[] = [], status = STATUS[code] ?? 'UNKNOWN') => ({ error: { code, message, status, details } });

/** A wrong key: a 400, not a 401/403, with ErrorInfo API_KEY_INVALID — exactly as §1.2 shows. */
export const keyInvalidError = () => googleError(400, 'API key not valid. Please pass a valid API key.', [{
  '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com',
  metadata: { service: 'generativelanguage.googleapis.com' },
}]);

/**
 * A scripted answer: the shared ones (an HTTP error, 'hang', 'malformed'), or
 * an error with Google's trimmings — another status name (FAILED_PRECONDITION),
 * an ErrorInfo reason, a Retry-After header, a RetryInfo delay, the
 * one-element array some front ends wrap errors in, or the envelope of the
 * other surface (Interactions errors carry string codes).
 */
export type GeminiScripted = Exclude<Scripted, object> | {
  status: number; message?: string; rpcStatus?: string; reason?: string; retryAfter?: string; retryDelay?: string;
  array?: boolean; envelope?: 'rpc' | 'interactions';
};

export type GeminiOutcome = 'ok' | 'encoded' | 'filtered' | 'failed' | 'failed_string' | 'generated_videos';

export interface GeminiFake extends FakeServer {
  /** The base URL to configure as GEMINI_BASE_URL. */
  baseUrl: string;
  /** Scripted answers, consumed one per call (Veo and Interactions alike), after the key check. */
  script: { submit: GeminiScripted[]; poll: GeminiScripted[]; list: GeminiScripted[] };
  /** How the next Veo operations end. */
  outcome: GeminiOutcome;
  /** The `error` of a `failed` operation (`failed_string` sends its message as a bare string). */
  operationError: { code: number; message: string };
  /** Polls answered "still running" before an operation or interaction is done. */
  pollsUntilDone: number;
  downloads: number;
  /** The next this-many result downloads are accepted and never answered. */
  hangDownloads: number;
  /** Veo ids served through predictLongRunning (and listed). */
  liveVeo: string[];
  /** Answer personGeneration with the 400 one user saw on image-to-video [DISCUSS-181139]. */
  refusePersonGeneration: boolean;
  interactions: InteractionsControl;
  /** Ids of the files this key can read (every output made here); delete one to expire it (files live 2 days). */
  files: Set<string>;
}

export interface GeminiFakeOptions extends FakeOptions {
  /** Called on every poll of an operation or interaction (benchmarks measure the intervals). */
  onPoll?(operation: string): void;
  /** Veo ids that answer; default none: no Veo id is confirmed live on the Gemini API (UPSTREAM.md §0). */
  liveVeo?: string[];
  /** The largest models.list page handed out (the real cap is 1000). */
  maxPageSize?: number;
  /** More entries for models.list, e.g. a Veo id listed without predictLongRunning. */
  extraModels?: { id: string; methods: string[] }[];
  /** Answer personGeneration with the 400 one user saw on image-to-video [DISCUSS-181139]. */
  refusePersonGeneration?: boolean;
  /** [U] Interactions fields answered with a 400 naming them. */
  refuse?: UncertainField[];
}

const NOT_FOUND_MODEL = (id: string, method: string) =>
  `models/${id} is not found for API version v1beta, or is not supported for ${method}. Call ListModels to see the list of available models and their supported methods.`;

export async function startGeminiFake(apiKey: string, opts: GeminiFakeOptions = {}): Promise<GeminiFake> {
  const ops = new Map<string, { polls: number; outcome: GeminiOutcome; fileId: string; error: { code: number; message: string } }>();
  const fake: Partial<GeminiFake> = {
    script: { submit: [], poll: [], list: [] }, outcome: 'ok', operationError: { code: 3, message: 'The prompt could not be processed.' },
    pollsUntilDone: 2, downloads: 0, hangDownloads: 0, liveVeo: [...(opts.liveVeo ?? [])], refusePersonGeneration: opts.refusePersonGeneration === true,
    interactions: { outcome: 'ok', error: { code: 'invalid_request', message: 'The input image could not be processed.' }, refuse: [...(opts.refuse ?? [])], cancelled: [] },
    files: new Set(),
  };
  const err = (res: ServerResponse, code: number, message: string) => sendJson(res, code, googleError(code, message));
  const play = (s: GeminiScripted | undefined, res: ServerResponse, surface: 'rpc' | 'interactions') => playGemini(s, res, surface);
  const interactions = interactionsRoute(fake.interactions!, {
    base: () => fake.baseUrl!, pollsUntilDone: () => fake.pollsUntilDone!, files: fake.files!,
    scripted: (kind, res) => play(fake.script![kind].shift(), res, 'interactions'),
    ...(opts.onPoll ? { onPoll: opts.onPoll } : {}),
  });
  const server = await startFake((req, res, rec) => {
    const url = new URL(rec.path, 'http://fake');
    const path = url.pathname;
    const blob = /^\/blob\/([a-z0-9]+)$/.exec(path);
    if (req.method === 'GET' && blob) {
      const mp4 = sampleMp4();
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': mp4.length });
      return void res.end(mp4);
    }
    if (!authorized(req, url, res, apiKey)) return;
    if (path.startsWith('/v1beta/interactions') && interactions(req, res, rec, path)) return;
    const create = /^\/v1beta\/models\/([^/:]+):predictLongRunning$/.exec(path);
    if (create && req.method === 'POST') {
      if (play(fake.script!.submit.shift(), res, 'rpc')) return;
      if (!isJson(req)) return err(res, 400, 'Invalid JSON payload: Content-Type must be application/json.');
      const id = decodeURIComponent(create[1]!);
      const knownFile = (f: string) => fake.files!.has(f);
      const problem = checkVeoBody(rec.body, id, { live: fake.liveVeo!, refusePersonGeneration: fake.refusePersonGeneration!, knownFile });
      if (problem) return err(res, problem.status, problem.message);
      const name = `models/${id}/operations/${randomBytes(8).toString('hex')}`;
      const fileId = randomBytes(6).toString('hex');
      fake.files!.add(fileId);
      ops.set(name, { polls: 0, outcome: fake.outcome!, fileId, error: { ...fake.operationError! } });
      return sendJson(res, 200, { name });
    }
    const op = /^\/v1beta\/(models\/[^/]+\/operations\/[a-z0-9]+)$/.exec(path);
    if (op && req.method === 'GET') {
      if (play(fake.script!.poll.shift(), res, 'rpc')) return;
      const o = ops.get(op[1]!);
      if (!o) return err(res, 404, 'Operation not found.');
      opts.onPoll?.(op[1]!);
      if (o.polls++ < fake.pollsUntilDone!) return sendJson(res, 200, { name: op[1] });
      return sendJson(res, 200, { name: op[1], done: true, ...finished(o, fake.baseUrl!) });
    }
    if (req.method === 'GET' && (path === '/v1beta/models' || path.startsWith('/v1beta/models/'))) {
      // Tests that reset `script` with only submit/poll (older ones) must not break the listing.
      if (play(fake.script!.list?.shift(), res, 'rpc')) return;
      return listModels(res, url, [...fake.liveVeo!], opts);
    }
    const file = /^\/v1beta\/files\/([a-z0-9]+):download$/.exec(path);
    if (file && req.method === 'GET' && url.searchParams.get('alt') === 'media') {
      // Files are deleted after 2 days (§1.1): an expired (or never made) file is gone.
      if (!fake.files!.has(file[1]!)) return err(res, 404, `File files/${file[1]} is not found or has expired.`);
      fake.downloads! += 1;
      if (fake.hangDownloads! > 0) { fake.hangDownloads! -= 1; return; }
      // The real endpoint redirects to storage; clients must follow (curl -L).
      res.writeHead(302, { location: `/blob/${file[1]}` });
      return void res.end();
    }
    return err(res, 404, 'Not found');
  }, opts);
  return Object.assign(fake, server, { baseUrl: server.origin }) as GeminiFake;
}

/** `x-goog-api-key` (or `?key=`): none → 403, a wrong one → 400 API_KEY_INVALID (UPSTREAM.md §1.2). */
function authorized(req: IncomingMessage, url: URL, res: ServerResponse, apiKey: string): boolean {
  const key = req.headers['x-goog-api-key'] ?? url.searchParams.get('key') ?? undefined;
  if (key === undefined) {
    sendJson(res, 403, googleError(403, 'Method doesn\'t allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.'));
    return false;
  }
  if (key !== apiKey) {
    sendJson(res, 400, keyInvalidError());
    return false;
  }
  return true;
}

function playGemini(s: GeminiScripted | undefined, res: ServerResponse, surface: 'rpc' | 'interactions'): boolean {
  if (s === undefined || s === 'hang' || s === 'malformed') return playScript(s, res, googleError);
  const message = s.message ?? `scripted HTTP ${s.status}`;
  const details: unknown[] = [];
  if (s.reason) details.push({ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: s.reason, domain: 'googleapis.com' });
  if (s.retryDelay) details.push({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: s.retryDelay });
  const body = (s.envelope ?? surface) === 'interactions'
    ? interactionsError(s.status, message, s.rpcStatus?.toLowerCase())
    : googleError(s.status, message, details, s.rpcStatus);
  const text = JSON.stringify(s.array ? [body] : body);
  res.writeHead(s.status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text), ...(s.retryAfter ? { 'retry-after': s.retryAfter } : {}) });
  res.end(text);
  return true;
}

function finished(o: { outcome: GeminiOutcome; fileId: string; error: { code: number; message: string } }, base: string) {
  const uri = `${base}/v1beta/files/${o.fileId}:download?alt=media`;
  switch (o.outcome) {
    case 'failed': return { error: { ...o.error, details: [] } };
    case 'failed_string': return { error: o.error.message };
    case 'filtered': return { response: { '@type': 'type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse', generateVideoResponse: { raiMediaFilteredCount: 1, raiMediaFilteredReasons: ['The video was blocked by our safety filters.'] } } };
    case 'encoded': return { response: { generateVideoResponse: { generatedSamples: [{ video: { encodedVideo: sampleMp4().toString('base64'), encoding: 'video/mp4' } }] } } };
    case 'generated_videos': return { response: { generateVideoResponse: { generatedVideos: [{ video: { uri } }] } } };
    default: return { response: { generateVideoResponse: { generatedSamples: [{ video: { uri } }], raiMediaFilteredCount: 0, raiMediaFilteredReasons: [] } } };
  }
}

/** Text and image models that are really listed, so a listing is never only what a test asked for. */
const OTHER_MODELS = [
  { id: 'gemini-2.5-flash', methods: ['generateContent', 'countTokens', 'createCachedContent', 'batchGenerateContent'] },
  { id: 'gemini-2.5-pro', methods: ['generateContent', 'countTokens', 'createCachedContent', 'batchGenerateContent'] },
  { id: 'gemini-embedding-001', methods: ['embedContent', 'countTextTokens', 'countTokens', 'asyncBatchEmbedContent'] },
  { id: 'imagen-4.0-generate-001', methods: ['predict'] },
  // [U] what Omni lists as methods is undocumented; it is reached through the Interactions API.
  { id: OMNI, methods: ['generateContent', 'countTokens'] },
];

/** GET /v1beta/models (paged: pageSize ≤ 1000, default 50; pageToken → nextPageToken) and GET /v1beta/models/{id}. */
function listModels(res: ServerResponse, url: URL, liveVeo: string[], opts: GeminiFakeOptions) {
  const all = [...OTHER_MODELS, ...liveVeo.map((id) => ({ id, methods: ['predictLongRunning'] })), ...(opts.extraModels ?? [])]
    .map((m) => ({ name: `models/${m.id}`, version: '001', displayName: m.id, supportedGenerationMethods: m.methods }));
  const one = /^\/v1beta\/models\/([^/:]+)$/.exec(url.pathname);
  if (one) {
    const m = all.find((x) => x.name === `models/${decodeURIComponent(one[1]!)}`);
    return m ? sendJson(res, 200, m) : sendJson(res, 404, googleError(404, NOT_FOUND_MODEL(decodeURIComponent(one[1]!), 'getModel')));
  }
  if (url.pathname !== '/v1beta/models') return sendJson(res, 404, googleError(404, 'Not found'));
  const size = Math.min(Number(url.searchParams.get('pageSize') ?? 50) || 50, 1000, opts.maxPageSize ?? 1000);
  const token = url.searchParams.get('pageToken');
  const start = token ? Number(Buffer.from(token, 'base64url').toString()) : 0;
  if (!Number.isInteger(start) || start < 0 || start > all.length) return sendJson(res, 400, googleError(400, 'Invalid page token.'));
  const page = all.slice(start, start + size);
  const next = start + size < all.length ? Buffer.from(String(start + size)).toString('base64url') : undefined;
  return sendJson(res, 200, { models: page, ...(next ? { nextPageToken: next } : {}) });
}

/** Shut down on the Gemini API (UPSTREAM.md §0): 404 "is no longer available". */
export const RETIRED_VEO = new Set([
  'veo-2.0-generate-001', 'veo-3.0-generate-001', 'veo-3.0-fast-generate-001',
  'veo-3.1-generate-preview', 'veo-3.1-fast-generate-preview', 'veo-3.1-lite-generate-preview',
]);

export interface VeoProblem { status: number; message: string }

/** Per-model limits (UPSTREAM.md §1.1): Veo 3.0 never had 4k; 3.1 lite has no 4k; Veo 2 has no resolution at all. */
function veoRules(id: string): { durations: number[]; resolutions: string[] | null; maxSamples: number; creative: boolean } {
  if (id.startsWith('veo-2')) return { durations: [5, 6, 7, 8], resolutions: null, maxSamples: 2, creative: false };
  if (id.startsWith('veo-3.0') || id.includes('-lite-')) return { durations: [4, 6, 8], resolutions: ['720p', '1080p'], maxSamples: 1, creative: false };
  // Reference images and extension are Veo 3.1 features; lite has neither (UPSTREAM.md §1.1, §3).
  return { durations: [4, 6, 8], resolutions: ['720p', '1080p', '4k'], maxSamples: 1, creative: true };
}

/** Vertex-only fields: the SDK refuses them in Gemini mode; the raw endpoint is taken to refuse them too. */
const VERTEX_ONLY = new Set(['seed', 'generateAudio', 'fps', 'storageUri', 'compressionQuality', 'resizeMode', 'mask', 'labels']);
const TOP = new Set(['instances', 'parameters', 'webhookConfig']);
const INSTANCE = new Set(['prompt', 'image', 'lastFrame', 'referenceImages', 'video']);
const PARAMS = new Set(['aspectRatio', 'durationSeconds', 'resolution', 'negativePrompt', 'personGeneration', 'sampleCount', 'numberOfVideos', 'enhancePrompt']);

const bad = (message: string): VeoProblem => ({ status: 400, message });
const notHere = (k: string) => bad(`\`${k}\` isn't supported by this model.`);
const unknownName = (k: string, at: string) => bad(`Invalid JSON payload received. Unknown name "${k}" at '${at}': Cannot find field.`);
const firstKey = (o: object, ok: Set<string>) => Object.keys(o).find((k) => !ok.has(k));

function imageProblem(v: unknown, at: string): VeoProblem | null {
  if (!v || typeof v !== 'object') return bad(`* ${at}: an image object is required.`);
  // The service refuses the Gemini-content spelling (UPSTREAM.md §1.1).
  if ('inlineData' in v || 'inline_data' in v) return bad('`inlineData` isn\'t supported by this model.');
  const o = v as Record<string, unknown>;
  const k = firstKey(o, new Set(['bytesBase64Encoded', 'mimeType']));
  if (k) return k === 'gcsUri' ? notHere('gcsUri') : unknownName(k, at);
  if (!isB64(o.bytesBase64Encoded)) return bad(`* ${at}.bytesBase64Encoded: base64 image bytes are required.`);
  if (typeof o.mimeType !== 'string' || !/^image\/(png|jpeg|webp)$/.test(o.mimeType)) return bad(`* ${at}.mimeType: image/png, image/jpeg or image/webp is required.`);
  return null;
}

/**
 * The answers the Gemini API gives a predictLongRunning call for `modelId`; null when it is accepted.
 * `knownFile`: whether a Files-API id exists for this key (the route knows its files); without it any such URI is taken on trust.
 */
export function checkVeoBody(body: unknown, modelId: string, o: { live: readonly string[]; refusePersonGeneration?: boolean; knownFile?: (id: string) => boolean }): VeoProblem | null {
  if (!o.live.includes(modelId)) {
    return RETIRED_VEO.has(modelId)
      ? { status: 404, message: `models/${modelId} is no longer available. Please use gemini-omni-1.1-flash instead.` }
      : { status: 404, message: NOT_FOUND_MODEL(modelId, 'predictLongRunning') };
  }
  const b = body as Record<string, unknown> | null;
  if (!b || typeof b !== 'object' || Array.isArray(b)) return bad('Invalid JSON payload received.');
  const top = firstKey(b, TOP);
  if (top) return unknownName(top, '');
  if (!Array.isArray(b.instances) || b.instances.length !== 1) return bad('* instances: exactly one instance is required.');
  const inst = b.instances[0] as Record<string, unknown>;
  const ik = firstKey(inst ?? {}, INSTANCE);
  if (ik) return VERTEX_ONLY.has(ik) ? notHere(ik) : unknownName(ik, 'instances[0]');
  if (inst.prompt !== undefined && typeof inst.prompt !== 'string') return bad('* instances[0].prompt: must be a string.');
  if (!inst.prompt && !inst.image) return bad('* instances[0]: a prompt or an image is required.');
  const refs = inst.referenceImages;
  const images: [unknown, string][] = [[inst.image, 'instances[0].image'], [inst.lastFrame, 'instances[0].lastFrame']];
  if ((refs !== undefined || inst.video !== undefined) && !veoRules(modelId).creative) return notHere(refs !== undefined ? 'referenceImages' : 'video');
  if (refs !== undefined) {
    if (!Array.isArray(refs) || refs.length === 0 || refs.length > 3) return bad('* instances[0].referenceImages: 1 to 3 reference images.');
    refs.forEach((r: { image?: unknown }, i) => images.push([r?.image, `instances[0].referenceImages[${i}].image`]));
    // `style` was Veo 2 only (§3); Veo 3.1 keeps `asset` pictures.
    if (refs.some((r: { referenceType?: unknown }) => r?.referenceType !== 'asset')) return bad(`* referenceType isn't supported by ${modelId}; use asset.`);
  }
  for (const [img, at] of images) {
    const p = img === undefined ? null : imageProblem(img, at);
    if (p) return p;
  }
  const combo = combinationProblem(inst);
  if (combo) return bad(combo);
  const v = inst.video;
  if (v !== undefined) {
    const p = videoProblem(v, o.knownFile);
    if (p) return p;
  }
  return paramsProblem((b.parameters ?? {}) as Record<string, unknown>, modelId, {
    hasImages: inst.image !== undefined || inst.lastFrame !== undefined || refs !== undefined, refs: refs !== undefined, video: v !== undefined,
    refusePersonGeneration: o.refusePersonGeneration === true,
  });
}

function paramsProblem(p: Record<string, unknown>, modelId: string, f: { hasImages: boolean; refs: boolean; video: boolean; refusePersonGeneration: boolean }): VeoProblem | null {
  const rules = veoRules(modelId);
  const pk = firstKey(p, PARAMS);
  if (pk) return VERTEX_ONLY.has(pk) ? notHere(pk) : unknownName(pk, 'parameters');
  if (p.aspectRatio !== undefined && !['16:9', '9:16'].includes(p.aspectRatio as string)) return bad(`aspectRatio ${String(p.aspectRatio)} isn't supported; use 16:9 or 9:16.`);
  // A number (SDK) or a numeric string (docs): both accepted.
  const d = p.durationSeconds;
  if (d !== undefined && !((typeof d === 'number' || (typeof d === 'string' && /^\d+$/.test(d))) && rules.durations.includes(Number(d)))) {
    return bad(`The requested durationSeconds (${String(d)}) is not supported for ${modelId}; supported: ${rules.durations.join(', ')}.`);
  }
  if (p.resolution !== undefined) {
    if (!rules.resolutions) return notHere('resolution');
    if (!rules.resolutions.includes(p.resolution as string)) return bad(`resolution ${String(p.resolution)} isn't supported by ${modelId}; supported: ${rules.resolutions.join(', ')}.`);
  }
  const seconds = d === undefined ? 8 : Number(d);
  const needs8 = p.resolution === '1080p' ? '1080p' : p.resolution === '4k' ? '4k' : f.refs ? 'reference images' : f.video ? 'video extension' : null;
  if (needs8 && seconds !== 8 && !modelId.startsWith('veo-2')) return bad(`durationSeconds must be 8 for ${needs8} (got ${String(d)}).`);
  // §1.1: "Extension output is 720p".
  if (f.video && p.resolution !== undefined && p.resolution !== '720p') return bad(`resolution ${String(p.resolution)} isn't supported for video extension; extension output is 720p.`);
  const pg = p.personGeneration;
  if (pg !== undefined) {
    if (!['allow_all', 'allow_adult', 'dont_allow'].includes(pg as string)) return bad(`personGeneration ${String(pg)} isn't a valid value.`);
    if (f.refusePersonGeneration) return bad(`${String(pg)} for personGeneration is currently not supported.`);
    if (f.hasImages && pg === 'allow_all') return bad('allow_all for personGeneration is currently not supported with image inputs; use allow_adult.');
  }
  for (const k of ['sampleCount', 'numberOfVideos']) {
    const n = p[k];
    if (n !== undefined && !(Number.isInteger(n) && (n as number) >= 1 && (n as number) <= rules.maxSamples)) return bad(`${k} must be between 1 and ${rules.maxSamples} for ${modelId}.`);
  }
  if (p.negativePrompt !== undefined && typeof p.negativePrompt !== 'string') return bad('negativePrompt must be a string.');
  if (p.enhancePrompt !== undefined && typeof p.enhancePrompt !== 'boolean') return bad('enhancePrompt must be a boolean.');
  return null;
}

/** Inputs no Veo mode takes together (the same stricter reading as the Vertex fake: see combinationProblem there). */
function combinationProblem(inst: Record<string, unknown>): string | null {
  if (inst.video !== undefined && (inst.image !== undefined || inst.lastFrame !== undefined || inst.referenceImages !== undefined)) {
    return '* instances[0].video (extension) cannot be combined with image, lastFrame or referenceImages.';
  }
  if (inst.image !== undefined && inst.referenceImages !== undefined) return '* instances[0]: image and referenceImages cannot be both set.';
  if (inst.lastFrame !== undefined && inst.image === undefined) return '* instances[0].lastFrame requires image (the first frame).';
  return null;
}

/**
 * The extension input as the SDK sends it (§1.1, §2: `{uri, encodedVideo, encoding}`): the Files-API
 * URI of an earlier output this key can read (files are deleted after 2 days), or MP4 bytes.
 */
function videoProblem(v: unknown, knownFile?: (id: string) => boolean): VeoProblem | null {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return bad('* instances[0].video: uri or encodedVideo is required.');
  const o = v as Record<string, unknown>;
  const k = firstKey(o, new Set(['uri', 'encodedVideo', 'encoding']));
  if (k) return k === 'bytesBase64Encoded' || k === 'gcsUri' ? notHere(k) : unknownName(k, 'instances[0].video');
  if ((o.uri === undefined) === (o.encodedVideo === undefined)) return bad('* instances[0].video: exactly one of uri or encodedVideo is required.');
  if (o.uri !== undefined) {
    const id = typeof o.uri === 'string' ? FILE_URI.exec(o.uri)?.[1] : undefined;
    if (!id) return bad(`* instances[0].video.uri: ${JSON.stringify(o.uri)} is not a Files API URI.`);
    if (knownFile && !knownFile(id)) return { status: 404, message: `File files/${id} is not found or has expired.` };
    return null;
  }
  if (o.encoding !== 'video/mp4') return bad('* instances[0].video.encoding: video/mp4 is required with encodedVideo.');
  if (!isB64(o.encodedVideo)) return bad('* instances[0].video.encodedVideo: base64 video bytes are required.');
  const facts = probeVideo(Buffer.from(o.encodedVideo, 'base64'));
  if (!facts || !/\bmp4\b/.test(facts.format)) return bad('* instances[0].video.encodedVideo could not be decoded as an MP4 video.');
  return null;
}
