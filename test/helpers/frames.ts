import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import sharp from 'sharp';

const execFileP = promisify(execFile);
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';

/** Decode every frame of a video to raw pixels (gray or rgb24). */
export async function decodeFrames(file: string, width: number, height: number, pixFmt: 'gray' | 'rgb24' = 'gray'): Promise<Buffer[]> {
  const bpp = pixFmt === 'gray' ? 1 : 3;
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const p = spawn(FFMPEG, ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', pixFmt, '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.on('data', (c: Buffer) => chunks.push(c));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg decode exited ${code}`))));
  });
  const all = Buffer.concat(chunks);
  const size = width * height * bpp;
  const frames: Buffer[] = [];
  for (let o = 0; o + size <= all.length; o += size) frames.push(all.subarray(o, o + size));
  return frames;
}

/** Intensity-weighted centroids of bright pixels in the left and right halves (two markers). */
export function markers(frame: Buffer, width: number, height: number, threshold = 128) {
  const acc = [{ x: 0, y: 0, w: 0 }, { x: 0, y: 0, w: 0 }];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = frame[y * width + x]!;
      if (v < threshold) continue;
      const a = acc[x < width / 2 ? 0 : 1]!;
      const w = v - threshold;
      a.x += x * w; a.y += y * w; a.w += w;
    }
  }
  return acc.map((a) => ({ x: a.x / a.w, y: a.y / a.w }));
}

/** A dark test card with two bright dots, left and right of centre, at different heights. */
export async function markerImage(width: number, height: number): Promise<Buffer> {
  const r = Math.max(3, Math.round(Math.min(width, height) * 0.025));
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="#141414"/>
    <circle cx="${width * 0.32}" cy="${height * 0.56}" r="${r}" fill="#ffffff"/>
    <circle cx="${width * 0.68}" cy="${height * 0.44}" r="${r}" fill="#ffffff"/>
  </svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

export function psnr(a: Buffer, b: Buffer): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) { const d = a[i]! - b[i]!; se += d * d; }
  const mse = se / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/** Mean volume of the audio track in dB (ffmpeg volumedetect). */
export async function meanVolumeDb(file: string): Promise<number> {
  const { stderr } = await execFileP(FFMPEG, ['-hide_banner', '-i', file, '-vn', '-af', 'volumedetect', '-f', 'null', '-']);
  const m = /mean_volume:\s*(-?[\d.]+|-inf) dB/.exec(stderr);
  return m ? (m[1] === '-inf' ? -Infinity : Number(m[1])) : -Infinity;
}

/**
 * A deterministic textured picture (seeded noise at an ~8 px grain, plus
 * two shapes): unlike a smooth gradient, a shift or zoom of a single pixel
 * shows in the PSNR against it.
 */
export async function texturedImage(width: number, height: number, seed = 1): Promise<Buffer> {
  const gw = Math.ceil(width / 8), gh = Math.ceil(height / 8);
  const grain = Buffer.alloc(gw * gh * 3);
  let s = seed >>> 0 || 1;
  const next = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s >>> 24; };
  for (let i = 0; i < grain.length; i += 3) {
    // Mostly brightness (what x264 keeps at full resolution), a little colour (yuv420p halves it).
    const v = 64 + (next() >> 1);
    for (let c = 0; c < 3; c++) grain[i + c] = v + (next() >> 4) - 8;
  }
  const shapes = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect x="${width * 0.12}" y="${height * 0.15}" width="${width * 0.2}" height="${height * 0.25}" fill="#f0f0f0"/>
    <circle cx="${width * 0.68}" cy="${height * 0.6}" r="${Math.min(width, height) * 0.14}" fill="#181818"/>
  </svg>`;
  return sharp(grain, { raw: { width: gw, height: gh, channels: 3 } })
    .resize(width, height, { kernel: 'cubic' })
    .composite([{ input: Buffer.from(shapes) }])
    .png().toBuffer();
}

/** The start image as the renderer frames it before any camera move: centre-cropped (cover) and scaled to the output. */
export async function framedImage(image: Buffer, width: number, height: number): Promise<Buffer> {
  return sharp(image).rotate().resize(width, height, { fit: 'cover', position: 'centre' }).removeAlpha().raw().toBuffer();
}
