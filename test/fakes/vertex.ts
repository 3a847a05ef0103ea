// A strict stand-in for Vertex AI Veo as served on 2026-11-30 (UPSTREAM.md §3):
// only the live veo-3.1 `-001` ids, their per-model limits, predictLongRunning,
// fetchPredictOperation (a POST), the publisher-model GET, Bearer auth and
// Google's error envelope. With parameters.storageUri it writes the video to
// the storage fake and answers with its gs:// URI, as Vertex does.
import { createHash, randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { isB64, isJson, playScript, sampleMp4, sendJson, startFake, type FakeServer, type Scripted } from './http-fake.ts';
import { bearerProblem, googleError, type BearerCheck } from './google-auth.ts';
import type { StorageFake } from './cloud-storage.ts';

interface Limits { resolutions: string[]; references: boolean; extension: boolean; launchStage: string }
const FULL: Limits = { resolutions: ['720p', '1080p', '4k'], references: true, extension: true, launchStage: 'GA' };
/**
 * The only ids Vertex serves; every other Veo id (veo-2.0, veo-3.0-*, every -preview) answers 404.
 * [U] 4k on the GA ids: third parties report it; the fake accepts it (the adapter handles a 400 naming
 * resolution as the other reading). [U] lite at 1080p: one source says 720p only; the fake accepts 1080p.
 */
export const LIVE_MODELS: Record<string, Limits> = {
  'veo-3.1-generate-001': FULL,
  'veo-3.1-fast-generate-001': FULL,
  'veo-3.1-lite-generate-001': { resolutions: ['720p', '1080p'], references: false, extension: false, launchStage: 'PUBLIC_PREVIEW' },
};

/** Google's 404 for a publisher model the project cannot call (the wording Vertex uses for retired and unknown ids). */
export const modelNotFound = (resource: string) =>
  `Publisher Model \`${resource}\` was not found or your project does not have access to it. Please ensure you are using a valid model version. For more information, see: https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions`;

/** How operations end; 'gcs' answers with a gs:// URI whose object was never written (deleted by a lifecycle rule, say). */
export type VertexOutcome = 'ok' | 'gcs' | 'foreign-gcs' | 'filtered' | 'failed';

export interface VertexFake extends FakeServer {
  baseUrl: string;
  /** Answers to play before the real handling: create, poll, and the publisher-model GET of check(). */
  script: { submit: Scripted[]; poll: Scripted[]; get: Scripted[] };
  outcome: VertexOutcome;
  /** The `error` of an operation whose outcome is 'failed'. */
  operationError: { code: number; message: string };
  pollsUntilDone: number;
  /** The video answered inline (default: the small sample clip). */
  inlineVideo: Buffer | null;
  /** Sent as Retry-After with scripted 429 answers (null: none, as Google often omits it). */
  retryAfter: string | null;
}

/** Google's front end answers an unknown path with an HTML page, not the JSON envelope. */
function unknownRoute(res: ServerResponse, path: string): void {
  const html = `<!DOCTYPE html><html lang=en><title>Error 404 (Not Found)!!1</title><p><b>404.</b> <ins>That's an error.</ins><p>The requested URL <code>${path.replace(/[<>&]/g, '')}</code> was not found on this server. <ins>That's all we know.</ins>`;
  res.writeHead(404, { 'content-type': 'text/html; charset=UTF-8' }).end(html);
}

/**
 * `token`: the one accepted token, or a token fake whose live tokens are accepted.
 * `storage`: where results go when a request sets parameters.storageUri.
 * `allowAll`: the project is allowlisted for personGeneration "allow_all" (default: not).
 */
export async function startVertexFake(o: { project: string; location: string; token: BearerCheck; storage?: StorageFake; allowAll?: boolean }): Promise<VertexFake> {
  const ops = new Map<string, { polls: number; outcome: VertexOutcome; storageUri: string | undefined; samples: number }>();
  let folders = 0;
  const fake: Partial<VertexFake> = {
    script: { submit: [], poll: [], get: [] }, outcome: 'ok', pollsUntilDone: 2, inlineVideo: null, retryAfter: null,
    operationError: { code: 3, message: 'Unsupported image content.' },
  };
  const err = (res: ServerResponse, code: number, message: string) => sendJson(res, code, googleError(code, message));
  const play = (s: Scripted | undefined, res: ServerResponse) => {
    if (typeof s === 'object' && s.status === 429 && fake.retryAfter !== null) res.setHeader('retry-after', fake.retryAfter!);
    return playScript(s, res, googleError);
  };
  const server = await startFake((req, res, rec) => {
    const problem = bearerProblem(req, o.token);
    if (problem) return err(res, 401, problem);
    const path = rec.path.split('?')[0]!;
    const get = /^\/v1\/publishers\/google\/models\/([^/:]+)$/.exec(path);
    if (get && req.method === 'GET') {
      if (play(fake.script!.get.shift(), res)) return;
      const limits = LIVE_MODELS[get[1]!];
      if (!limits) return err(res, 404, `Publisher Model \`publishers/google/models/${get[1]}\` not found.`);
      return sendJson(res, 200, { name: `publishers/google/models/${get[1]}`, versionId: '001', openSourceCategory: 'PROPRIETARY', launchStage: limits.launchStage });
    }
    const m = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/google\/models\/([^/:]+):(predictLongRunning|fetchPredictOperation)$/.exec(path);
    if (!m || req.method !== 'POST') return unknownRoute(res, path);
    const [, project, location, modelId, verb] = m as unknown as [string, string, string, string, string];
    const resource = `projects/${project}/locations/${location}/publishers/google/models/${modelId}`;
    if (project !== o.project) return err(res, 403, `Permission 'aiplatform.endpoints.predict' denied on resource '//aiplatform.googleapis.com/${resource}' (or it may not exist).`);
    if (location !== o.location) return err(res, 400, `Location ${location} is not supported.`);
    if (!LIVE_MODELS[modelId]) return err(res, 404, modelNotFound(resource));
    if (!isJson(req)) return err(res, 400, 'Invalid JSON payload: Content-Type must be application/json.');
    if (verb === 'predictLongRunning') {
      if (play(fake.script!.submit.shift(), res)) return;
      const readGcs = (uri: string) => { const m = /^gs:\/\/([^/]+)\/(.+)$/.exec(uri); return m ? o.storage?.objects.get(`${m[1]}/${m[2]}`) : undefined; };
      const bad = checkBody(rec.body, modelId, { allowAll: o.allowAll ?? false, readGcs });
      if (bad) return err(res, 400, bad);
      const p = (rec.body as { parameters?: { storageUri?: string; sampleCount?: number } }).parameters;
      if (p?.storageUri !== undefined && !o.storage) return err(res, 400, 'This fake has no Cloud Storage to write storageUri results to.');
      const name = `${resource}/operations/${randomUUID()}`;
      ops.set(name, { polls: 0, outcome: fake.outcome!, storageUri: p?.storageUri, samples: p?.sampleCount ?? 1 });
      return sendJson(res, 200, { name });
    }
    if (play(fake.script!.poll.shift(), res)) return;
    const name = (rec.body as { operationName?: unknown } | undefined)?.operationName;
    if (typeof name !== 'string') return err(res, 400, 'operationName is required.');
    const op = ops.get(name);
    if (!op || !name.startsWith(`${resource}/operations/`)) return err(res, 404, `Operation \`${name}\` not found.`);
    if (op.polls++ < fake.pollsUntilDone!) return sendJson(res, 200, { name });
    sendJson(res, 200, { name, done: true, ...finish(op) });
  });

  function finish(op: { outcome: VertexOutcome; storageUri: string | undefined; samples: number }): Record<string, unknown> {
    const response = (videos: unknown[], filtered = 0) => ({
      '@type': 'type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse', raiMediaFilteredCount: filtered, videos,
      ...(filtered ? { raiMediaFilteredReasons: ['The generated video was filtered because it violates our usage guidelines.'] } : {}),
    });
    const samples = Array.from({ length: op.samples }, (_, i) => i);
    switch (op.outcome) {
      case 'failed': return { error: fake.operationError };
      case 'filtered': return { response: response([], 1) };
      case 'gcs': {
        const bucket = op.storageUri ? /^gs:\/\/([^/]+)/.exec(op.storageUri)![1] : 'bucket';
        return { response: response([{ gcsUri: `gs://${bucket}/123/sample_0.mp4`, mimeType: 'video/mp4' }]) };
      }
      // A URI in a bucket the request never named (what a confused or hostile answer would give).
      case 'foreign-gcs': return { response: response([{ gcsUri: 'gs://someone-elses-bucket/secret.mp4', mimeType: 'video/mp4' }]) };
      default: {
        const video = fake.inlineVideo ?? sampleMp4();
        if (op.storageUri === undefined) return { response: response(samples.map(() => ({ bytesBase64Encoded: video.toString('base64'), mimeType: 'video/mp4' }))) };
        // gs://BUCKET/<prefix>/<numeric folder>/sample_N.mp4, written once the operation is done.
        const [, bucket, rest] = /^gs:\/\/([^/]+)\/?(.*)$/.exec(op.storageUri)! as unknown as [string, string, string];
        const prefix = rest.replace(/\/+$/, '');
        const folder = `${prefix}${prefix ? '/' : ''}${Date.now()}${String(folders++).padStart(4, '0')}`;
        for (const i of samples) o.storage!.put(bucket, `${folder}/sample_${i}.mp4`, video);
        return { response: response(samples.map((i) => ({ gcsUri: `gs://${bucket}/${folder}/sample_${i}.mp4`, mimeType: 'video/mp4' }))) };
      }
    }
  }
  return Object.assign(fake, server, { baseUrl: server.origin }) as VertexFake;
}

const TOP_FIELDS = new Set(['instances', 'parameters', 'labels']);
const INSTANCE_FIELDS = new Set(['prompt', 'image', 'lastFrame', 'video', 'referenceImages', 'mask']);
const PARAM_FIELDS = new Set(['aspectRatio', 'durationSeconds', 'enhancePrompt', 'generateAudio', 'negativePrompt', 'personGeneration', 'resolution', 'sampleCount', 'seed', 'storageUri', 'compressionQuality', 'resizeMode', 'fps', 'pubsubTopic']);
const unknownName = (k: string, at: string) => `Invalid JSON payload received. Unknown name "${k}" at '${at}': Cannot find field.`;
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A media object: `{bytesBase64Encoded | gcsUri, mimeType}`; `inlineData` is refused as the service refuses it. */
function mediaProblem(v: unknown, at: string): string | null {
  if (!isObject(v)) return `${at} must be an object with bytesBase64Encoded or gcsUri, and mimeType.`;
  if ('inlineData' in v) return '`inlineData` isn\'t supported by this model.';
  for (const k of Object.keys(v)) if (!['bytesBase64Encoded', 'gcsUri', 'mimeType'].includes(k)) return unknownName(k, at);
  const sources = Number(v.bytesBase64Encoded !== undefined) + Number(v.gcsUri !== undefined);
  if (sources !== 1 || !(isB64(v.bytesBase64Encoded) || (typeof v.gcsUri === 'string' && v.gcsUri.startsWith('gs://')))) {
    return `${at} needs exactly one of bytesBase64Encoded (base64) or gcsUri (gs://).`;
  }
  if (typeof v.mimeType !== 'string' || !v.mimeType) return `${at}.mimeType is required.`;
  return null;
}

/** Limits shared by every live id (UPSTREAM.md §3); 8 s is required for 1080p, 4k, references and extension (§1.1, §3). */
function parameterProblem(p: Record<string, unknown>, inst: Record<string, unknown>, modelId: string, limits: Limits, allowAll: boolean): string | null {
  for (const k of Object.keys(p)) if (!PARAM_FIELDS.has(k)) return unknownName(k, 'parameters');
  if (p.aspectRatio !== undefined && !['16:9', '9:16'].includes(p.aspectRatio as string)) return `aspectRatio ${JSON.stringify(p.aspectRatio)} is not supported; use 16:9 or 9:16.`;
  const d = p.durationSeconds ?? 8;
  if (!Number.isInteger(d) || ![4, 6, 8].includes(d as number)) return `durationSeconds must be an integer 4, 6 or 8 (got ${JSON.stringify(p.durationSeconds)}).`;
  const r = p.resolution ?? '720p';
  if (typeof r !== 'string' || !limits.resolutions.includes(r)) return `resolution ${JSON.stringify(r)} is not supported by ${modelId}; supported: ${limits.resolutions.join(', ')}.`;
  const needs8 = r === '1080p' || r === '4k' ? `resolution ${r}` : inst.referenceImages !== undefined ? 'referenceImages' : inst.video !== undefined ? 'video extension' : null;
  if (needs8 && d !== 8) return `durationSeconds ${String(d)} is not supported with ${needs8}; it requires durationSeconds 8.`;
  if (p.sampleCount !== undefined && !(Number.isInteger(p.sampleCount) && (p.sampleCount as number) >= 1 && (p.sampleCount as number) <= 4)) return 'sampleCount must be an integer from 1 to 4.';
  if (p.seed !== undefined && !(Number.isInteger(p.seed) && (p.seed as number) >= 0 && (p.seed as number) <= 4294967295)) return 'seed must be an unsigned 32-bit integer.';
  for (const k of ['generateAudio', 'enhancePrompt']) if (p[k] !== undefined && typeof p[k] !== 'boolean') return `${k} must be a boolean.`;
  for (const k of ['negativePrompt', 'pubsubTopic']) if (p[k] !== undefined && typeof p[k] !== 'string') return `${k} must be a string.`;
  if (p.personGeneration === 'allow_all' && !allowAll) return 'allow_all for personGeneration is currently not supported for this project.';
  if (p.personGeneration !== undefined && !['dont_allow', 'allow_adult', 'allow_all'].includes(p.personGeneration as string)) return 'personGeneration must be dont_allow, allow_adult or allow_all.';
  if (p.storageUri !== undefined && !(typeof p.storageUri === 'string' && /^gs:\/\/[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](\/.*)?$/.test(p.storageUri))) return 'storageUri must be a gs://bucket/prefix URI.';
  if (p.resizeMode !== undefined && !['pad', 'crop'].includes(p.resizeMode as string)) return 'resizeMode must be pad or crop.';
  if (p.compressionQuality !== undefined && !['optimized', 'lossless'].includes(p.compressionQuality as string)) return 'compressionQuality must be optimized or lossless.';
  if (p.fps !== undefined && !Number.isInteger(p.fps)) return 'fps must be an integer.';
  return null;
}

/**
 * What Vertex refuses in a predictLongRunning body for `modelId`, with its 400 message; null when it accepts it.
 * `readGcs`: the bytes of a gs:// object (the route reads the storage fake); without it a gs:// video is taken on trust.
 */
export function checkBody(body: unknown, modelId: string, o: { allowAll?: boolean; readGcs?: (uri: string) => Buffer | undefined } = {}): string | null {
  const limits = LIVE_MODELS[modelId];
  // The route answers 404 before reading the body; here for callers that check a body on its own.
  if (!limits) return modelNotFound(`publishers/google/models/${modelId}`);
  if (!isObject(body)) return 'Invalid JSON payload received. Expected an object.';
  for (const k of Object.keys(body)) if (!TOP_FIELDS.has(k)) return unknownName(k, '');
  if (!Array.isArray(body.instances) || body.instances.length < 1) return 'instances is required.';
  const inst = body.instances[0] as unknown;
  if (!isObject(inst)) return 'instances[0] must be an object.';
  for (const k of Object.keys(inst)) if (!INSTANCE_FIELDS.has(k)) return unknownName(k, 'instances[0]');
  if (inst.prompt !== undefined && (typeof inst.prompt !== 'string' || !inst.prompt)) return 'instances[0].prompt must be a non-empty string.';
  if (inst.prompt === undefined && inst.image === undefined && inst.video === undefined) return 'instances[0].prompt is required for text-to-video.';
  for (const k of ['image', 'lastFrame', 'video']) {
    const bad = inst[k] === undefined ? null : mediaProblem(inst[k], `instances[0].${k}`);
    if (bad) return bad;
  }
  if (inst.video !== undefined && !limits.extension) return `video (extension input) is not supported by ${modelId}.`;
  if (inst.referenceImages !== undefined) {
    if (!limits.references) return `referenceImages is not supported by ${modelId}.`;
    const refs = inst.referenceImages;
    if (!Array.isArray(refs) || refs.length < 1 || refs.length > 3) return 'instances[0].referenceImages takes 1 to 3 images.';
    for (const [i, ref] of refs.entries()) {
      const at = `instances[0].referenceImages[${i}]`;
      if (!isObject(ref)) return `${at} must be an object with image and referenceType.`;
      for (const k of Object.keys(ref)) if (k !== 'image' && k !== 'referenceType') return unknownName(k, at);
      const bad = mediaProblem(ref.image, `${at}.image`);
      if (bad) return bad;
      if (ref.referenceType !== 'asset') return `${at}.referenceType ${JSON.stringify(ref.referenceType)} is not supported by ${modelId}; use "asset".`;
    }
  }
  const combo = combinationProblem(inst);
  if (combo) return combo;
  if (inst.video !== undefined) {
    const bad = extensionVideoProblem(inst.video as Record<string, unknown>, o.readGcs);
    if (bad) return bad;
  }
  if (body.parameters !== undefined && !isObject(body.parameters)) return 'parameters must be an object.';
  return parameterProblem(body.parameters ?? {}, inst, modelId, limits, o.allowAll ?? false);
}

/**
 * Inputs no Veo mode takes together. [U] A start frame next to reference
 * images: one third-party doc says the two cannot both be set, another that
 * the references are then ignored; the fake takes the stricter reading. An
 * extension continues the video alone; a last frame needs a first.
 */
function combinationProblem(inst: Record<string, unknown>): string | null {
  if (inst.video !== undefined && (inst.image !== undefined || inst.lastFrame !== undefined || inst.referenceImages !== undefined)) {
    return 'video (extension input) cannot be combined with image, lastFrame or referenceImages.';
  }
  if (inst.image !== undefined && inst.referenceImages !== undefined) return 'image and referenceImages cannot be both set.';
  if (inst.lastFrame !== undefined && inst.image === undefined) return 'lastFrame requires image (the first frame).';
  return null;
}

/** §3 [V-EXTEND]: the extension input is an MP4, 1–30 s, 24 fps, 720p/1080p/4k, 16:9 or 9:16. Decoded with ffprobe. */
function extensionVideoProblem(v: Record<string, unknown>, readGcs?: (uri: string) => Buffer | undefined): string | null {
  if (v.mimeType !== 'video/mp4') return `instances[0].video.mimeType must be video/mp4 (got ${JSON.stringify(v.mimeType)}).`;
  let bytes: Buffer | undefined;
  if (typeof v.bytesBase64Encoded === 'string') bytes = Buffer.from(v.bytesBase64Encoded, 'base64');
  else if (readGcs) {
    bytes = readGcs(v.gcsUri as string);
    if (!bytes) return `Unable to read the input video ${String(v.gcsUri)}: the object does not exist or the service agent cannot read it.`;
  }
  if (!bytes) return null;
  const f = probeVideo(bytes);
  if (!f || !/\bmp4\b/.test(f.format)) return 'instances[0].video could not be decoded as an MP4 video.';
  if (f.duration < 1 || f.duration > 30) return `The input video must be 1 to 30 seconds long for extension (got ${f.duration.toFixed(2)} s).`;
  if (Math.abs(f.fps - 24) > 0.01) return `The input video must be 24 fps for extension (got ${Number(f.fps.toFixed(3))}).`;
  const sizes = ['1280x720', '1920x1080', '3840x2160', '720x1280', '1080x1920', '2160x3840'];
  if (!sizes.includes(`${f.width}x${f.height}`)) return `The input video must be 720p, 1080p or 4k in 16:9 or 9:16 for extension (got ${f.width}x${f.height}).`;
  return null;
}

export interface VideoFacts { format: string; duration: number; width: number; height: number; fps: number }

const probed = new Map<string, VideoFacts | null>();
/** What ffprobe reads in a clip (null: not a video it can decode); cached by content. */
export function probeVideo(bytes: Buffer): VideoFacts | null {
  const key = createHash('sha256').update(bytes).digest('hex');
  if (probed.has(key)) return probed.get(key)!;
  const dir = mkdtempSync(join(tmpdir(), 'reelay-probe-'));
  let facts: VideoFacts | null = null;
  try {
    writeFileSync(join(dir, 'in'), bytes);
    const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,r_frame_rate:format=format_name,duration', '-of', 'json', join(dir, 'in')], { encoding: 'utf8' });
    const j = JSON.parse(out) as { streams?: { width?: number; height?: number; r_frame_rate?: string }[]; format?: { format_name?: string; duration?: string } };
    const s = j.streams?.[0];
    const [num, den] = (s?.r_frame_rate ?? '0/1').split('/').map(Number) as [number, number];
    if (s?.width && s.height) facts = { format: j.format?.format_name ?? '', duration: Number(j.format?.duration ?? 0), width: s.width, height: s.height, fps: den ? num / den : 0 };
  } catch {
    facts = null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  probed.set(key, facts);
  return facts;
}

const clips = new Map<string, Buffer>();
/** A real H.264 MP4 (a test pattern) of the given size, frame rate and length, rendered once per process. */
export function renderClip(o: { width: number; height: number; fps?: number; seconds?: number; audio?: boolean }): Buffer {
  const { width, height, fps = 24, seconds = 1, audio = false } = o;
  const key = `${width}x${height}@${fps}:${seconds}:${audio}`;
  const cached = clips.get(key);
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'reelay-clip-'));
  try {
    const out = join(dir, 'clip.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${fps}`,
      ...(audio ? ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'] : []), '-t', String(seconds),
      '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '40', ...(audio ? ['-c:a', 'aac', '-shortest'] : []), out]);
    const clip = readFileSync(out);
    clips.set(key, clip);
    return clip;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
