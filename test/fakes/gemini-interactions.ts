// The Interactions API of the Gemini API fake (UPSTREAM.md §1.3): create,
// poll, cancel, delete; string error codes; only gemini-omni-1.1-flash.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isB64, isJson, sampleMp4, sendJson, type Recorded } from './http-fake.ts';
import { probeVideo } from './vertex.ts';

export const OMNI = 'gemini-omni-1.1-flash';
const RETIRED = new Set(['gemini-omni-flash-preview']);

const CODES: Record<number, string> = {
  400: 'invalid_request', 401: 'unauthenticated', 403: 'permission_denied', 404: 'not_found', 429: 'resource_exhausted',
  500: 'internal', 503: 'unavailable', 504: 'deadline_exceeded',
};
/** The Interactions error envelope: a string code, not google.rpc's number + status. */
export const interactionsError = (status: number, message: string, code = CODES[status] ?? 'unknown') => ({ error: { code, message } });

export type InteractionOutcome = 'ok' | 'inline' | 'refusal' | 'empty_once' | 'failed' | 'budget_exceeded' | 'cancelled' | 'incomplete';
export type UncertainField = 'response_modalities' | 'seed';

/** What a test controls about interactions (on `GeminiFake.interactions`). */
export interface InteractionsControl {
  /** How the next interactions end. `inline` answers with base64 `data` even when `uri` delivery was asked. */
  outcome: InteractionOutcome;
  /** errors[0] of a `failed` interaction. */
  error: { code: string; message: string };
  /** [U] fields answered with a 400 naming them (the other reading of UPSTREAM.md). */
  refuse: UncertainField[];
  /** Ids cancelled through POST …/cancel while running. */
  cancelled: string[];
}

export interface Problem { status: number; code: string; message: string }

interface Stored {
  id: string; model: string; outcome: InteractionOutcome; inline: boolean; input: unknown;
  polls: number; cancelled: boolean; emptyServed: boolean; fileId: string; error: { code: string; message: string };
}

export interface InteractionsEnv {
  base(): string;
  /** Ids of the files this key can read; outputs are added as they are made. */
  files: Set<string>;
  pollsUntilDone(): number;
  /** Plays a scripted answer for this kind of call; true when it answered. */
  scripted(kind: 'submit' | 'poll', res: ServerResponse): boolean;
  onPoll?(id: string): void;
}

/** Serves /v1beta/interactions…; returns false for other paths. The key was checked by the caller. */
export function interactionsRoute(ctl: InteractionsControl, env: InteractionsEnv) {
  const store = new Map<string, Stored>();
  const json = (res: ServerResponse, status: number, body: unknown): true => {
    sendJson(res, status, body);
    return true;
  };
  const err = (res: ServerResponse, p: Problem) => json(res, p.status, interactionsError(p.status, p.message, p.code));
  const invalidName = (res: ServerResponse) => err(res, { status: 400, code: 'invalid_request', message: 'Invalid interaction name' });
  return (req: IncomingMessage, res: ServerResponse, rec: Recorded, path: string): boolean => {
    if (path === '/v1beta/interactions' && req.method === 'POST') {
      if (env.scripted('submit', res)) return true;
      if (!isJson(req)) return err(res, { status: 400, code: 'invalid_request', message: 'Invalid JSON payload: Content-Type must be application/json.' });
      const problem = checkInteractionBody(rec.body, ctl.refuse, (f) => env.files.has(f));
      if (problem) return err(res, problem);
      const b = rec.body as Record<string, unknown>;
      const format = (b.response_format ?? {}) as { delivery?: unknown };
      const s: Stored = {
        id: `v1_${randomBytes(12).toString('base64url')}`, model: b.model as string, outcome: ctl.outcome, inline: format.delivery === 'inline' || ctl.outcome === 'inline',
        input: b.input, polls: 0, cancelled: false, emptyServed: false, fileId: randomBytes(6).toString('hex'), error: { ...ctl.error },
      };
      store.set(s.id, s);
      env.files.add(s.fileId);
      // Without background the POST blocks for the whole generation: answer finished.
      if (b.background !== true) s.polls = Number.POSITIVE_INFINITY;
      return json(res, 200, b.background === true ? { id: s.id, model: s.model, status: 'queued' } : view(s, env));
    }
    const m = /^\/v1beta\/interactions\/([^/:]+)(\/cancel)?$/.exec(path);
    if (!m) return false;
    const s = store.get(decodeURIComponent(m[1]!));
    if (m[2] && req.method === 'POST') {
      if (!s) return invalidName(res);
      if (finished(s, env)) return err(res, { status: 400, code: 'failed_precondition', message: 'Only an interaction in progress can be cancelled.' });
      s.cancelled = true;
      ctl.cancelled.push(s.id);
      return json(res, 200, view(s, env));
    }
    if (m[2]) return false;
    if (req.method === 'DELETE') {
      if (!s) return invalidName(res);
      store.delete(s.id);
      return json(res, 200, {});
    }
    if (req.method !== 'GET') return false;
    if (env.scripted('poll', res)) return true;
    // An unknown id is a 400 here, not a 404 (UPSTREAM.md §1.3).
    if (!s) return invalidName(res);
    env.onPoll?.(s.id);
    s.polls += 1;
    return json(res, 200, view(s, env));
  };
}

