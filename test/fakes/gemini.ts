// A strict stand-in for the Gemini API's Veo endpoints (UPSTREAM.md §1): same
// paths, key header, JSON names, operation lifecycle and error envelope.
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { isB64, isJson, playScript, sampleMp4, sendJson, startFake, type FakeOptions, type FakeServer, type Scripted } from './http-fake.ts';

const STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
};
export const googleError = (code: number, message: string) => ({ error: { code, message, status: STATUS[code] ?? 'UNKNOWN', details: [] } });

/** Per-model limits of the Gemini API doc. */
const MODELS: Record<string, { durations: number[]; resolutions: string[] | null; seed: boolean }> = {
  'veo-2.0-generate-001': { durations: [5, 6, 7, 8], resolutions: null, seed: false },
  'veo-3.0-generate-001': { durations: [4, 6, 8], resolutions: ['720p', '1080p', '4k'], seed: true },
  'veo-3.0-fast-generate-001': { durations: [4, 6, 8], resolutions: ['720p', '1080p', '4k'], seed: true },
  'veo-3.1-generate-preview': { durations: [4, 6, 8], resolutions: ['720p', '1080p', '4k'], seed: true },
  'veo-3.1-fast-generate-preview': { durations: [4, 6, 8], resolutions: ['720p', '1080p', '4k'], seed: true },
};
const INSTANCE_FIELDS = new Set(['prompt', 'image', 'lastFrame', 'referenceImages', 'video']);
const PARAM_FIELDS = new Set(['aspectRatio', 'durationSeconds', 'resolution', 'negativePrompt', 'personGeneration', 'numberOfVideos', 'sampleCount', 'seed', 'enhancePrompt']);

export type GeminiOutcome = 'ok' | 'encoded' | 'filtered' | 'failed';

export interface GeminiFake extends FakeServer {
  /** The base URL to configure as GEMINI_BASE_URL. */
  baseUrl: string;
  /** Scripted answers, consumed one per call, before normal handling. */
  script: { submit: Scripted[]; poll: Scripted[] };
  /** How the next operations end. */
  outcome: GeminiOutcome;
  /** Polls answered `done:false` before the operation is done. */
  pollsUntilDone: number;
  downloads: number;
  /** The next this-many result downloads are accepted and never answered. */
  hangDownloads: number;
}

export interface GeminiFakeOptions extends FakeOptions {
  /** Called on every poll of an operation (benchmarks measure the intervals). */
  onPoll?(operation: string): void;
}

