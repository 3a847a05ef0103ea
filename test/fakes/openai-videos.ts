// Strict stand-ins for self-hosted video servers behind an OpenAI-style /v1/videos (UPSTREAM.md §6.2): vLLM-Omni
// (multipart, `seconds` a string, the image a file `input_reference`), SGLang Diffusion (JSON, `seconds` an integer, the
// image a URL or data: string) and NVIDIA Dynamo (JSON, `nvext`, `response_format`). Written from the doc, not from our
// adapter. Like the real servers they run a fixed number of generations at once (one per GPU), keep no durable queue and
// forget every job when they restart. Where §6.2 is silent the fake picks the stricter reading and says so.
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import sharp from 'sharp';
import { isJson, sampleMp4, sendJson, startFake, type FakeServer, type Recorded } from './http-fake.ts';

export type GpuDialect = 'vllm-omni' | 'sglang' | 'dynamo';

export interface GpuServerOptions {
  dialect: GpuDialect;
  /** The model the server was started with (`vllm serve <model> --omni`); a create naming another is refused. */
  model: string;
  /** `--api-key`: every call must carry `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** Generations at once (one per GPU); a create while all run is answered 503. */
  slots?: number;
  /** How long one generation takes. */
  jobMs?: number;
  /** Dynamo's create answer is [U] in §6.2: the finished video once done (`sync`, Dynamo's NvVideosResponse) or a job to poll. */
  dynamo?: 'sync' | 'async';
  /** SGLang marks a job completed a moment before its file exists: /content answers 404 "Generation is still in-progress" meanwhile. */
  contentLagMs?: number;
  record?: boolean;
  onStart?(id: string, at: number): void;
  onFinish?(id: string, at: number): void;
  /** Every request as it arrives (performance.now()), for benchmarks that time the gaps. */
  onRequest?(method: string, path: string, at: number): void;
}

interface Job {
  id: string;
  status: 'queued' | 'in_progress' | 'completed' | 'failed';
  startedAt: number;
  finishedAt?: number;
  timer?: NodeJS.Timeout;
  error?: string;
  seconds: number;
  size: string;
  jobMs: number;
  /** SGLang's DELETE forgets the job but cannot stop it: it keeps its GPU until it ends. */
  detached?: boolean;
}

export interface GpuServer extends FakeServer {
  /** As an OpenAI client takes it: origin + /v1. */
  baseUrl: string;
  /** Every create the server accepted, as it parsed it (multipart fields as strings, the file as its decoded facts). */
  created: { id: string; body: Record<string, unknown>; image: { format: string; width: number; height: number } | null }[];
  /** Creates refused with their status and message. */
  refused: { status: number; message: string }[];
  /** 503s answered because every GPU was busy. */
  busyAnswers: number;
  /** The most generations that ever ran at once: never more than `slots` (the 503 sees to that). */
  maxRunning: number;
  running(): number;
  deleted: string[];
  /** The next job fails with this message. */
  failNext: string | null;
  /** How long each generation started from now on takes. */
  jobMs: number;
  /** A restart: every job is forgotten (running ones stop, polls answer 404) and the GPUs are free. */
  restart(): void;
  /** Down (connections refused) until `up()`; `up()` is a restart that forgets every job. */
  down(): Promise<void>;
  up(): Promise<void>;
}

const VLLM_FIELDS = new Set(['model', 'prompt', 'seconds', 'size', 'width', 'height', 'num_frames', 'fps', 'num_inference_steps', 'guidance_scale',
  'guidance_scale_2', 'boundary_ratio', 'flow_shift', 'seed', 'negative_prompt', 'generate_sound', 'lora', 'extra_params', 'input_reference']);
const NVEXT_INT = ['num_inference_steps', 'num_frames', 'seed', 'fps'];
const NVEXT_NUM = ['guidance_scale', 'boundary_ratio', 'guidance_scale_2'];

class Refusal extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}
const no = (message: string, status = 400) => new Refusal(status, message);

/** Each server's error body: vLLM's OpenAI envelope, SGLang's FastAPI `detail`, Dynamo's flat message (§6.1, [SGL-API]). */
function errorBody(dialect: GpuDialect, status: number, message: string): unknown {
  if (dialect === 'sglang') return { detail: message };
  if (dialect === 'dynamo') return { message, type: status >= 500 ? 'Internal Server Error' : 'Bad Request', code: status };
  return { error: { message, type: status === 404 ? 'NotFoundError' : status >= 500 ? 'ServiceUnavailableError' : 'BadRequestError', param: null, code: status } };
}

