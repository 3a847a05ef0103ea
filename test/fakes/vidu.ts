// A strict stand-in for Vidu's enterprise API (UPSTREAM.md §4): /img2video,
// /tasks/{id}/creations, /tasks/{id}/cancel, `Authorization: Token`, Vidu's error body.
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { isJson, playScript, sampleMp4, sendJson, startFake, type FakeServer, type Scripted } from './http-fake.ts';

const REASON: Record<number, string> = { 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 429: 'TooManyRequests', 500: 'InternalServerError', 503: 'ServiceUnavailable' };
export const viduError = (code: number, message: string) => ({ code, reason: REASON[code] ?? 'Error', message, metadata: { trace_id: 'fake-trace' } });

const MODELS: Record<string, { durations: number[]; resolutions: string[] }> = {
  viduq1: { durations: [5], resolutions: ['1080p'] },
  'viduq2-pro': { durations: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], resolutions: ['540p', '720p', '1080p'] },
  'viduq2-turbo': { durations: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], resolutions: ['540p', '720p', '1080p'] },
  'viduq2-pro-fast': { durations: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], resolutions: ['720p', '1080p'] },
};
const FIELDS = new Set(['model', 'images', 'prompt', 'duration', 'seed', 'resolution', 'movement_amplitude', 'bgm', 'audio', 'audio_type', 'voice_id', 'is_rec', 'off_peak', 'watermark', 'payload', 'callback_url']);

export type ViduOutcome = 'ok' | 'failed' | 'never';

