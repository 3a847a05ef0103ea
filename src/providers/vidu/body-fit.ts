import sharp, { type Sharp } from 'sharp';
import { imageMime } from '../upstream/job-facts.ts';
import { MAX_PIXELS } from './frame-image.ts';

/**
 * Vidu refuses a request whose whole HTTP body is over 20 MB (UPSTREAM.md §4),
 * and a base64 image is 4/3 of its bytes. "MB" may be 10^6 or 2^20 bytes; the
 * budget stays half a megabyte under the smaller reading.
 */
export const VIDU_BODY_LIMIT = 20_000_000;
export const VIDU_BODY_BUDGET = 19_500_000;

/** JPEG qualities tried at full size before any downscaling: detail is worth more than pixels the model resamples anyway. */
const QUALITIES = [90, 80, 70, 60];
/** Quality kept while downscaling (one of QUALITIES, whose size at full scale seeds the first step). */
const SHRINK_QUALITY = 80;
const MAX_SHRINKS = 6;
/** Below this short side an image says too little to be worth sending. */
const MIN_SHORT_SIDE = 256;

export const dataUri = (image: Buffer) => `data:${imageMime(image)};base64,${image.toString('base64')}`;

export type FittedBody = { ok: true; json: string; bytes: number } | { ok: false; reason: string };

interface Source { upright: Sharp; width: number; height: number }

async function source(image: Buffer): Promise<Source> {
  // Bake EXIF orientation into the pixels: re-encoding drops the tag.
  const upright = sharp(image, { limitInputPixels: MAX_PIXELS }).rotate();
  const { width: w = 0, height: h = 0, orientation = 1 } = await sharp(image, { limitInputPixels: MAX_PIXELS }).metadata();
  return orientation >= 5 ? { upright, width: h, height: w } : { upright, width: w, height: h };
}

/**
 * The JSON body for `images`, re-encoded until the whole body fits the budget:
 * as sent when it fits, else every image as JPEG at falling quality, else
 * every image downscaled by the same factor (none below 256 px on its short
 * side, so images of one size — a start-end pair — stay one size). Never
 * returns a body over the budget.
 */
export async function fitImages(images: readonly Buffer[], build: (imageUris: string[]) => unknown, budget = VIDU_BODY_BUDGET): Promise<FittedBody> {
  const attempt = (imgs: readonly Buffer[]) => {
    const json = JSON.stringify(build(imgs.map(dataUri)));
    const bytes = Buffer.byteLength(json);
    return bytes <= budget ? { ok: true as const, json, bytes } : { ok: false as const, bytes };
  };
  const first = attempt(images);
  if (first.ok) return first;
  const sources = await Promise.all(images.map(source));
  let atShrinkQuality = first.bytes;
  for (const quality of QUALITIES) {
    const tried = attempt(await Promise.all(sources.map((s) => s.upright.clone().jpeg({ quality }).toBuffer())));
    if (tried.ok) return tried;
    if (quality === SHRINK_QUALITY) atShrinkQuality = tried.bytes;
  }
  // The body grows with the pixel count: scale by the square root of the overshoot, with some to spare.
  let scale = 1;
  let last = atShrinkQuality;
  for (let i = 0; i < MAX_SHRINKS; i++) {
    scale *= Math.sqrt(budget / last) * 0.95;
    const sizes = sources.map((s) => shrunk(s, scale));
    if (sizes.every((z) => z.floored)) break;
    const tried = attempt(await Promise.all(sources.map((s, k) => s.upright.clone().resize(sizes[k]!.width, sizes[k]!.height).jpeg({ quality: SHRINK_QUALITY }).toBuffer())));
    if (tried.ok) return tried;
    last = tried.bytes;
  }
  const what = sources.length === 1 ? `the start image (${sources[0]!.width}×${sources[0]!.height})` : `the ${sources.length} images`;
  return {
    ok: false,
    reason: `${what} cannot be re-encoded small enough for Vidu's 20 MB request limit without going below ${MIN_SHORT_SIDE} px on ${sources.length === 1 ? 'its' : 'their'} short side`,
  };
}

/** An image scaled by `scale`, but not below MIN_SHORT_SIDE on its short side (nor above its own size); `floored` when held there. */
function shrunk(s: Source, scale: number): { width: number; height: number; floored: boolean } {
  const short = Math.min(s.width, s.height);
  const floor = Math.min(1, MIN_SHORT_SIDE / short);
  const k = Math.max(scale, floor);
  return { width: Math.round(s.width * k), height: Math.round(s.height * k), floored: k === floor };
}

/** One start image (img2video): fitImages for a body with a single image. */
export const fitBody = (image: Buffer, build: (imageUri: string) => unknown, budget = VIDU_BODY_BUDGET) =>
  fitImages([image], (uris) => build(uris[0]!), budget);