/** RFC 7578 multipart/form-data → text fields and files (the fake's own small parser). */
function parseMultipart(contentType: string, raw: Buffer): { fields: Record<string, string>; files: Record<string, { filename: string; type: string; data: Buffer }> } {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!boundary) throw no('multipart body without a boundary');
  const delim = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const fields: Record<string, string> = {};
  const files: Record<string, { filename: string; type: string; data: Buffer }> = {};
  let at = raw.indexOf(delim);
  while (at >= 0) {
    const start = at + delim.length;
    if (raw.subarray(start, start + 2).toString() === '--') break;
    const next = raw.indexOf(delim, start);
    if (next < 0) throw no('multipart body is not terminated');
    const part = raw.subarray(start + 2, next - 2);
    const headEnd = part.indexOf('\r\n\r\n');
    const head = part.subarray(0, headEnd).toString('utf8');
    const data = part.subarray(headEnd + 4);
    const name = /name="([^"]*)"/.exec(head)?.[1];
    const filename = /filename="([^"]*)"/.exec(head)?.[1];
    if (!name) throw no('multipart part without a name');
    if (filename !== undefined) files[name] = { filename, type: /content-type:\s*([^\r\n]+)/i.exec(head)?.[1] ?? '', data: Buffer.from(data) };
    else fields[name] = data.toString('utf8');
    at = next;
  }
  return { fields, files };
}

async function decodeImage(data: Buffer, what: string) {
  const meta = await sharp(data).metadata().catch(() => null);
  if (!meta?.width || !meta.height) throw no(`${what} is not an image the server can read`);
  return { format: meta.format ?? '', width: meta.width, height: meta.height };
}

/** An image given as a string: an http(s) URL or a data: URI. A server-local path is refused here (stricter than the servers: a gateway must never send one). */
async function stringImage(v: unknown, field: string) {
  if (typeof v !== 'string') throw no(`${field} must be a string`, 422);
  if (/^https?:\/\//.test(v)) return null;
  const m = /^data:image\/(png|jpeg|webp|gif);base64,([A-Za-z0-9+/]+=*)$/.exec(v);
  if (!m) throw no(`${field} must be an http(s) URL or a data: URI (fake: server-local paths refused)`);
  return decodeImage(Buffer.from(m[2]!, 'base64'), field);
}

const intText = (v: string | undefined) => v === undefined || /^-?\d+$/.test(v);
const numText = (v: string | undefined) => v === undefined || (v.trim() !== '' && Number.isFinite(Number(v)));

/** vLLM-Omni's create: multipart only; pydantic's checks of its request model (VLLMO-PROTO). */
async function vllmCreate(req: IncomingMessage, raw: Buffer, model: string) {
  const ct = String(req.headers['content-type'] ?? '');
  if (!ct.toLowerCase().startsWith('multipart/form-data')) throw no('POST /v1/videos takes multipart/form-data', 415);
  const { fields: f, files } = parseMultipart(ct, raw);
  for (const k of [...Object.keys(f), ...Object.keys(files)]) if (!VLLM_FIELDS.has(k)) throw no(`unknown field ${k} (fake: refused rather than ignored)`);
  if (!f.prompt) throw no('prompt: Field required', 422);
  if (f.seconds !== undefined && !/^[1-9]\d*$/.test(f.seconds)) throw no(`seconds: String should match pattern '^[1-9]\\d*$'`, 422);
  if (f.size !== undefined && !/^\d+x\d+$/.test(f.size)) throw no(`size: String should match pattern '^\\d+x\\d+$'`, 422);
  for (const k of ['seed', 'num_frames', 'fps', 'num_inference_steps', 'width', 'height']) if (!intText(f[k])) throw no(`${k}: Input should be a valid integer`, 422);
  for (const k of ['guidance_scale', 'guidance_scale_2', 'boundary_ratio', 'flow_shift']) if (!numText(f[k])) throw no(`${k}: Input should be a valid number`, 422);
  const steps = f.num_inference_steps === undefined ? undefined : Number(f.num_inference_steps);
  if (steps !== undefined && (steps < 1 || steps > 200)) throw no('num_inference_steps: Input should be between 1 and 200', 422);
  if (f.guidance_scale !== undefined && (Number(f.guidance_scale) < 0 || Number(f.guidance_scale) > 20)) throw no('guidance_scale: Input should be between 0 and 20', 422);
  if (f.generate_sound !== undefined && !['true', 'false', '1', '0'].includes(f.generate_sound)) throw no('generate_sound: Input should be a valid boolean', 422);
  if (f.model !== undefined && f.model !== model) throw no(`The model \`${f.model}\` does not exist.`, 404);
  const file = files.input_reference;
  if (f.input_reference !== undefined) throw no('input_reference must be a file');
  const image = file ? await decodeImage(file.data, 'input_reference') : null;
  return { body: { ...f, ...(file ? { input_reference: { filename: file.filename, type: file.type, bytes: file.data.length } } : {}) }, image, seconds: Number(f.seconds ?? 4), size: f.size ?? '1280x720' };
}

const isInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v);
/** Pydantic's lax int: an integer, or the decimal text of one. */
const laxInt = (v: unknown) => isInt(v) || (typeof v === 'string' && /^-?\d+$/.test(v));

