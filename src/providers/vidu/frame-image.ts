import sharp, { type Metadata, type Sharp } from 'sharp';
import { imageMime } from '../upstream/job-facts.ts';

/** Inputs were already checked at submit (≤ 100 MP); this is only a guard. */
export const MAX_PIXELS = 100_000_000;

const open = (image: Buffer) => sharp(image, { limitInputPixels: MAX_PIXELS });

/** A re-framed image in its own format where Vidu reads it (JPEG and WebP at quality 95), else PNG. */
const encodeLike = (pipeline: Sharp, format: string | undefined) =>
  (format === 'jpeg' ? pipeline.jpeg({ quality: 95 }) : format === 'webp' ? pipeline.webp({ quality: 95 }) : pipeline.png()).toBuffer();

/** Width and height as shown: EXIF orientations 5–8 swap the sides once the image is turned upright. */
const shownSize = (m: Metadata) => ((m.orientation ?? 1) >= 5 ? [m.height, m.width] : [m.width, m.height]);

/**
 * Vidu's img2video has no aspect-ratio parameter: its video takes the start
 * image's shape. So the image is centre-cropped to the task's aspect first
 * (the same framing the local renderer uses), and a 1:1 task really comes
 * back square. An image already within 1 % of the aspect is sent untouched.
 */
export async function cropToAspect(image: Buffer, width: number, height: number): Promise<Buffer> {
  const meta = await open(image).metadata();
  const [iw, ih] = shownSize(meta);
  if (!iw || !ih) return image;
  const target = width / height;
  if (Math.abs(iw / ih / target - 1) < 0.01) return image;
  const cw = iw / ih > target ? Math.round(ih * target) : iw;
  const ch = iw / ih > target ? ih : Math.round(iw / target);
  const framed = open(image).rotate().extract({ left: Math.floor((iw - cw) / 2), top: Math.floor((ih - ch) / 2), width: cw, height: ch });
  return encodeLike(framed, meta.format);
}

/** Vidu takes png, jpeg and webp (UPSTREAM.md §4); anything else we accept at submit (GIF) goes as PNG. */
const VIDU_FORMATS = new Set(['image/png', 'image/jpeg', 'image/webp']);

/** An image in a format Vidu reads: as uploaded when it already is (a reference picture is not re-framed). */
export async function viduFormat(image: Buffer): Promise<Buffer> {
  if (VIDU_FORMATS.has(imageMime(image))) return image;
  return open(image).rotate().png().toBuffer();
}

/** The start image as Vidu gets it: framed to the task's aspect, in a format Vidu reads. */
export async function startImage(image: Buffer, width: number, height: number): Promise<Buffer> {
  return viduFormat(await cropToAspect(image, width, height));
}

/**
 * The start and last frames of a start-end pair. The start image is framed
 * as startImage (with any EXIF rotation baked in, so its stored size is its
 * shown size whether or not Vidu reads the tag); the last frame is turned
 * upright and cover-cropped (centred) to the start image's exact pixel size.
 * Vidu wants the two frames' "resolution ratio" within 0.8–1.25 (UPSTREAM.md
 * §4), read as their aspect ratios (ComfyUI's client check) or as their pixel
 * counts [U]: equal sizes meet both readings, and the last frame is framed as
 * the video is, like the first.
 */
export async function startEndImages(first: Buffer, last: Buffer, width: number, height: number): Promise<[Buffer, Buffer]> {
  let start = await startImage(first, width, height);
  const s = await open(start).metadata();
  if ((s.orientation ?? 1) !== 1) start = await encodeLike(open(start).rotate(), s.format);
  const [sw, sh] = shownSize(s);
  const l = await open(last).metadata();
  const [lw, lh] = shownSize(l);
  if (!sw || !sh || (lw === sw && lh === sh && (l.orientation ?? 1) === 1)) return [start, await viduFormat(last)];
  return [start, await encodeLike(open(last).rotate().resize(sw, sh, { fit: 'cover', position: 'centre' }), l.format)];
}
