import { createReadStream } from 'node:fs';
import sharp, { type Metadata } from 'sharp';
import type { ImageFacts, ImageInput } from '../../domain/ports.ts';
import { ImageRejected } from './image-rejected.ts';

export type { ImageFacts };

export interface ImageLimits {
  imagePixels: number;
  imageMaxSide: number;
  imageMinSide: number;
}

const FORMATS = { png: ['image/png', 'png'], jpeg: ['image/jpeg', 'jpg'], webp: ['image/webp', 'webp'] } as const;

/**
 * Judge an image by its content (API.md §3), cheapest checks first: the
 * header gives format and size without decoding, so a decompression bomb is
 * refused before a single pixel is allocated; only then do we decode fully to
 * catch truncated or corrupt data at submit time rather than mid-render.
 * A refused image is ImageRejected (reason invalid_image), naming it by `param`.
 * A file (a spooled multipart part) is read by libvips from disk, off the event loop.
 */
export async function inspectImage(input: ImageInput, param: string, limits: ImageLimits): Promise<ImageFacts> {
  const bad = (message: string) => new ImageRejected('invalid_image', `"${param}" ${message}`, param);
  const data = Buffer.isBuffer(input) ? input : input.path;
  if ((Buffer.isBuffer(input) ? input.length : input.size) === 0) throw bad('is empty.');
  let meta: Metadata;
  try {
    meta = await sharp(data, { limitInputPixels: false }).metadata();
  } catch {
    throw bad('is not a readable image; send a PNG, JPEG or WebP file.');
  }
  const fmt = meta.format as string;
  if (!(fmt in FORMATS)) throw bad(`is ${fmt ? fmt.toUpperCase() : 'an unknown format'}; only PNG, JPEG and WebP are accepted.`);
  if ((meta.pages ?? 1) > 1 || (fmt === 'png' && (Buffer.isBuffer(input) ? isAnimatedPng(input) : await isAnimatedPngFile(input.path)))) {
    throw bad('is animated; send a single still image.');
  }
  let width = meta.width ?? 0, height = meta.height ?? 0;
  if ((meta.orientation ?? 1) >= 5) [width, height] = [height, width];

  if (width < limits.imageMinSide || height < limits.imageMinSide) {
    throw bad(`is ${width}x${height}; each side must be at least ${limits.imageMinSide} pixels.`);
  }
  if (width > limits.imageMaxSide || height > limits.imageMaxSide || width * height > limits.imagePixels) {
    throw bad(`is ${width}x${height}; images may be at most ${limits.imageMaxSide} pixels per side and ${limits.imagePixels / 1e6} megapixels.`);
  }
  const ratio = width / height;
  if (ratio < 0.25 || ratio > 4) {
    const shown = ratio >= 1 ? `${ratio.toFixed(2)}:1` : `1:${(1 / ratio).toFixed(2)}`;
    throw bad(`has a width:height ratio of ${shown}; it must be between 1:4 and 4:1.`);
  }
  try {
    await sharp(data, { failOn: 'error', limitInputPixels: limits.imagePixels })
      .resize(64, 64, { fit: 'inside' }).raw().toBuffer();
  } catch {
    throw bad('is corrupt or truncated and cannot be decoded.');
  }
  const [mime, ext] = FORMATS[fmt as keyof typeof FORMATS];
  return { format: fmt as ImageFacts['format'], mime, ext, width, height };
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * APNG: libvips reads only the default image and reports one page, so the
 * animation is found in the chunks: an `acTL` (animation control) chunk
 * before the first `IDAT` announcing more than one frame.
 */
export function isAnimatedPng(data: Buffer): boolean {
  const scan = pngScanner();
  return scan(data) === true;
}

/**
 * The same for a file, read in blocks until the answer is known (the chunks
 * before the first IDAT are usually a few hundred bytes; a file of many small
 * ancillary chunks costs one pass over it, never a read per chunk).
 */
export async function isAnimatedPngFile(path: string): Promise<boolean> {
  const scan = pngScanner();
  const stream = createReadStream(path, { highWaterMark: 64 * 1024 });
  try {
    for await (const block of stream) {
      const answer = scan(block as Buffer);
      if (answer !== undefined) return answer;
    }
    return false;
  } finally {
    stream.destroy();
  }
}

/**
 * Walks PNG chunk headers over the bytes it is fed, block after block:
 * true (acTL with more than one frame), false (a still image, or not a PNG),
 * or undefined while the answer needs more bytes (end of input: false).
 */
export function pngScanner(): (block: Buffer) => boolean | undefined {
  // Bytes carried over from the previous block: at most one chunk header, or the signature.
  let carry: Buffer = Buffer.alloc(0);
  let offset = 0; // absolute position of carry[0]
  let next = 8; // absolute position of the next chunk header; the signature comes first
  let signed = false;
  return (block) => {
    const buf = carry.length ? Buffer.concat([carry, block]) : block;
    const end = offset + buf.length;
    if (!signed) {
      if (buf.length < 8) { carry = buf; return undefined; }
      if (!buf.subarray(0, 8).equals(PNG_SIGNATURE)) return false;
      signed = true;
    }
    while (next + 12 <= end) {
      const at = next - offset;
      const type = buf.toString('latin1', at + 4, at + 8);
      if (type === 'IDAT' || type === 'IEND') return false;
      if (type === 'acTL') return buf.readUInt32BE(at + 8) > 1;
      next += 12 + buf.readUInt32BE(at); // length, type, data, CRC
    }
    // Keep only the start of the next header; chunk bodies are skipped, never held.
    if (next < end) {
      carry = Buffer.from(buf.subarray(next - offset));
      offset = next;
    } else {
      carry = Buffer.alloc(0);
      offset = end;
    }
    return undefined;
  };
}
