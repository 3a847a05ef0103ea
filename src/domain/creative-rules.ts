import type { Catalog, ModelSpec, Resolution } from './catalog.ts';
import { errors } from './errors.ts';

/**
 * The rules of the creative inputs (API.md §3): a last frame (`images[1]`),
 * `reference_images` and `extend_task_id`. They depend on the catalog only,
 * so the same request gets the same answer whoever serves the model; what a
 * mapped upstream id lacks on top is upstream-limits.ts's.
 */

/** The succeeded task a request extends, as the submit found it. */
export interface ExtendFacts {
  taskId: string;
  aspectRatio: string;
  /** Its video as measured: length (seconds), pixels, frame rate. */
  duration: number;
  width: number;
  height: number;
  fps: number;
}

/** What a request carries, counted. */
export interface Creative {
  images: number;
  references: number;
  extend: ExtendFacts | null;
}

const names = (models: readonly ModelSpec[]) => models.map((m) => m.id).join(', ');

/** extend_task_id: the model must extend, and the video is continued alone. */
export function assertExtendable(model: ModelSpec, catalog: Catalog): void {
  if (!model.extension) {
    throw errors.invalidField('extend_task_id',
      `${model.id} cannot extend a video. Models that can: ${names(catalog.models.filter((m) => m.extension))}.`);
  }
}

function checkExtension(model: ModelSpec, catalog: Catalog, c: Creative, src: ExtendFacts): void {
  assertExtendable(model, catalog);
  if (c.images > 0) {
    throw errors.invalidField('images',
      `Omit "images" with "extend_task_id": an extension continues task ${src.taskId}'s video from its last frame (got ${c.images} image${c.images === 1 ? '' : 's'}).`);
  }
  if (c.references > 0) {
    throw errors.invalidField('reference_images', `"reference_images" cannot be combined with "extend_task_id": an extension continues the video alone.`);
  }
  const why = sourceProblem(model, catalog, src);
  if (why) throw errors.invalidField('extend_task_id', `${model.id} ${why}; task ${src.taskId}'s video is ${describeSource(src)}.`);
}

const describeSource = (s: ExtendFacts) => `${s.width}x${s.height} at ${Number(s.fps.toFixed(3))} fps, ${Number(s.duration.toFixed(2))} seconds`;

/** What the model's extension cannot take of the source video (UPSTREAM.md §3: 1–30 s, 24 fps, 720p–4k), or null. */
function sourceProblem(model: ModelSpec, catalog: Catalog, src: ExtendFacts): string | null {
  const rules = model.extension!;
  if (rules.max_source_seconds !== undefined && src.duration > rules.max_source_seconds) return `extends videos of at most ${rules.max_source_seconds} seconds`;
  if (rules.source_fps && !rules.source_fps.some((f) => Math.abs(f - src.fps) < 0.01)) return `extends ${rules.source_fps.join(' or ')} fps videos only`;
  const size = catalog.resolutionForPixels(src.width, src.height);
  if (rules.source_sizes && (!size || !rules.source_sizes.includes(size))) return `extends ${rules.source_sizes.join(', ')} videos only`;
  return null;
}

function checkReferences(model: ModelSpec, catalog: Catalog, c: Creative): void {
  const rules = model.reference_images;
  if (!rules) {
    throw errors.invalidField('reference_images',
      `${model.id} takes no reference images. Models that do: ${names(catalog.models.filter((m) => m.reference_images))}.`);
  }
  if (c.images > 1) {
    throw errors.invalidField('reference_images',
      `${model.id} cannot combine a last frame (images[1]) with "reference_images"; send one image in "images", or no references.`);
  }
  const counted = rules.start_image_counts && c.images > 0;
  const n = c.references + (counted ? 1 : 0);
  if (n > rules.max) {
    const how = counted ? `, the start image counted as one (it is sent as the first): at most ${rules.max - 1} in "reference_images"` : '';
    throw errors.invalidField('reference_images', `${model.id} takes at most ${rules.max} reference images${how} (got ${c.references}).`);
  }
}

/** Images, reference images and extension together, in the order a user fixes them; throws the 400 naming the field. */
export function checkCreativeInputs(model: ModelSpec, catalog: Catalog, c: Creative, imagesSent: boolean): void {
  if (c.extend) return checkExtension(model, catalog, c, c.extend);
  if (c.images === 0) {
    // An explicit empty array is present but wrong (invalid), not absent (missing).
    if (imagesSent) throw errors.invalidField('images', `"images" must contain at least one image (the first frame); got an empty array.`);
    throw errors.missingField('images');
  }
  const maxImages = model.last_frame ? 2 : 1;
  if (c.images > maxImages) {
    const takes = maxImages === 1 ? `one image (the first frame${model.reference_images?.only ? ', sent as the first reference' : ''})` : 'at most two images (first and last frame)';
    throw errors.invalidField('images', `${model.id} takes ${takes}; got ${c.images}.`);
  }
  if (c.references > 0) checkReferences(model, catalog, c);
}

/** The durations a request may ask for, given what it carries. */
export interface SecondsRule {
  allowed: readonly number[];
  /** When `seconds` is omitted. */
  fallback: number;
  /** Some models fix the duration whenever a start image is given (the Veo 3.1 previews → 8). */
  fixed: number | null;
  /** Words after the model id in a message: why the list is what it is. */
  context: string;
}

const preferred = (allowed: readonly number[], wanted: number) => (allowed.includes(wanted) ? wanted : allowed.at(-1)!);

export function secondsRule(model: ModelSpec, c: Creative): SecondsRule {
  if (c.extend && model.extension) {
    const allowed = model.extension.seconds;
    return { allowed, fallback: preferred(allowed, model.default_seconds), fixed: null, context: ' when extending (the seconds an extension adds)' };
  }
  let allowed: readonly number[] = model.seconds;
  let context = '';
  const refSeconds = model.reference_images?.seconds;
  if (c.references > 0 && refSeconds) {
    allowed = allowed.filter((s) => refSeconds.includes(s));
    context = ' with reference_images';
  }
  if (c.images > 1 && model.last_frame_seconds) {
    const lf = model.last_frame_seconds;
    allowed = allowed.filter((s) => lf.includes(s));
    context = ' with a last frame';
  }
  const fixed = model.seconds_with_images !== null && c.images > 0 ? model.seconds_with_images : null;
  return { allowed, fallback: preferred(allowed, model.default_seconds), fixed, context };
}

/** The sizes a request may ask for: an extension renders the model's extension sizes (Veo: 720p). */
export function sizesFor(model: ModelSpec, c: Creative): { sizes: readonly Resolution[]; fallback: Resolution; context: string } {
  const sizes = (c.extend && model.extension?.sizes) || model.sizes;
  return { sizes, fallback: sizes.includes(model.default_size) ? model.default_size : sizes[0]!, context: c.extend ? ' when extending' : '' };
}

/** An extension keeps the shape of the video it continues. */
export function assertExtensionAspect(model: ModelSpec, src: ExtendFacts, aspectRatio: string): void {
  if (aspectRatio !== src.aspectRatio) {
    throw errors.invalidField('aspect_ratio',
      `An extension keeps the aspect ratio of the video it continues: task ${src.taskId} is ${src.aspectRatio} (got ${aspectRatio}); omit "aspect_ratio" or send ${src.aspectRatio}.`);
  }
  if (!model.aspect_ratios.includes(src.aspectRatio)) {
    throw errors.invalidField('extend_task_id', `${model.id} extends ${model.aspect_ratios.join(', ')} videos; task ${src.taskId} is ${src.aspectRatio}.`);
  }
}