const finished = (s: Stored, env: InteractionsEnv) => s.cancelled || s.polls > env.pollsUntilDone();

function view(s: Stored, env: InteractionsEnv): Record<string, unknown> {
  const head = { id: s.id, model: s.model };
  if (s.cancelled) return { ...head, status: 'cancelled' };
  if (!finished(s, env)) return { ...head, status: s.polls <= 1 ? 'queued' : 'in_progress' };
  const userInput = { type: 'user_input', content: typeof s.input === 'string' ? [{ type: 'text', text: s.input }] : s.input };
  const output = (content: unknown[]) => ({ ...head, status: 'completed', steps: [userInput, { type: 'model_output', content }] });
  switch (s.outcome) {
    case 'refusal':
      return output([{ type: 'text', text: 'I can\'t make this video: the request may go against our policy on depicting real people in unsafe situations.' }]);
    case 'empty_once':
      // Seen on Agent Platform while the file existed [DISCUSS-183928]: completed, no video, no refusal; the next read has it.
      if (!s.emptyServed) {
        s.emptyServed = true;
        return output([]);
      }
      return output([videoPart(s, env)]);
    case 'failed': return { ...head, status: 'failed', errors: [s.error] };
    case 'budget_exceeded': case 'cancelled': case 'incomplete': return { ...head, status: s.outcome };
    default: return { ...output([videoPart(s, env)]), usage: { output_tokens_by_modality: [{ modality: 'video', tokens: 57920 }] } };
  }
}

function videoPart(s: Stored, env: InteractionsEnv) {
  return s.inline
    ? { type: 'video', mime_type: 'video/mp4', data: sampleMp4().toString('base64') }
    : { type: 'video', mime_type: 'video/mp4', uri: `${env.base()}/v1beta/files/${s.fileId}:download?alt=media` };
}

const TOP = new Set(['model', 'input', 'background', 'response_modalities', 'response_format', 'generation_config', 'previous_interaction_id', 'store', 'system_instruction', 'webhook_config']);
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/heic', 'image/heif', 'image/gif', 'image/bmp', 'image/tiff']);
const FORMAT = new Set(['type', 'aspect_ratio', 'resolution', 'duration', 'delivery', 'gcs_uri']);
const TASKS = new Set(['text_to_video', 'image_to_video', 'reference_to_video', 'edit', 'extend', 'upscale']);
const INT32 = 2 ** 31;