/** SGLang's create: JSON (its multipart path needs a file, which Reelay does not send); unknown fields allowed ([SGL-API]). */
async function sglangCreate(req: IncomingMessage, body: unknown) {
  if (!isJson(req)) throw no('fake: Reelay\'s SGLang dialect sends JSON', 415);
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw no('Invalid request body: expected a JSON object');
  const b = { ...(body as Record<string, unknown>) };
  if (b.extra_body && typeof b.extra_body === 'object') Object.assign(b, b.extra_body);
  if (typeof b.prompt !== 'string') throw no('Invalid request body: prompt: Field required');
  if (b.seconds !== undefined && !laxInt(b.seconds)) throw no('Invalid request body: seconds: Input should be a valid integer');
  if (b.size !== undefined && (typeof b.size !== 'string' || !/^\d+x\d+$/.test(b.size))) throw no('Invalid request body: size must be WxH');
  if (b.seed !== undefined && !laxInt(b.seed) && !(Array.isArray(b.seed) && b.seed.every(laxInt))) throw no('Invalid request body: seed must be an integer or a list of them');
  for (const k of ['fps', 'num_frames', 'num_inference_steps']) if (b[k] !== undefined && !laxInt(b[k])) throw no(`Invalid request body: ${k}: Input should be a valid integer`);
  const image = b.input_reference === undefined ? null : await stringImage(b.input_reference, 'input_reference');
  return { body: body as Record<string, unknown>, image, seconds: Number(b.seconds ?? 4), size: (b.size as string | undefined) ?? '720x1280' };
}

/** Dynamo's create: JSON with `nvext`; unknown top-level fields pass through (DYNAMO-I2V; NvCreateVideoRequest). */
async function dynamoCreate(req: IncomingMessage, body: unknown, model: string) {
  if (!isJson(req)) throw no('Content-Type must be application/json', 415);
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw no('Failed to deserialize the JSON body', 422);
  const b = body as Record<string, unknown>;
  if (typeof b.prompt !== 'string') throw no('missing field `prompt`', 422);
  if (typeof b.model !== 'string') throw no('missing field `model`', 422);
  if (b.model !== model) throw no(`Model not found: ${b.model}`, 404);
  if (b.response_format !== undefined && b.response_format !== 'url' && b.response_format !== 'b64_json') throw no('response_format: unknown variant, expected `url` or `b64_json`', 422);
  if (b.seconds !== undefined && !isInt(b.seconds)) throw no('seconds: invalid type, expected i32', 422);
  if (b.size !== undefined && (typeof b.size !== 'string' || !/^\d+x\d+$/.test(b.size))) throw no('size must be WxH');
  const nv = (b.nvext ?? {}) as Record<string, unknown>;
  if (typeof nv !== 'object' || Array.isArray(nv)) throw no('nvext: invalid type, expected a map', 422);
  for (const k of NVEXT_INT) if (nv[k] !== undefined && !isInt(nv[k])) throw no(`nvext.${k}: invalid type, expected an integer`, 422);
  for (const k of NVEXT_NUM) if (nv[k] !== undefined && typeof nv[k] !== 'number') throw no(`nvext.${k}: invalid type, expected a number`, 422);
  if ((nv.num_frames !== undefined && (nv.num_frames as number) < 1) || (nv.fps !== undefined && (nv.fps as number) < 1)) throw no('nvext: num_frames and fps must be at least 1', 422);
  const image = b.input_reference === undefined ? null : await stringImage(b.input_reference, 'input_reference');
  const fps = (nv.fps as number | undefined) ?? 24;
  const seconds = nv.num_frames !== undefined ? Math.max(1, Math.round((nv.num_frames as number) / fps)) : (b.seconds as number | undefined) ?? 4;
  return { body: b, image, seconds, size: (b.size as string | undefined) ?? '832x480' };
}

