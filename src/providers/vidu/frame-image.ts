import sharp from 'sharp';
import { imageMime } from '../upstream/job-facts.ts';

/** Inputs were already checked at submit (≤ 100 MP); this is only a guard. */
export const MAX_PIXELS = 100_000_000;

/**
 * Vidu has no aspect-ratio parameter: its video takes the start image's
 * shape. So the image is centre-cropped to the task's aspect first (the same
 * framing the local renderer uses), and a 1:1 task really comes back square.
 * An image already within 1 % of the aspect is sent untouched.
 */
export async function cropToAspect(image: Buffer, width: number, height: number): Promise<Buffer> {
  const meta = await sharp(image, { limitInputPixels: MAX_PIXELS }).metadata();
  // EXIF orientations 5–8 swap the sides once the image is turned upright.
  const turned = (meta.orientation ?? 1) >= 5;
  const iw = turned ? meta.height : meta.width;
  const ih = turned ? meta.width : meta.height;
  if (!iw || !ih) return image;
  const target = width / height;
  if (Math.abs(iw / ih / target - 1) < 0.01) return image;
  const cw = iw / ih > target ? Math.round(ih * target) : iw;
  const ch = iw / ih > target ? ih : Math.round(iw / target);
  const framed = sharp(image, { limitInputPixels: MAX_PIXELS }).rotate()
    .extract({ left: Math.floor((iw - cw) / 2), top: Math.floor((ih - ch) / 2), width: cw, height: ch });
  if (meta.format === 'jpeg') return framed.jpeg({ quality: 95 }).toBuffer();
  if (meta.format === 'webp') return framed.webp({ quality: 95 }).toBuffer();
  return framed.png().toBuffer();
}

/** Vidu takes png, jpeg and webp (UPSTREAM.md §4); anything else we accept at submit (GIF) goes as PNG. */
const VIDU_FORMATS = new Set(['image/png', 'image/jpeg', 'image/webp']);

/** The start image as Vidu gets it: framed to the task's aspect, in a format Vidu reads. */
export async function startImage(image: Buffer, width: number, height: number): Promise<Buffer> {
  const framed = await cropToAspect(image, width, height);
  if (VIDU_FORMATS.has(imageMime(framed))) return framed;
  return sharp(framed, { limitInputPixels: MAX_PIXELS }).rotate().png().toBuffer();
}