export async function startGeminiFake(apiKey: string, opts: GeminiFakeOptions = {}): Promise<GeminiFake> {
  const ops = new Map<string, { polls: number; outcome: GeminiOutcome; fileId: string }>();
  const fake: Partial<GeminiFake> = { script: { submit: [], poll: [] }, outcome: 'ok', pollsUntilDone: 2, downloads: 0, hangDownloads: 0 };
  const err = (res: ServerResponse, code: number, message: string) => sendJson(res, code, googleError(code, message));
  const authorized = (res: ServerResponse, key: unknown) => {
    if (key === undefined) { err(res, 403, 'Method doesn\'t allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.'); return false; }
    if (key !== apiKey) { err(res, 401, 'API key not valid. Please pass a valid API key.'); return false; }
    return true;
  };
  const server = await startFake((req, res, rec) => {
    const url = new URL(rec.path, 'http://fake');
    const path = url.pathname;
    const blob = /^\/blob\/([a-z0-9]+)$/.exec(path);
    if (req.method === 'GET' && blob) {
      const mp4 = sampleMp4();
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': mp4.length });
      return void res.end(mp4);
    }
    if (!authorized(res, req.headers['x-goog-api-key'])) return;
    const create = /^\/v1beta\/models\/([^/:]+):predictLongRunning$/.exec(path);
    if (create) {
      if (req.method !== 'POST') return err(res, 404, 'Not found');
      if (playScript(fake.script!.submit.shift(), res, googleError)) return;
      if (!isJson(req)) return err(res, 400, 'Invalid JSON payload: Content-Type must be application/json.');
      const model = MODELS[create[1]!];
      if (!model) return err(res, 404, `models/${create[1]} is not found for API version v1beta, or is not supported for predictLongRunning.`);
      const problem = checkBody(rec.body, model);
      if (problem) return err(res, 400, problem);
      const id = randomBytes(8).toString('hex');
      const name = `models/${create[1]}/operations/${id}`;
      ops.set(name, { polls: 0, outcome: fake.outcome!, fileId: randomBytes(6).toString('hex') });
      return sendJson(res, 200, { name });
    }
    const op = /^\/v1beta\/(models\/[^/]+\/operations\/[a-z0-9]+)$/.exec(path);
    if (op && req.method === 'GET') {
      if (playScript(fake.script!.poll.shift(), res, googleError)) return;
      const o = ops.get(op[1]!);
      if (!o) return err(res, 404, 'Operation not found.');
      opts.onPoll?.(op[1]!);
      if (o.polls++ < fake.pollsUntilDone!) return sendJson(res, 200, { name: op[1] });
      return sendJson(res, 200, { name: op[1], done: true, ...finished(o, fake.baseUrl!) });
    }
    const file = /^\/v1beta\/files\/([a-z0-9]+):download$/.exec(path);
    if (file && req.method === 'GET' && url.searchParams.get('alt') === 'media') {
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

function finished(o: { outcome: GeminiOutcome; fileId: string }, base: string) {
  switch (o.outcome) {
    case 'failed': return { error: { code: 3, message: 'The prompt could not be processed.', details: [] } };
    case 'filtered': return { response: { '@type': 'type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse', generateVideoResponse: { raiMediaFilteredCount: 1, raiMediaFilteredReasons: ['The video was blocked by our safety filters.'] } } };
    case 'encoded': return { response: { generateVideoResponse: { generatedSamples: [{ video: { encodedVideo: sampleMp4().toString('base64'), encoding: 'video/mp4' } }] } } };
    default: return { response: { generateVideoResponse: { generatedSamples: [{ video: { uri: `${base}/v1beta/files/${o.fileId}:download?alt=media` } }] } } };
  }
}

const validImage = (v: unknown) => {
  const o = v as { inlineData?: { mimeType?: unknown; data?: unknown }; bytesBase64Encoded?: unknown; mimeType?: unknown } | null;
  if (o?.inlineData) return typeof o.inlineData.mimeType === 'string' && o.inlineData.mimeType.startsWith('image/') && isB64(o.inlineData.data);
  return isB64(o?.bytesBase64Encoded) && typeof o?.mimeType === 'string';
};

/** The 400s the real API gives for a bad image-to-video body; null when acceptable. */
export function checkBody(body: unknown, model: { durations: number[]; resolutions: string[] | null; seed: boolean }): string | null {
  const b = body as { instances?: unknown; parameters?: Record<string, unknown> } | null;
  if (!b || typeof b !== 'object' || !Array.isArray(b.instances) || b.instances.length !== 1) return '* instances: exactly one instance is required.';
  const inst = b.instances[0] as Record<string, unknown>;
  for (const k of Object.keys(inst)) if (!INSTANCE_FIELDS.has(k)) return `Invalid JSON payload received. Unknown name "${k}" at 'instances[0]'.`;
  if (typeof inst.prompt !== 'string' || !inst.prompt) return '* instances[0].prompt: a prompt is required.';
  if (!inst.image) return '* instances[0].image: an input image is required for image-to-video.';
  if (!validImage(inst.image)) return '* instances[0].image: inlineData.mimeType and base64 data are required.';
  if (inst.lastFrame !== undefined && !validImage(inst.lastFrame)) return '* instances[0].lastFrame: invalid image.';
  const p = b.parameters ?? {};
  for (const k of Object.keys(p)) if (!PARAM_FIELDS.has(k)) return `Invalid JSON payload received. Unknown name "${k}" at 'parameters'.`;
  if (p.aspectRatio !== undefined && !['16:9', '9:16'].includes(p.aspectRatio as string)) return 'aspectRatio must be 16:9 or 9:16.';
  if (p.durationSeconds !== undefined && !model.durations.includes(Number(p.durationSeconds))) return `The requested durationSeconds (${String(p.durationSeconds)}) is not supported for this model.`;
  if (p.resolution !== undefined && (!model.resolutions || !model.resolutions.includes(p.resolution as string))) return `resolution ${String(p.resolution)} isn't supported by this model.`;
  if (p.seed !== undefined && (!model.seed || !Number.isInteger(p.seed))) return 'seed isn\'t supported by this model.';
  if (p.personGeneration !== undefined && p.personGeneration !== 'allow_adult' && model.seed) return 'personGeneration: only allow_adult is supported for image-to-video.';
  return null;
}