export async function startGpuServer(o: GpuServerOptions): Promise<GpuServer> {
  const slots = o.slots ?? 1;
  const jobs = new Map<string, Job>();
  let gpuJobs = new Set<Job>();
  // The returned server object itself, so tests read its counters live.
  let s!: GpuServer;
  const fail = (res: ServerResponse, status: number, message: string) => sendJson(res, status, errorBody(o.dialect, status, message));

  function start(j: Job) {
    gpuJobs.add(j);
    s.maxRunning = Math.max(s.maxRunning, gpuJobs.size);
    o.onStart?.(j.id, performance.now());
    const failWith = s.failNext;
    s.failNext = null;
    j.timer = setTimeout(() => {
      gpuJobs.delete(j);
      j.finishedAt = Date.now();
      if (failWith) Object.assign(j, { status: 'failed', error: failWith });
      else j.status = 'completed';
      o.onFinish?.(j.id, performance.now());
    }, j.jobMs);
  }

  /** The job record each server answers (§6.2's job-record row). */
  function record(j: Job): Record<string, unknown> {
    const elapsed = Date.now() - j.startedAt;
    const running = j.status === 'queued' || j.status === 'in_progress';
    const progress = j.status === 'completed' ? 100 : running ? Math.min(99, Math.floor((100 * elapsed) / j.jobMs)) : 0;
    const common = { id: j.id, object: 'video', model: o.model, created_at: Math.floor(j.startedAt / 1000), size: j.size };
    if (o.dialect === 'sglang') {
      // queued → completed | failed; no in_progress and no progress until done [U].
      return { ...common, status: j.status === 'in_progress' ? 'queued' : j.status, progress: j.status === 'completed' ? 100 : 0, seconds: String(j.seconds),
        quality: 'standard', url: null, completed_at: j.finishedAt ? Math.floor(j.finishedAt / 1000) : null, error: j.error ? { message: j.error } : null };
    }
    if (o.dialect === 'dynamo') {
      return { id: j.id, object: 'video', model: o.model, status: j.status, progress, created: Math.floor(j.startedAt / 1000),
        data: j.status === 'completed' ? [{ url: `${server.origin}/media/${j.id}.mp4`, output_format: 'mp4' }] : [],
        ...(j.error ? { error: j.error } : {}), ...(j.finishedAt ? { inference_time_s: (j.finishedAt - j.startedAt) / 1000 } : {}) };
    }
    return { ...common, status: j.status, progress, seconds: String(j.seconds), quality: 'default', completed_at: j.finishedAt ? Math.floor(j.finishedAt / 1000) : null,
      expires_at: null, error: j.error ? { code: 'generation_failed', message: j.error } : null, media_type: 'video/mp4',
      inference_time_s: j.finishedAt ? (j.finishedAt - j.startedAt) / 1000 : null };
  }

  async function create(req: IncomingMessage, res: ServerResponse, rec: Recorded, raw: Buffer) {
    let parsed;
    try {
      parsed = o.dialect === 'vllm-omni' ? await vllmCreate(req, raw, o.model) : o.dialect === 'sglang' ? await sglangCreate(req, rec.body) : await dynamoCreate(req, rec.body, o.model);
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      s.refused.push({ status: e.status, message: e.message });
      return fail(res, e.status, e.message);
    }
    if (gpuJobs.size >= slots) {
      s.busyAnswers++;
      return fail(res, 503, 'Server is busy: every GPU is running a generation');
    }
    const id = o.dialect === 'vllm-omni' ? `video_gen_${randomBytes(16).toString('hex')}` : randomUUID();
    const j: Job = { id, status: o.dialect === 'sglang' ? 'queued' : 'in_progress', startedAt: Date.now(), seconds: parsed.seconds, size: parsed.size, jobMs: s.jobMs };
    jobs.set(id, j);
    s.created.push({ id, body: parsed.body, image: parsed.image });
    start(j);
    if (o.dialect === 'dynamo' && (o.dynamo ?? 'sync') === 'sync') return answerWhenDone(res, j);
    sendJson(res, 200, o.dialect === 'vllm-omni' ? { ...record(j), status: 'queued', progress: 0 } : record(j));
  }

  /** Dynamo answers the create once the video is done (NvVideosResponse: status completed, data[0].url). */
  function answerWhenDone(res: ServerResponse, j: Job) {
    const check = setInterval(() => {
      if (!jobs.has(j.id)) { clearInterval(check); res.destroy(); return; }
      if (j.status === 'completed' || j.status === 'failed') { clearInterval(check); sendJson(res, 200, record(j)); }
    }, 5);
    res.on('close', () => clearInterval(check));
  }

  function content(res: ServerResponse, j: Job | undefined) {
    if (!j) return fail(res, 404, 'Video not found');
    const fileThere = j.status === 'completed' && Date.now() - (j.finishedAt ?? 0) >= (o.contentLagMs ?? 0);
    if (!fileThere) return fail(res, 404, 'Generation is still in-progress');
    const mp4 = sampleMp4();
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': mp4.length });
    res.end(mp4);
  }

  function remove(res: ServerResponse, id: string) {
    const j = jobs.get(id);
    if (!j) return fail(res, 404, 'Video not found');
    jobs.delete(id);
    s.deleted.push(id);
    if (o.dialect === 'sglang') {
      // "cannot abort a running job": the GPU stays busy until it ends.
      j.detached = true;
      return sendJson(res, 200, { ...record(j), status: 'deleted' });
    }
    clearTimeout(j.timer);
    gpuJobs.delete(j);
    sendJson(res, 200, { id, object: 'video.deleted', deleted: true });
  }

  const handler = async (req: IncomingMessage, res: ServerResponse, rec: Recorded, raw: Buffer) => {
    o.onRequest?.(req.method ?? '', req.url ?? '', performance.now());
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/media/') && o.dialect === 'dynamo') return content(res, jobs.get(url.pathname.slice(7).replace(/\.mp4$/, '')));
    if (o.apiKey && req.headers.authorization !== `Bearer ${o.apiKey}`) return fail(res, 401, 'Unauthorized');
    const m = /^\/v1\/videos(?:\/([^/]+))?(\/content)?$/.exec(url.pathname);
    if (!m) return fail(res, 404, 'Not Found');
    const id = m[1] ? decodeURIComponent(m[1]) : undefined;
    if (!id && req.method === 'POST') return create(req, res, rec, raw);
    if (!id && req.method === 'GET') return sendJson(res, 200, { object: 'list', data: [...jobs.values()].map(record), has_more: false });
    if (id && m[2] && req.method === 'GET') return content(res, jobs.get(id));
    if (id && req.method === 'GET') {
      const j = jobs.get(id);
      return j ? sendJson(res, 200, record(j)) : fail(res, 404, 'Video not found');
    }
    if (id && req.method === 'DELETE') return remove(res, id);
    return fail(res, 405, 'Method Not Allowed');
  };

  const server = await startFake(handler, { record: o.record ?? true });
  const port = Number(new URL(server.origin).port);
  const forget = () => {
    for (const j of jobs.values()) clearTimeout(j.timer);
    for (const j of gpuJobs) clearTimeout(j.timer);
    jobs.clear();
    gpuJobs = new Set();
  };
  s = Object.assign(server, {
    created: [], refused: [], busyAnswers: 0, maxRunning: 0, deleted: [], failNext: null, jobMs: o.jobMs ?? 300,
    baseUrl: `${server.origin}/v1`,
    running: () => gpuJobs.size,
    restart: forget,
    async down() {
      forget();
      await new Promise<void>((r) => { server.server.closeAllConnections(); server.server.close(() => r()); });
    },
    async up() {
      forget();
      await new Promise<void>((r) => server.server.listen(port, '127.0.0.1', r));
    },
  }) as GpuServer;
  return s;
}
