import type { z } from 'zod';
import { errors } from './errors.ts';
import type { Catalog, ModelSpec, Resolution } from './catalog.ts';
import { assertExtensionAspect, checkCreativeInputs, secondsRule, sizesFor, type Creative, type ExtendFacts, type SecondsRule } from './creative-rules.ts';
import { SubmitRequest } from './task-schemas.ts';

export const MAX_PROMPT_CHARS = 5000;
export const MAX_SEED = 4294967295;
const VIDU_AUDIO_TYPES = ['all', 'speech_only', 'sound_effect_only'];

/** A multipart image part, already written to a file as it arrived (its SHA-256 taken on the way). */
export interface SubmittedFile {
  path: string;
  size: number;
  sha256: string;
  contentType: string | null;
}

/** Where an image comes from, before it is fetched/decoded. */
export type ImageSource =
  | { kind: 'url'; url: string; param: string }
  | { kind: 'bytes'; data: Buffer; declaredType: string | null; param: string }
  | { kind: 'file'; file: SubmittedFile; declaredType: string | null; param: string };

/** A submit after every field rule: defaults applied, nothing left to interpret. */
export interface TaskRequest {
  model: ModelSpec;
  /** The name as the client sent it when it was an alias of `model.id`, else null. */
  requestedModel: string | null;
  prompt: string;
  negativePrompt: string | null;
  aspectRatio: string;
  seconds: number;
  size: string;
  resolution: Resolution;
  width: number;
  height: number;
  seed: number | null;
  generateAudio: boolean;
  offPeak: boolean;
  isRec: boolean;
  callbackUrl: string | null;
  options: Record<string, unknown>;
  /** Start frame, then the optional last frame; empty only when extending. */
  images: ImageSource[];
  /** Pictures of a subject to keep (`reference_images`), in order. */
  referenceImages: ImageSource[];
  /** The succeeded task this one continues (`extend_task_id`). */
  extendTaskId: string | null;
}

const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const chars = (s: string) => [...s].length;
/** User input echoed in a message: JSON-quoted and cut to 100 characters, so a 1 MB value can't make a 1 MB error. */
function shown(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  // 200 UTF-16 units always hold the first 100 code points; cutting by code point never splits a pair.
  return s.length <= 100 ? s : `${Array.from(s.slice(0, 200)).slice(0, 100).join('')}…`;
}

/** First pass: JSON types, via the wire schema; each issue becomes a §10 error naming the field. */
export function parseSubmitShape(body: unknown): SubmitRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw errors.invalid('invalid_body', `The request body must be a JSON object (got ${typeName(body)}).`);
  }
  // Clients often send null for "not set"; treat it as absent rather than a type error.
  const cleaned = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== null));
  const r = SubmitRequest.safeParse(cleaned);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const top = String(issue.path[0] ?? 'body');
  const param = issue.path.length > 1 ? `${top}[${String(issue.path[1])}]` : top;
  const value = issue.path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown> | undefined)?.[k as PropertyKey], cleaned);
  if (value === undefined) throw errors.missingField(top);
  // A number that is not a (safe) integer: name the seed's real range, not zod's safe-integer bounds.
  if (top === 'seed' && typeof value === 'number') {
    throw errors.invalidField('seed', `"seed" must be an integer from 0 to ${MAX_SEED} (got ${value}).`);
  }
  // Only a non-finite number (1e400 parses to Infinity) fails the number branch of seconds/duration.
  if ((top === 'seconds' || top === 'duration') && typeof value === 'number') {
    throw errors.invalidField(top, `"${top}" must be a whole number of seconds (got ${value}).`);
  }
  throw errors.invalidField(top, `"${param}" must be ${describeExpected(issue)} (got ${typeName(value)}).`);
}

function describeExpected(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    return issue.expected === 'array' ? 'an array of strings' : issue.expected === 'int' ? 'an integer' : `a ${issue.expected}`;
  }
  if (issue.code === 'invalid_union') return 'a number or a numeric string';
  return 'valid';
}

