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