const bad = (message: string, code = 'invalid_request'): Problem => ({ status: 400, code, message });
const unknown = (k: string, at: string) => bad(`Invalid JSON payload received. Unknown name "${k}" at '${at}': Cannot find field.`);
const extra = (o: object, allowed: Set<string>, at: string) => {
  const k = Object.keys(o).find((x) => !allowed.has(x));
  return k === undefined ? null : unknown(k, at);
};
const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** The Files-API URI of a file this API made (a Veo or Omni output), in its plain or download form. */
export const FILE_URI = /^https?:\/\/[^/]+\/v1beta\/files\/([a-z0-9]+)(?::download)?(?:\?alt=media)?$/;

/**
 * The answers the Interactions API gives a create body (UPSTREAM.md §1.3); null when it is accepted.
 * `knownFile`: whether a Files-API id exists for this key; without it any such URI is taken on trust.
 */
export function checkInteractionBody(body: unknown, refuse: readonly UncertainField[] = [], knownFile?: (id: string) => boolean): Problem | null {
  if (!isObj(body)) return bad('Invalid JSON payload received: the body must be an object.');
  const top = extra(body, TOP, '');
  if (top) return top;
  const model = body.model;
  if (typeof model !== 'string' || !model) return bad('model is required.');
  if (RETIRED.has(model)) return { status: 404, code: 'not_found', message: `models/${model} is no longer available. Use ${OMNI} instead.` };
  if (model !== OMNI) return { status: 404, code: 'not_found', message: `models/${model} is not found for API version v1beta, or is not supported for interactions.` };
  if (body.background !== undefined && typeof body.background !== 'boolean') return bad('background must be a boolean.');
  if (body.response_modalities !== undefined) {
    if (refuse.includes('response_modalities')) return bad(`response_modalities is not supported for ${OMNI}: the output follows response_format.`);
    const m = body.response_modalities;
    if (!Array.isArray(m) || m.length === 0 || m.some((x) => x !== 'video')) return bad(`response_modalities: ${OMNI} produces video only.`);
  }
  const input = checkInput(body.input, knownFile);
  if ('status' in input) return input;
  const format = checkFormat(body.response_format);
  if (format) return format;
  return checkGeneration(body.generation_config, refuse, input);
}

/** Video types the Gemini API reads as input (its documented list). */
const VIDEO_TYPES = new Set(['video/mp4', 'video/mpeg', 'video/mov', 'video/quicktime', 'video/avi', 'video/x-flv', 'video/mpg', 'video/webm', 'video/wmv', 'video/3gpp']);

interface InputCounts { images: number; videos: number }

function checkMedia(p: Record<string, unknown>, at: string, knownFile?: (id: string) => boolean): Problem | null {
  const e = extra(p, new Set(['type', 'mime_type', 'data', 'uri']), at);
  if (e) return e;
  if ((p.data === undefined) === (p.uri === undefined)) return bad(`${at}: exactly one of data or uri is required.`);
  if (p.data !== undefined && !isB64(p.data)) return bad(`${at}.data: invalid base64.`);
  if (p.type === 'image' && !IMAGE_TYPES.has(p.mime_type as string)) return bad(`${at}.mime_type: unsupported image type ${JSON.stringify(p.mime_type)}.`);
  if (p.type !== 'video') return null;
  if (!VIDEO_TYPES.has(p.mime_type as string)) return bad(`${at}.mime_type: unsupported video type ${JSON.stringify(p.mime_type)}.`);
  if (p.uri !== undefined) {
    const id = typeof p.uri === 'string' ? FILE_URI.exec(p.uri)?.[1] : undefined;
    if (!id) return bad(`${at}.uri: ${JSON.stringify(p.uri)} is not a Files API URI.`);
    if (knownFile && !knownFile(id)) return { status: 404, code: 'not_found', message: `File files/${id} is not found or has expired.` };
    return null;
  }
  return probeVideo(Buffer.from(p.data as string, 'base64')) ? null : bad(`${at}.data could not be decoded as ${String(p.mime_type)}.`);
}

