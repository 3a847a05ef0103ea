import sharp from 'sharp';
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
/** Below this short side the start frame says too little to be worth sending. */
const MIN_SHORT_SIDE = 256;

export const dataUri = (image: Buffer) => `data:${imageMime(image)};base64,${image.toString('base64')}`;

export type FittedBody = { ok: true; json: string; bytes: number } | { ok: false; reason: string };

/**
 * The JSON body for `image`, re-encoded until the whole body fits the budget:
 * as sent when it fits, else JPEG at falling quality, else downscaled JPEG.
 * Never returns a body over the budget.
 */
export async function fitBody(image: Buffer, build: (imageUri: string) => unknown, budget = VIDU_BODY_BUDGET): Promise<FittedBody> {
  const attempt = (img: Buffer) => {
    const json = JSON.stringify(build(dataUri(img)));
    const bytes = Buffer.byteLength(json);
    return bytes <= budget ? { ok: true as const, json, bytes } : { ok: false as const, bytes };
  };
  const first = attempt(image);
  if (first.ok) return first;
  // Bake EXIF orientation into the pixels: re-encoding drops the tag.
  const upright = sharp(image, { limitInputPixels: MAX_PIXELS }).rotate();
  const { width: w0 = 0, height: h0 = 0, orientation = 1 } = await sharp(image, { limitInputPixels: MAX_PIXELS }).metadata();
  const [width0, height0] = orientation >= 5 ? [h0, w0] : [w0, h0];
  let atShrinkQuality = first.bytes;
  for (const quality of QUALITIES) {
    const tried = attempt(await upright.clone().jpeg({ quality }).toBuffer());
    if (tried.ok) return tried;
    if (quality === SHRINK_QUALITY) atShrinkQuality = tried.bytes;
  }
  // The body grows with the pixel count: scale by the square root of the overshoot, with some to spare.
  let scale = 1;
  let last = atShrinkQuality;
  for (let i = 0; i < MAX_SHRINKS; i++) {
    scale *= Math.sqrt(budget / last) * 0.95;
    const width = Math.round(width0 * scale);
    const height = Math.round(height0 * scale);
    if (Math.min(width, height) < MIN_SHORT_SIDE) break;
    const tried = attempt(await upright.clone().resize(width, height).jpeg({ quality: SHRINK_QUALITY }).toBuffer());
    if (tried.ok) return tried;
    last = tried.bytes;
  }
  return {
    ok: false,
    reason: `the start image (${width0}×${height0}) cannot be re-encoded small enough for Vidu's 20 MB request limit `
      + `without going below ${MIN_SHORT_SIDE} px on its short side`,
  };
}