function parseSeconds(v: number | string | undefined, param: string): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n)) throw errors.invalidField(param, `"${param}" must be a whole number of seconds (got ${shown(v)}).`);
  return n;
}

function resolveSeconds(req: SubmitRequest, model: ModelSpec, rule: SecondsRule): number {
  const seconds = parseSeconds(req.seconds, 'seconds');
  const duration = parseSeconds(req.duration, 'duration');
  if (seconds !== undefined && duration !== undefined && seconds !== duration) {
    throw errors.invalidField('duration', `"duration" is an alias of "seconds"; they disagree (${duration} vs ${seconds}). Send one of them.`);
  }
  const asked = seconds ?? duration;
  const param = seconds !== undefined ? 'seconds' : 'duration';
  if (rule.fixed !== null) {
    if (asked !== undefined && asked !== rule.fixed) {
      throw errors.invalidField(param,
        `${model.id} with a start image always renders ${rule.fixed} seconds; omit "${param}" or pass ${rule.fixed} (got ${asked}).`,
        'invalid_seconds');
    }
    return rule.fixed;
  }
  if (asked === undefined) return rule.fallback;
  if (!rule.allowed.includes(asked)) {
    throw errors.invalidField(param, `"${param}" must be one of ${rule.allowed.join(', ')} for ${model.id}${rule.context} (got ${asked}).`, 'invalid_seconds');
  }
  return asked;
}

function resolveSize(req: SubmitRequest, aspect: string, model: ModelSpec, catalog: Catalog, allowed: ReturnType<typeof sizesFor>) {
  const asked = (req.size ?? allowed.fallback).trim().toLowerCase();
  let resolution: Resolution | undefined;
  const px = /^(\d{2,5})x(\d{2,5})$/.exec(asked);
  if (px) {
    const w = Number(px[1]), h = Number(px[2]);
    resolution = catalog.resolutionForPixels(w, h);
    const want = resolution ? catalog.dimensions(resolution, aspect) : undefined;
    if (want && (want.width !== w || want.height !== h)) {
      const shape = (a: number, b: number) => (a === b ? 'square' : b > a ? 'portrait' : 'landscape');
      throw errors.invalidField('size',
        `"size" ${asked} is ${shape(w, h)} but aspect_ratio ${aspect} is ${shape(want.width, want.height)}; use ${want.width}x${want.height}.`);
    }
  } else if (catalog.isResolution(asked)) {
    resolution = asked;
  }
  if (!resolution || !allowed.sizes.includes(resolution)) {
    const pixels = allowed.sizes.map((s) => { const d = catalog.dimensions(s, aspect); return `${d.width}x${d.height}`; });
    throw errors.invalidField('size',
      `"size" must be one of ${[...allowed.sizes, ...pixels].join(', ')} for ${model.id}${allowed.context} with aspect_ratio ${aspect} (got ${shown(req.size)}).`);
  }
  return { size: asked, resolution, ...catalog.dimensions(resolution, aspect) };
}

function parseImageString(s: string, i: number, allowHttp: boolean, field: 'images' | 'reference_images' = 'images'): ImageSource {
  const param = `${field}[${i}]`;
  const t = s.trim();
  if (/^https:\/\//i.test(t) || (allowHttp && /^http:\/\//i.test(t))) return { kind: 'url', url: t, param };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(t)) {
    throw errors.invalidField(field, `"${param}" must be an https:// URL, a data:image/...;base64 URI or base64 (got a ${t.split(':')[0]}: URL).`, 'invalid_image');
  }
  const dataUri = /^data:(image\/[a-z0-9.+-]+)?;base64,(.*)$/is.exec(t);
  const b64 = (dataUri ? dataUri[2]! : t).replace(/\s+/g, '');
  if (b64.length === 0 || b64.length % 4 === 1 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(b64)) {
    throw errors.invalidField(field, `"${param}" is neither an https:// URL nor valid base64 image data.`, 'invalid_image');
  }
  return { kind: 'bytes', data: Buffer.from(b64, 'base64'), declaredType: dataUri?.[1]?.toLowerCase() ?? null, param };
}