function checkInput(input: unknown, knownFile?: (id: string) => boolean): Problem | InputCounts {
  if (typeof input === 'string') return input ? { images: 0, videos: 0 } : bad('input must not be empty.');
  if (!Array.isArray(input) || input.length === 0) return bad('input must be a string or a non-empty array of content.');
  const n: InputCounts = { images: 0, videos: 0 };
  for (const [i, p] of input.entries()) {
    if (!isObj(p)) return bad(`input[${i}] must be an object.`);
    const at = `input[${i}]`;
    if (p.type === 'text') {
      const e = extra(p, new Set(['type', 'text']), at);
      if (e) return e;
      if (typeof p.text !== 'string') return bad(`${at}.text must be a string.`);
    } else if (p.type === 'image' || p.type === 'video' || p.type === 'audio') {
      const problem = checkMedia(p, at, knownFile);
      if (problem) return problem;
      if (p.type === 'image') n.images += 1;
      if (p.type === 'video') n.videos += 1;
    } else {
      return bad(`${at}.type: unknown content type ${JSON.stringify(p.type)}.`);
    }
  }
  return n;
}

function checkFormat(f: unknown): Problem | null {
  if (f === undefined) return null;
  if (!isObj(f) || f.type !== 'video') return bad(`response_format.type must be "video" for ${OMNI}.`);
  const e = extra(f, FORMAT, 'response_format');
  if (e) return e;
  if (f.gcs_uri !== undefined) return bad('response_format.gcs_uri is only supported on the Gemini Enterprise Agent Platform.');
  if (f.duration !== undefined) {
    // A protobuf Duration: a string like "6s" or "6.5s"; a bare number is refused.
    const d = f.duration;
    const m = typeof d === 'string' ? /^(\d+(?:\.\d{1,9})?)s$/.exec(d) : null;
    if (!m) return bad(`Invalid value at 'response_format.duration' (type.googleapis.com/google.protobuf.Duration), ${JSON.stringify(d)}`);
    const s = Number(m[1]);
    if (s < 3 || s > 10) return bad(`response_format.duration must be between 3s and 10s (got ${d}).`);
  }
  if (f.resolution !== undefined && !['360p', '720p', '1080p', '4k'].includes(f.resolution as string)) return bad(`response_format.resolution ${JSON.stringify(f.resolution)} is not supported; use 360p, 720p, 1080p or 4k.`);
  if (f.aspect_ratio !== undefined && !['16:9', '9:16'].includes(f.aspect_ratio as string)) return bad(`response_format.aspect_ratio ${JSON.stringify(f.aspect_ratio)} is not supported; use 16:9 or 9:16.`);
  if (f.delivery !== undefined && !['uri', 'inline'].includes(f.delivery as string)) return bad(`response_format.delivery must be uri or inline.`);
  return null;
}

function checkGeneration(g: unknown, refuse: readonly UncertainField[], input: InputCounts): Problem | null {
  if (g === undefined) return null;
  if (!isObj(g)) return bad('generation_config must be an object.');
  const e = extra(g, new Set(['video_config', 'seed', 'temperature', 'top_p']), 'generation_config');
  if (e) return e;
  if (g.seed !== undefined) {
    if (refuse.includes('seed')) return bad('generation_config.seed is not supported for video generation.');
    if (!Number.isInteger(g.seed) || (g.seed as number) < -INT32 || (g.seed as number) >= INT32) return bad(`Invalid value at 'generation_config.seed' (TYPE_INT32), ${JSON.stringify(g.seed)}`);
  }
  const v = g.video_config;
  if (v === undefined) return null;
  if (!isObj(v)) return bad('generation_config.video_config must be an object.');
  const ve = extra(v, new Set(['task']), 'generation_config.video_config');
  if (ve) return ve;
  if (v.task !== undefined && !TASKS.has(v.task as string)) return bad(`generation_config.video_config.task ${JSON.stringify(v.task)} is not a known task.`);
  if (v.task === 'image_to_video' && !input.images) return bad('image_to_video needs an image in input.');
  if (v.task === 'reference_to_video' && !input.images) return bad('reference_to_video needs at least one reference image in input.');
  if (v.task === 'extend' && input.videos !== 1) return bad(`extend needs exactly one video in input (got ${input.videos}).`);
  return null;
}
