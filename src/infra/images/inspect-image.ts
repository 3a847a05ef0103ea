import sharp, { type Metadata } from 'sharp';
import type { ImageFacts } from '../../domain/ports.ts';
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
 */
export async function inspectImage(data: Buffer, param: string, limits: ImageLimits): Promise<ImageFacts> {
  const bad = (message: string) => new ImageRejected('invalid_image', `"${param}" ${message}`, param);
  if (data.length === 0) throw bad('is empty.');
  let meta: Metadata;
  try {
    meta = await sharp(data, { limitInputPixels: false }).metadata();
  } catch {
    throw bad('is not a readable image; send a PNG, JPEG or WebP file.');
  }
  const fmt = meta.format as string;
  if (!(fmt in FORMATS)) throw bad(`is ${fmt ? fmt.toUpperCase() : 'an unknown format'}; only PNG, JPEG and WebP are accepted.`);
  if ((meta.pages ?? 1) > 1) throw bad('is animated; send a single still image.');
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
