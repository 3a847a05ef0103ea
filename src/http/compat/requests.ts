import { ApiError, errors } from '../../domain/errors.ts';
import { googleImage, googleReferences, googleSourceVideo, isObject, present, unsupported } from './google-inputs.ts';

/**
 * The official SDKs' create requests, translated into the body of
 * POST /v1/video/generations (API.md §3). Only the shape changes here: every
 * rule (models, seconds, sizes, images) is still the task service's, and its
 * errors are renamed back into the caller's field names (renameFields).
 */
export type SubmitBody = Record<string, unknown>;

/** Reelay field → the name the caller used for it, for error messages and `param`. */
export type FieldNames = Readonly<Record<string, string>>;

export const GOOGLE_FIELDS: FieldNames = {
  model: 'model',
  prompt: 'instances[0].prompt',
  images: 'instances[0].image',
  'images[0]': 'instances[0].image',
  'images[1]': 'instances[0].lastFrame',
  seconds: 'parameters.durationSeconds',
  aspect_ratio: 'parameters.aspectRatio',
  size: 'parameters.resolution',
  negative_prompt: 'parameters.negativePrompt',
  seed: 'parameters.seed',
  generate_audio: 'parameters.generateAudio',
  reference_images: 'instances[0].referenceImages',
  // The task service names each item; no model takes more than 7.
  ...Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`reference_images[${i}]`, `instances[0].referenceImages[${i}].image`])),
  extend_task_id: 'instances[0].video',
};

export const OPENAI_FIELDS: FieldNames = {
  images: 'input_reference',
  'images[0]': 'input_reference',
};

/**
 * A caller's value in an error message, cut short: never echo a megabyte back.
 * Objects and arrays are described, not serialised: a 200 000-deep array
 * overflows JSON.stringify's stack, and an object's own toString is the caller's code.
 */
function shown(v: unknown): string {
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object' && v !== null) return 'an object';
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length <= 100 ? s : `${Array.from(s.slice(0, 200)).slice(0, 100).join('')}…`;
}

/** Exactly one, as JSON gives it (1) or as proto3 JSON may ("1"). Never coerces: Number() runs a caller's toString. */
const isOne = (v: unknown) => v === 1 || (typeof v === 'string' && v.trim() === '1');


/**
 * Re-issue a 400 from the task service under the caller's field names:
 * `"seconds" must be one of 4, 6, 8 …` becomes `"parameters.durationSeconds" must be …`.
 * Only quoted field names are replaced; other errors pass through unchanged.
 */
export function renameFields(e: unknown, names: FieldNames): unknown {
  if (!(e instanceof ApiError)) return e;
  // Besides 400s, a 404/409 about a named field (extend_task_id's task) is the caller's field too.
  if (e.status !== 400 && !(e.param !== null && Object.hasOwn(names, e.param))) return e;
  let message = e.message;
  // Longest first, so "images[1]" is not caught by "images".
  for (const from of Object.keys(names).sort((a, b) => b.length - a.length)) {
    message = message.split(`"${from}"`).join(`"${names[from]}"`);
  }
  const param = e.param === null ? null : (names[e.param] ?? e.param);
  if (message === e.message && param === e.param) return e;
  return new ApiError(e.status, e.type, e.code, message, { param, headers: e.headers, cause: e });
}

// ---- Gemini API / Vertex AI ----------------------------------------------

/** The one instance and the parameters of a `predictLongRunning` body, checked for what Reelay cannot do. */
function googleParts(raw: unknown): { inst: Record<string, unknown>; params: Record<string, unknown> } {
  if (!isObject(raw)) throw errors.invalid('invalid_body', 'The request body must be a JSON object with "instances" and "parameters".');
  const instances = raw.instances;
  if (!Array.isArray(instances) || instances.length === 0) throw errors.missingField('instances');
  if (instances.length > 1) {
    throw errors.invalidField('instances', `"instances" must hold exactly one instance (got ${instances.length}); send one request per video.`);
  }
  const inst = instances[0];
  if (!isObject(inst)) throw errors.invalidField('instances', '"instances[0]" must be an object.');
  if (present(inst.mask)) throw unsupported('instances[0].mask', 'Reelay does not edit videos with a mask.');
  const params = raw.parameters ?? {};
  if (!isObject(params)) throw errors.invalidField('parameters', '"parameters" must be an object.');
  for (const field of ['sampleCount', 'numberOfVideos'] as const) {
    const n = params[field];
    if (present(n) && !isOne(n)) {
      throw errors.invalidField(`parameters.${field}`, `"parameters.${field}" must be 1 (Reelay makes one video per request; got ${shown(n)}).`);
    }
  }
  if (present(params.storageUri)) {
    throw unsupported('parameters.storageUri', 'Reelay cannot write to Cloud Storage; omit it and the video comes back inline.');
  }
  return { inst, params };
}

/**
 * `predictLongRunning` body (both Google surfaces) → a Reelay submit body:
 * `image` and `lastFrame` → `images`, `referenceImages` → `reference_images`,
 * a `video` given by its uri → `extend_task_id` (by its bytes: googleVideoBytes).
 */
