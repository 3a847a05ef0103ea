import { imageMime } from '../upstream/job-facts.ts';
import type { ModelParams, OpenAiVideosDialect, ParamValue } from '../upstream/openai-videos-config.ts';
import type { UpstreamJob } from '../upstream/upstream-provider.ts';
import type { FilePart } from './multipart.ts';

/** The create call's body: vLLM-Omni takes a form with the image as a file, SGLang and Dynamo take JSON (UPSTREAM.md §6.2). */
export type CreateBody =
  | { kind: 'json'; json: Record<string, unknown> }
  | { kind: 'multipart'; fields: [string, string][]; files: Record<string, FilePart> };

export interface CreateRequest {
  body: CreateBody;
  /** The seed sent: the user's, else the operator's default for the model, else the one Reelay derived from the task. */
  seed: number;
}

const EXT: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp', 'image/gif': 'gif' };

export const dataUri = (image: Buffer) => `data:${imageMime(image)};base64,${image.toString('base64')}`;

/** What the request and the operator's defaults decide together; a request's own value always wins. */
function resolve(job: UpstreamJob, params: ModelParams) {
  const { seed: defaultSeed, negative_prompt: defaultNegative, fps, ...knobs } = params;
  const seed = !job.userSeed && typeof defaultSeed === 'number' ? defaultSeed : job.seed;
  const negative = job.negativePrompt ?? (typeof defaultNegative === 'string' ? defaultNegative : null);
  return { seed, negative, fps: typeof fps === 'number' ? fps : undefined, knobs };
}

/**
 * Our job → the server's create body (UPSTREAM.md §6.2). `model` is the
 * channel's name for it on that server, never the public name; `image` is the
 * start frame as it is to be sent (already framed to the task's aspect).
 *
 * - vLLM-Omni: multipart; `seconds` a string; the image the file `input_reference`.
 * - SGLang: JSON; `seconds` an integer; the image a data: URI in `input_reference`.
 * - Dynamo: JSON; no `seconds` but `nvext.num_frames`; `response_format: "url"`;
 *   the image a data: URI. A server-local path is never sent.
 */
export function createRequest(dialect: OpenAiVideosDialect, job: UpstreamJob, params: ModelParams, image: Buffer | undefined): CreateRequest {
  const r = resolve(job, params);
  const size = `${job.width}x${job.height}`;
  if (dialect === 'vllm-omni') {
    const fields: [string, string][] = [['model', job.upstreamModel], ['prompt', job.prompt], ['seconds', String(job.seconds)], ['size', size], ['seed', String(r.seed)]];
    if (r.negative) fields.push(['negative_prompt', r.negative]);
    if (r.fps !== undefined) fields.push(['fps', String(r.fps)]);
    for (const [k, v] of Object.entries(r.knobs)) fields.push([k, formValue(v)]);
    const files: Record<string, FilePart> = image ? { input_reference: { filename: `image.${EXT[imageMime(image)] ?? 'png'}`, contentType: imageMime(image), data: image } } : {};
    return { seed: r.seed, body: { kind: 'multipart', fields, files } };
  }
  const common = { model: job.upstreamModel, prompt: job.prompt, size, ...(image ? { input_reference: dataUri(image) } : {}) };
  if (dialect === 'sglang') {
    const json = { ...r.knobs, ...common, seconds: job.seconds, seed: r.seed, ...(r.negative ? { negative_prompt: r.negative } : {}), ...(r.fps !== undefined ? { fps: r.fps } : {}) };
    return { seed: r.seed, body: { kind: 'json', json } };
  }
  const nvext = {
    ...r.knobs, num_frames: job.seconds * (r.fps ?? job.fps), seed: r.seed,
    ...(r.negative ? { negative_prompt: r.negative } : {}), ...(r.fps !== undefined ? { fps: r.fps } : {}),
  };
  return { seed: r.seed, body: { kind: 'json', json: { ...common, response_format: 'url', nvext } } };
}

/** FastAPI reads form booleans as "true"/"false" and numbers from their decimal text. */
const formValue = (v: ParamValue) => (typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v));
