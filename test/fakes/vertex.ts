// A strict stand-in for Vertex AI Veo (UPSTREAM.md §3): predictLongRunning,
// fetchPredictOperation (a POST), Bearer auth, Google's error envelope. With
// parameters.storageUri it writes the video to the storage fake and answers
// with its gs:// URI, as Vertex does.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { isB64, isJson, playScript, sampleMp4, sendJson, startFake, type FakeServer, type Scripted } from './http-fake.ts';
import { googleError } from './gemini.ts';
import { bearerProblem, type BearerCheck } from './google-auth.ts';
import type { StorageFake } from './cloud-storage.ts';

const MODELS: Record<string, { durations: number[]; veo3: boolean }> = {
  'veo-2.0-generate-001': { durations: [5, 6, 7, 8], veo3: false },
  'veo-3.0-generate-001': { durations: [4, 6, 8], veo3: true },
  'veo-3.0-fast-generate-001': { durations: [4, 6, 8], veo3: true },
  'veo-3.1-generate-preview': { durations: [4, 6, 8], veo3: true },
  'veo-3.1-fast-generate-preview': { durations: [4, 6, 8], veo3: true },
};
const PARAM_FIELDS = new Set(['aspectRatio', 'durationSeconds', 'enhancePrompt', 'generateAudio', 'negativePrompt', 'personGeneration', 'resolution', 'sampleCount', 'seed', 'storageUri', 'compressionQuality', 'resizeMode', 'fps', 'pubsubTopic']);

/** How operations end; 'gcs' answers with a gs:// URI whose object was never written (deleted by a lifecycle rule, say). */
export type VertexOutcome = 'ok' | 'gcs' | 'foreign-gcs' | 'filtered' | 'failed';

export interface VertexFake extends FakeServer {
  baseUrl: string;
  script: { submit: Scripted[]; poll: Scripted[] };
  outcome: VertexOutcome;
  pollsUntilDone: number;
  /** The video answered inline (default: the small sample clip). */
  inlineVideo: Buffer | null;
}

/**
 * `token`: the one accepted token, or a token fake whose live tokens are accepted.
 * `storage`: where results go when a request sets parameters.storageUri.
 */
export async function startVertexFake(o: { project: string; location: string; token: BearerCheck; storage?: StorageFake }): Promise<VertexFake> {
  const ops = new Map<string, { polls: number; outcome: VertexOutcome; storageUri: string | undefined }>();
  let folders = 0;
  const fake: Partial<VertexFake> = { script: { submit: [], poll: [] }, outcome: 'ok', pollsUntilDone: 2, inlineVideo: null };
  const err = (res: ServerResponse, code: number, message: string) => sendJson(res, code, googleError(code, message));
  const server = await startFake((req, res, rec) => {
    const problem = bearerProblem(req, o.token);
    if (problem) return err(res, 401, problem);
    const m = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/google\/models\/([^/:]+):(predictLongRunning|fetchPredictOperation)$/.exec(rec.path);
    if (!m || req.method !== 'POST') return err(res, 404, 'Not found');
    const [, project, location, modelId, verb] = m;
    if (project !== o.project) return err(res, 403, `Permission denied on resource project ${project}.`);
    if (location !== o.location) return err(res, 400, `Location ${location} is not supported.`);
    const model = MODELS[modelId!];
    if (!model) return err(res, 404, `Publisher Model \`projects/${project}/locations/${location}/publishers/google/models/${modelId}\` not found.`);
    if (!isJson(req)) return err(res, 400, 'Invalid JSON payload: Content-Type must be application/json.');
    if (verb === 'predictLongRunning') {
      if (playScript(fake.script!.submit.shift(), res, googleError)) return;
      const bad = checkBody(rec.body, model);
      if (bad) return err(res, 400, bad);
      const storageUri = (rec.body as { parameters?: { storageUri?: string } }).parameters?.storageUri;
      if (storageUri !== undefined && !o.storage) return err(res, 400, 'This fake has no Cloud Storage to write storageUri results to.');
      const name = `projects/${project}/locations/${location}/publishers/google/models/${modelId}/operations/${randomUUID()}`;
      ops.set(name, { polls: 0, outcome: fake.outcome!, storageUri });
      return sendJson(res, 200, { name });
    }
    if (playScript(fake.script!.poll.shift(), res, googleError)) return;
    const name = (rec.body as { operationName?: unknown } | undefined)?.operationName;
    if (typeof name !== 'string') return err(res, 400, 'operationName is required.');
    const op = ops.get(name);
    if (!op || !name.includes(`/models/${modelId}/operations/`)) return err(res, 404, 'Operation not found.');
    if (op.polls++ < fake.pollsUntilDone!) return sendJson(res, 200, { name });
    const response = (videos: unknown[], filtered = 0) => ({ '@type': 'type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse', raiMediaFilteredCount: filtered, videos });
    switch (op.outcome) {
      case 'failed': return sendJson(res, 200, { name, done: true, error: { code: 3, message: 'Unsupported image content.' } });
      case 'filtered': return sendJson(res, 200, { name, done: true, response: response([], 1) });
      case 'gcs': {
        const bucket = op.storageUri ? /^gs:\/\/([^/]+)/.exec(op.storageUri)![1] : 'bucket';
        return sendJson(res, 200, { name, done: true, response: response([{ gcsUri: `gs://${bucket}/123/sample_0.mp4`, mimeType: 'video/mp4' }]) });
      }
      // A URI in a bucket the request never named (what a confused or hostile answer would give).
      case 'foreign-gcs': return sendJson(res, 200, { name, done: true, response: response([{ gcsUri: 'gs://someone-elses-bucket/secret.mp4', mimeType: 'video/mp4' }]) });
      default: {
        if (op.storageUri === undefined) return sendJson(res, 200, { name, done: true, response: response([{ bytesBase64Encoded: (fake.inlineVideo ?? sampleMp4()).toString('base64'), mimeType: 'video/mp4' }]) });
        // gs://BUCKET/<prefix>/<numeric folder>/sample_0.mp4, written once the operation is done.
        const [, bucket, rest] = /^gs:\/\/([^/]+)\/?(.*)$/.exec(op.storageUri)!;
        const prefix = rest!.replace(/\/+$/, '');
        const object = `${prefix}${prefix ? '/' : ''}${Date.now()}${String(folders++).padStart(4, '0')}/sample_0.mp4`;
        o.storage!.put(bucket!, object, sampleMp4());
        return sendJson(res, 200, { name, done: true, response: response([{ gcsUri: `gs://${bucket}/${object}`, mimeType: 'video/mp4' }]) });
      }
    }
  });
  return Object.assign(fake, server, { baseUrl: server.origin }) as VertexFake;
}