export interface RuleOptions {
  allowPrivateUrls: boolean;
  /** Image files from multipart parts, appended after any `images` strings. */
  files?: SubmittedFile[];
  /** The task `extend_task_id` names, as the caller found it (owned and succeeded). */
  extend?: ExtendFacts | null;
}

/** Second pass: every field rule of API.md §3/§6, in the order a user fixes them. */
export function findModel(catalog: Catalog, name: string): ModelSpec {
  const model = catalog.resolve(name.trim());
  if (!model) throw errors.invalidField('model', `Unknown model ${shown(name)}. Valid models: ${catalog.ids().join(', ')}.`);
  return model;
}

/** The model's supported ratio nearest to a shape (by log ratio, so 2:1 and 1:2 are equally far from 1:1). */
export function nearestAspect(width: number, height: number, ratios: readonly string[]): string {
  const target = Math.log(width / height);
  const dist = (r: string) => {
    const [w, h] = r.split(':').map(Number) as [number, number];
    return Math.abs(Math.log(w / h) - target);
  };
  return [...ratios].sort((a, b) => dist(a) - dist(b))[0]!;
}

/**
 * When aspect_ratio is omitted: a pixel `size` names it; otherwise null and
 * the start image decides (the caller loads it first; the task shows the choice).
 */
export function aspectFromSize(req: SubmitRequest, model: ModelSpec): string | null {
  const px = /^(\d{2,5})x(\d{2,5})$/.exec((req.size ?? '').trim().toLowerCase());
  return px ? nearestAspect(Number(px[1]), Number(px[2]), model.aspect_ratios) : null;
}

/** `images` (strings, then multipart files), `reference_images`, and the rules that bind them to `extend_task_id`. */
function creativeInputs(req: SubmitRequest, model: ModelSpec, catalog: Catalog, opts: RuleOptions) {
  const images: ImageSource[] = (req.images ?? []).map((s, i) => parseImageString(s, i, opts.allowPrivateUrls));
  for (const f of opts.files ?? []) {
    images.push({ kind: 'file', file: f, declaredType: f.contentType, param: `images[${images.length}]` });
  }
  const referenceImages = (req.reference_images ?? []).map((s, i) => parseImageString(s, i, opts.allowPrivateUrls, 'reference_images'));
  const creative: Creative = { images: images.length, references: referenceImages.length, extend: opts.extend ?? null };
  checkCreativeInputs(model, catalog, creative, req.images !== undefined);
  return { images, referenceImages, creative };
}

function lengthAndSize(req: SubmitRequest, model: ModelSpec, catalog: Catalog, creative: Creative) {
  const seconds = resolveSeconds(req, model, secondsRule(model, creative));
  const size = resolveSize(req, req.aspect_ratio!, model, catalog, sizesFor(model, creative));
  // An extension's seconds are what it adds, by the model's extension rules, not a clip length.
  const bySize = creative.extend ? undefined : model.seconds_by_size?.[size.resolution];
  if (bySize && !bySize.includes(seconds)) {
    const param = req.seconds === undefined && req.duration !== undefined ? 'duration' : 'seconds';
    throw errors.invalidField(param, `${model.id} renders ${size.resolution} only at ${bySize.join(' or ')} seconds (got ${seconds}${req.seconds === undefined && req.duration === undefined ? ', the default' : ''}).`, 'invalid_seconds');
  }
  return { seconds, size };
}

