import sharp from 'sharp';

/**
 * Test images with structure (gradient + blocks), so crops, motion and
 * thumbnails are measurable — a flat colour would hide mistakes.
 */
export async function makeImage(width: number, height: number, format: 'png' | 'jpeg' | 'webp' = 'png'): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#204080"/><stop offset="1" stop-color="#e0a040"/></linearGradient></defs>
    <rect width="${width}" height="${height}" fill="url(#g)"/>
    <rect x="${width * 0.1}" y="${height * 0.1}" width="${width * 0.2}" height="${height * 0.2}" fill="#ffffff"/>
    <circle cx="${width * 0.7}" cy="${height * 0.6}" r="${Math.min(width, height) * 0.15}" fill="#202020"/>
  </svg>`;
  const img = sharp(Buffer.from(svg));
  if (format === 'jpeg') return img.jpeg({ quality: 85 }).toBuffer();
  if (format === 'webp') return img.webp({ quality: 80 }).toBuffer();
  return img.png().toBuffer();
}

export const dataUri = (buf: Buffer, mime = 'image/png') => `data:${mime};base64,${buf.toString('base64')}`;