export function checkBody(body: unknown, model: { durations: number[]; veo3: boolean }): string | null {
  const b = body as { instances?: unknown; parameters?: Record<string, unknown> } | null;
  if (!b || !Array.isArray(b.instances) || b.instances.length < 1) return 'instances is required.';
  const inst = b.instances[0] as Record<string, unknown>;
  if (typeof inst.prompt !== 'string' || !inst.prompt) return 'instances[0].prompt is required.';
  const img = inst.image as { bytesBase64Encoded?: unknown; gcsUri?: unknown; mimeType?: unknown } | undefined;
  if (!img) return 'instances[0].image is required for image-to-video.';
  if (!(isB64(img.bytesBase64Encoded) || typeof img.gcsUri === 'string') || typeof img.mimeType !== 'string') return 'instances[0].image needs bytesBase64Encoded or gcsUri, and mimeType.';
  const p = b.parameters ?? {};
  for (const k of Object.keys(p)) if (!PARAM_FIELDS.has(k)) return `Invalid JSON payload received. Unknown name "${k}" at 'parameters'.`;
  if (p.durationSeconds !== undefined && (!Number.isInteger(p.durationSeconds) || !model.durations.includes(p.durationSeconds as number))) return `durationSeconds ${String(p.durationSeconds)} is not supported for this model.`;
  if (!model.veo3 && (p.resolution !== undefined || p.generateAudio !== undefined)) return 'resolution and generateAudio are supported by Veo 3 models only.';
  if (p.resolution !== undefined && !['720p', '1080p', '4k'].includes(p.resolution as string)) return 'Unsupported resolution.';
  if (p.sampleCount !== undefined && !(Number.isInteger(p.sampleCount) && (p.sampleCount as number) >= 1 && (p.sampleCount as number) <= 4)) return 'sampleCount must be 1–4.';
  if (p.seed !== undefined && !(Number.isInteger(p.seed) && (p.seed as number) >= 0 && (p.seed as number) <= 4294967295)) return 'seed must be an unsigned 32-bit integer.';
  if (p.storageUri !== undefined && !(typeof p.storageUri === 'string' && /^gs:\/\/[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](\/.*)?$/.test(p.storageUri))) return 'storageUri must be a gs://bucket/prefix URI.';
  return null;
}