export function fromGoogleRequest(model: string, raw: unknown): SubmitBody {
  const { inst, params } = googleParts(raw);
  const images: string[] = [];
  if (present(inst.image)) images.push(googleImage(inst.image, 'instances[0].image'));
  if (present(inst.lastFrame)) {
    if (images.length === 0) throw errors.invalidField('instances[0].lastFrame', '"instances[0].lastFrame" needs "instances[0].image" (the first frame) too.');
    images.push(googleImage(inst.lastFrame, 'instances[0].lastFrame'));
  }
  const video = googleSourceVideo(inst.video);
  const references = googleReferences(inst.referenceImages);
  if (references?.length && images.length === 0 && !video) {
    // Google's docs show references without a start image; Reelay always renders from one.
    throw errors.invalidField('instances[0].image',
      '"instances[0].image" is required with referenceImages: Reelay renders from a start image, and the references show the subject to keep.',
      'missing_images');
  }
  const body: SubmitBody = {
    model,
    prompt: inst.prompt,
    // Both Google APIs default to landscape; Reelay requires the field. An extension keeps its source's
    // shape, so there the task service decides.
    aspect_ratio: params.aspectRatio ?? (video ? undefined : '16:9'),
    seconds: params.durationSeconds,
    size: params.resolution,
    negative_prompt: params.negativePrompt,
    seed: params.seed,
    generate_audio: params.generateAudio,
    reference_images: references,
    extend_task_id: video && 'taskId' in video ? video.taskId : undefined,
  };
  if (images.length) body.images = images;
  return withoutAbsent(body);
}

/** The base64 of `instances[0].video` when it is given by its bytes (the task it is is looked up with the caller's key). */
export function googleVideoBytes(raw: unknown): string | undefined {
  const video = googleSourceVideo(googleParts(raw).inst.video);
  return video && 'base64' in video ? video.base64 : undefined;
}

// ---- OpenAI Videos -------------------------------------------------------

/** OpenAI's model names → the Reelay model that serves them (reported back as the Reelay id). */
export const OPENAI_MODEL_ALIASES: Readonly<Record<string, string>> = {
  'sora-2': 'veo-3.0-fast-generate-001',
  'sora-2-pro': 'veo-3.0-generate-001',
};
/** OpenAI's own defaults, applied when the caller uses OpenAI's names (or none). */
export const OPENAI_DEFAULT_MODEL = 'sora-2';
export const OPENAI_DEFAULT_SIZE = '720x1280';
export const OPENAI_DEFAULT_SECONDS = '4';

/** Fields of Reelay's own submit that an OpenAI client may add as extra body params. */
const REELAY_EXTRAS = ['negative_prompt', 'seed', 'generate_audio', 'callback_url', 'off_peak'] as const;

function openAIModel(model: unknown): { model: unknown; alias: boolean } {
  if (!present(model)) return { model: OPENAI_MODEL_ALIASES[OPENAI_DEFAULT_MODEL], alias: true };
  if (typeof model !== 'string') return { model, alias: false };
  // Dated snapshots (sora-2-2025-10-06, sora-2-pro-2025-10-06) resolve like their base name.
  const base = model.trim().replace(/-\d{4}-\d{2}-\d{2}$/, '');
  const mapped = OPENAI_MODEL_ALIASES[base];
  return mapped ? { model: mapped, alias: true } : { model, alias: false };
}

/** OpenAI has no aspect ratio: `WxH` is landscape when W > H, else portrait. */
export function aspectRatioForSize(size: unknown): string {
  const m = typeof size === 'string' ? /^\s*(\d+)\s*x\s*(\d+)\s*$/i.exec(size) : null;
  return m && Number(m[1]) > Number(m[2]) ? '16:9' : '9:16';
}

function inputReference(raw: Record<string, unknown>): string | undefined {
  const ref = raw.input_reference;
  const imageUrl = isObject(ref) ? ref.image_url : raw['input_reference[image_url]'];
  const fileId = isObject(ref) ? ref.file_id : raw['input_reference[file_id]'];
  if (present(fileId) && !present(imageUrl)) {
    throw unsupported('input_reference.file_id', 'Reelay has no Files API; upload the image as input_reference or pass input_reference.image_url.');
  }
  if (present(imageUrl)) {
    if (typeof imageUrl !== 'string') throw errors.invalidField('input_reference', '"input_reference.image_url" must be a string (an https:// URL or a data: URI).', 'invalid_image');
    return imageUrl;
  }
  if (typeof ref === 'string') return ref;
  if (present(ref)) throw errors.invalidField('input_reference', '"input_reference" must be an image file, a data: URI, or {"image_url": …}.', 'invalid_image');
  return undefined;
}

/**
 * POST /v1/videos (multipart fields or JSON) → a Reelay submit body. An
 * uploaded `input_reference` file is not in `raw`: the caller passes it to
 * the task service as a file, exactly like a Reelay multipart submit.
 */
export function fromOpenAIRequest(raw: unknown): SubmitBody {
  if (!isObject(raw)) throw errors.invalid('invalid_body', 'The request body must be a JSON object or multipart form.');
  // Refused, not ignored: dropped quietly they would make (and charge) a different video than asked.
  for (const field of ['reference_images', 'extend_task_id'] as const) {
    if (present(raw[field])) throw unsupported(field, 'this surface takes one input_reference; send reference images and extensions to POST /v1/video/generations.');
  }
  const { model, alias } = openAIModel(raw.model);
  const size = raw.size ?? OPENAI_DEFAULT_SIZE;
  const body: SubmitBody = {
    model,
    prompt: raw.prompt,
    aspect_ratio: aspectRatioForSize(size),
    size,
    seconds: raw.seconds ?? (alias ? OPENAI_DEFAULT_SECONDS : undefined),
  };
  const image = inputReference(raw);
  if (image !== undefined) body.images = [image];
  for (const k of REELAY_EXTRAS) body[k] = raw[k];
  return withoutAbsent(body);
}

function withoutAbsent(body: SubmitBody): SubmitBody {
  return Object.fromEntries(Object.entries(body).filter(([, v]) => present(v)));
}