export interface ViduFake extends FakeServer {
  /** Configure as VIDU_BASE_URL (…/ent/v2). */
  baseUrl: string;
  script: { submit: Scripted[]; poll: Scripted[] };
  outcome: ViduOutcome;
  pollsUntilDone: number;
  cancelled: string[];
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

export async function startViduFake(apiKey: string): Promise<ViduFake> {
  const tasks = new Map<string, { polls: number; outcome: ViduOutcome; state: string; credits: number; finished?: boolean }>();
  const fake: Partial<ViduFake> = { script: { submit: [], poll: [] }, outcome: 'ok', pollsUntilDone: 2, cancelled: [], callbackAfterMs: null, callbacks: [] };
  const creationsOf = (id: string) => [{ id: `c${id}`, url: `${server.origin}/files/${id}.mp4`, cover_url: `${server.origin}/files/${id}.jpg` }];
  async function callBack(id: string, url: string) {
    const t = tasks.get(id);
    if (!t || t.state === 'canceled') return;
    t.state = 'success';
    t.finished = true;
    const body = JSON.stringify({ state: 'success', err_code: '', credits: t.credits, payload: '', bgm: false, off_peak: false, creations: creationsOf(id) });
    const headers = { 'content-type': 'application/json', ...signViduCallback(apiKey, url, new Date().toUTCString(), randomBytes(16).toString('hex')) };
    const res = await fetch(url, { method: 'POST', headers, body }).catch(() => null);
    fake.callbacks!.push({ url, status: res?.status ?? 0, headers, body });
  }
  const err = (res: ServerResponse, code: number, message: string) => sendJson(res, code, viduError(code, message));
  const server = await startFake((req, res, rec) => {
    const path = new URL(rec.path, 'http://fake').pathname;
    const file = /^\/files\/(\d+)\.mp4$/.exec(path);
    if (file && req.method === 'GET') {
      const mp4 = sampleMp4();
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': mp4.length });
      return void res.end(mp4);
    }
    if (req.headers.authorization !== `Token ${apiKey}`) return err(res, 401, 'invalid api key');
    if (path === '/ent/v2/img2video' && req.method === 'POST') {
      if (playScript(fake.script!.submit.shift(), res, viduError)) return;
      if (!isJson(req)) return err(res, 400, 'content-type must be application/json');
      const b = rec.body as Record<string, unknown> | undefined;
      const problem = checkBody(b);
      if (problem) return err(res, 400, problem);
      const id = String(randomInt(1e12, 1e13));
      tasks.set(id, { polls: 0, outcome: fake.outcome!, state: 'created', credits: 4 });
      if (typeof b!.callback_url === 'string' && fake.callbackAfterMs !== null) {
        const url = b!.callback_url;
        setTimeout(() => void callBack(id, url), fake.callbackAfterMs).unref();
      }
      return sendJson(res, 200, { task_id: id, state: 'created', ...b, images: undefined, credits: 4, created_at: new Date().toISOString() });
    }
    const creations = /^\/ent\/v2\/tasks\/(\d+)\/creations$/.exec(path);
    if (creations && req.method === 'GET') {
      if (playScript(fake.script!.poll.shift(), res, viduError)) return;
      const t = tasks.get(creations[1]!);
      if (!t) return err(res, 404, 'task not found');
      const base = { err_code: '', credits: t.credits, payload: '', bgm: false, off_peak: false };
      if (t.state === 'canceled') return sendJson(res, 200, { ...base, state: 'failed', err_code: 'TaskCanceled', creations: [] });
      if (t.finished) return sendJson(res, 200, { ...base, state: 'success', creations: creationsOf(creations[1]!) });
      if (t.outcome === 'never' || t.polls++ < fake.pollsUntilDone!) {
        t.state = t.polls <= 1 ? 'queueing' : 'processing';
        return sendJson(res, 200, { ...base, state: t.state, creations: [] });
      }
      if (t.outcome === 'failed') return sendJson(res, 200, { ...base, state: 'failed', err_code: 'ImageGenerationFailed', creations: [] });
      t.state = 'success';
      return sendJson(res, 200, { ...base, state: 'success', creations: creationsOf(creations[1]!) });
    }
    const cancel = /^\/ent\/v2\/tasks\/(\d+)\/cancel$/.exec(path);
    if (cancel && req.method === 'POST') {
      const t = tasks.get(cancel[1]!);
      if (!t) return err(res, 404, 'task not found');
      if ((rec.body as { id?: unknown } | undefined)?.id !== cancel[1]) return err(res, 400, 'id in body must match the task');
      if (t.state === 'success' || t.state === 'failed') return err(res, 400, `task state is ${t.state}, can not cancel`);
      t.state = 'canceled';
      fake.cancelled!.push(cancel[1]!);
      return sendJson(res, 200, {});
    }
    return err(res, 404, 'not found');
  });
  return Object.assign(fake, server, { baseUrl: `${server.origin}/ent/v2` }) as ViduFake;
}

export function checkBody(b: Record<string, unknown> | undefined): string | null {
  if (!b || typeof b !== 'object') return 'body is required';
  for (const k of Object.keys(b)) if (!FIELDS.has(k)) return `unknown field ${k}`;
  const model = MODELS[b.model as string];
  if (!model) return `model ${String(b.model)} is not supported`;
  if (!Array.isArray(b.images) || b.images.length !== 1) return 'images must contain exactly 1 image';
  const img = b.images[0];
  if (typeof img !== 'string' || !(/^data:image\/(png|jpeg|jpg|webp);base64,[A-Za-z0-9+/=]+$/.test(img) || /^https?:\/\//.test(img))) return 'images[0] must be a URL or a data:image/(png|jpeg|webp);base64 URI';
  if (b.prompt !== undefined && (typeof b.prompt !== 'string' || b.prompt.length > 5000)) return 'prompt must be at most 5000 characters';
  if (b.duration !== undefined && !model.durations.includes(b.duration as number)) return `duration ${String(b.duration)} is not supported by ${String(b.model)}`;
  if (b.resolution !== undefined && !model.resolutions.includes(b.resolution as string)) return `resolution ${String(b.resolution)} is not supported by ${String(b.model)}`;
  if (b.seed !== undefined && !Number.isInteger(b.seed)) return 'seed must be an integer';
  for (const k of ['audio', 'is_rec', 'off_peak', 'bgm'] as const) if (b[k] !== undefined && typeof b[k] !== 'boolean') return `${k} must be a boolean`;
  if (b.audio_type !== undefined && !['all', 'speech_only', 'sound_effect_only'].includes(b.audio_type as string)) return 'audio_type is invalid';
  return null;
}