export function applySubmitRules(req: SubmitRequest, catalog: Catalog, opts: RuleOptions): TaskRequest & { aspectRatio: string } {
  const model = findModel(catalog, req.model);
  if (req.aspect_ratio === undefined) throw errors.missingField('aspect_ratio');
  const requestedModel = req.model.trim() === model.id ? null : req.model.trim();
  const promptLen = chars(req.prompt.trim());
  if (promptLen === 0 || chars(req.prompt) > MAX_PROMPT_CHARS) {
    throw errors.invalidField('prompt', `"prompt" must be 1–${MAX_PROMPT_CHARS} characters (got ${chars(req.prompt)}${promptLen === 0 ? ', blank' : ''}).`);
  }
  if (opts.extend) assertExtensionAspect(model, opts.extend, req.aspect_ratio);
  if (!model.aspect_ratios.includes(req.aspect_ratio)) {
    throw errors.invalidField('aspect_ratio', `"aspect_ratio" must be one of ${model.aspect_ratios.join(', ')} for ${model.id} (got ${shown(req.aspect_ratio)}).`);
  }
  const { images, referenceImages, creative } = creativeInputs(req, model, catalog, opts);
  const { seconds, size } = lengthAndSize(req, model, catalog, creative);

  if (req.negative_prompt !== undefined && chars(req.negative_prompt) > MAX_PROMPT_CHARS) {
    throw errors.invalidField('negative_prompt', `"negative_prompt" must be at most ${MAX_PROMPT_CHARS} characters (got ${chars(req.negative_prompt)}).`);
  }
  if (req.seed !== undefined && (req.seed < 0 || req.seed > MAX_SEED)) {
    throw errors.invalidField('seed', `"seed" must be an integer from 0 to ${MAX_SEED} (got ${req.seed}).`);
  }
  if (req.generate_audio === true && !model.audio) {
    throw errors.invalidField('generate_audio', `${model.id} has no audio; omit "generate_audio" or set it to false. Models with audio: ${catalog.models.filter((m) => m.audio).map((m) => m.id).join(', ')}.`);
  }
  const viduOnly = (['audio', 'audio_type', 'voice_id'] as const).find((k) => req[k] !== undefined);
  if (viduOnly && model.family !== 'vidu') {
    throw errors.invalidField(viduOnly, `"${viduOnly}" is a Vidu option; ${model.id} does not accept it (use generate_audio for Veo models).`);
  }
  if (req.audio_type !== undefined && !VIDU_AUDIO_TYPES.includes(req.audio_type)) {
    throw errors.invalidField('audio_type', `"audio_type" must be one of ${VIDU_AUDIO_TYPES.join(', ')} (got ${shown(req.audio_type)}).`);
  }
  let callbackUrl: string | null = null;
  if (req.callback_url !== undefined) {
    let u: URL | undefined;
    try { u = new URL(req.callback_url); } catch { /* reported below */ }
    const okScheme = u && (u.protocol === 'https:' || (opts.allowPrivateUrls && u.protocol === 'http:'));
    if (!u || !okScheme) throw errors.invalidField('callback_url', `"callback_url" must be an https:// URL (got ${JSON.stringify(req.callback_url.slice(0, 200))}).`);
    callbackUrl = u.toString();
  }
  const options: Record<string, unknown> = {};
  if (req.audio !== undefined) options.audio = req.audio;
  if (req.audio_type !== undefined) options.audio_type = req.audio_type;
  if (req.voice_id !== undefined) options.voice_id = req.voice_id;

  return {
    model,
    requestedModel,
    prompt: req.prompt,
    negativePrompt: req.negative_prompt ?? null,
    aspectRatio: req.aspect_ratio,
    seconds,
    ...size,
    seed: req.seed ?? null,
    generateAudio: model.audio ? (req.generate_audio ?? true) : false,
    offPeak: req.off_peak ?? false,
    isRec: req.is_rec ?? false,
    callbackUrl,
    options,
    images,
    referenceImages,
    extendTaskId: opts.extend?.taskId ?? null,
  };
}
