import { z } from 'zod';

/** The three self-hosted servers behind an OpenAI-style /v1/videos (UPSTREAM.md §6.2); they differ in body format and field types. */
export const DIALECTS = ['vllm-omni', 'sglang', 'dynamo'] as const;
export type OpenAiVideosDialect = (typeof DIALECTS)[number];

export type ParamValue = string | number | boolean;
/** Per public model: the operator's defaults for the server's own knobs (steps, guidance, negative prompt, seed, …). */
export type ModelParams = Readonly<Record<string, ParamValue>>;

export interface OpenAiVideosChannel {
  readonly provider: 'openai-videos';
  /** Always ends in /v1 (a root URL without it means the same, API.md §12). */
  readonly baseUrl: string;
  readonly apiKey: string | undefined;
  readonly dialect: OpenAiVideosDialect;
  /** Jobs in flight on this server at once: one GPU runs one generation. */
  readonly maxConcurrent: number;
  /** Poll interval for its jobs: a local server answers in a millisecond and its GPU should not idle. */
  readonly pollMs: number;
  readonly params: Readonly<Record<string, ModelParams>>;
}

/**
 * Knobs an operator may set per model, with their ranges where the server
 * states them (vLLM-Omni's request model). Reelay itself sends model,
 * prompt, size, the duration and the image from the request, so those are
 * not settable; a user's negative prompt or seed wins over the default.
 */
const KNOWN: Record<string, z.ZodType> = {
  num_inference_steps: z.number().int().min(1).max(200),
  guidance_scale: z.number().min(0).max(20),
  guidance_scale_2: z.number().min(0).max(20),
  boundary_ratio: z.number().min(0).max(1),
  flow_shift: z.number(),
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  negative_prompt: z.string().max(10_000),
  generate_sound: z.boolean(),
  /** The model's native frame rate (Wan 2.2 A14B: 16); the duration stays the task's. */
  fps: z.number().int().min(1).max(120),
};

/** Which knobs each server takes (UPSTREAM.md §6.2); SGLang allows unknown fields, so any name it may read passes. */
const ALLOWED: Record<OpenAiVideosDialect, ReadonlySet<string> | 'any'> = {
  'vllm-omni': new Set(['num_inference_steps', 'guidance_scale', 'guidance_scale_2', 'boundary_ratio', 'flow_shift', 'seed', 'negative_prompt', 'generate_sound', 'fps']),
  sglang: 'any',
  // nvext's knobs; negative_prompt and fps also go in nvext (Dynamo's own NvExt has them).
  dynamo: new Set(['num_inference_steps', 'guidance_scale', 'guidance_scale_2', 'boundary_ratio', 'seed', 'negative_prompt', 'fps']),
};
/** Set by Reelay from the request, never by an operator's default. */
const RESERVED = new Set(['model', 'prompt', 'seconds', 'size', 'width', 'height', 'num_frames', 'input_reference', 'image_reference',
  'reference_url', 'response_format', 'nvext', 'extra_body', 'stream']);

const paramName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'lower-case letters, digits and _');
const Params = z.record(z.string().min(1).max(128), z.record(paramName, z.union([z.string().max(10_000), z.number(), z.boolean()])));

/** An OpenAI client's base URL ends in /v1; a root URL without it means the same server. */
export function videosBaseUrl(url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  return /\/v1$/.test(trimmed) ? trimmed : `${trimmed}/v1`;
}

/** The channel's schema over the fields every channel has (`common`: name, priority, weight, models, ratePerSecond). */
export function OpenAiVideosChannelSchema<C extends z.ZodRawShape>(common: C) {
  return z.object({
    ...common,
    provider: z.literal('openai-videos'),
    baseUrl: z.url({ protocol: /^https?$/ }),
    apiKey: z.string().min(1).optional(),
    dialect: z.enum(DIALECTS),
    maxConcurrent: z.number().int().min(1).max(1024).default(1),
    pollMs: z.number().int().min(20).max(60_000).default(500),
    params: Params.default({}),
  }).strict().superRefine((c, ctx) => checkParams(c as unknown as Pick<OpenAiVideosChannel, 'dialect' | 'params'>, ctx));
}

function checkParams(c: Pick<OpenAiVideosChannel, 'dialect' | 'params'>, ctx: z.RefinementCtx): void {
  const allowed = ALLOWED[c.dialect];
  for (const [model, params] of Object.entries(c.params)) {
    for (const [name, value] of Object.entries(params)) {
      const path = ['params', model, name];
      if (RESERVED.has(name)) ctx.addIssue({ code: 'custom', path, message: `${name} is set by Reelay from each request` });
      else if (allowed !== 'any' && !allowed.has(name)) ctx.addIssue({ code: 'custom', path, message: `${c.dialect} takes no ${name} (allowed: ${[...allowed].join(', ')})` });
      else if (KNOWN[name] && !KNOWN[name].safeParse(value).success) ctx.addIssue({ code: 'custom', path, message: `not a valid ${name}` });
    }
  }
}
