/**
 * Local renderer vs raw ffmpeg (issue: "within 15 % of raw ffmpeg").
 *
 * For 8 s at 720p and 1080p: the provider's whole generate() (sharp framing
 * of the start image, plan, ffmpeg, progress parsing) against the ffmpeg
 * command line doing the same motion with the same preset on an
 * already-framed PNG. Rounds alternate so drift on a shared machine hits both.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadCatalog } from '../src/domain/catalog.ts';
import { localProvider } from '../src/providers/local/local-provider.ts';
import { buildRenderPlan } from '../src/providers/local/render-plan.ts';
import { planCamera } from '../src/providers/local/camera.ts';
import { makeImage } from '../test/helpers/images.ts';

const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const ROUNDS = Number(process.env.BENCH_RENDER_ROUNDS ?? 2);
const PROMPT = 'slow push in while panning left';

function ffmpegCli(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(FFMPEG, ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args], { stdio: 'ignore' });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}`))));
  });
}

export async function renderBench(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'reelay-bench-render-'));
  try {
    const catalog = loadCatalog();
    const model = catalog.find('veo-3.0-fast-generate-001')!;
    const provider = localProvider({ ffmpegPath: FFMPEG, maxInputPixels: 1e8 });
    const source = await makeImage(1600, 1200, 'jpeg');
    console.log(`render: 8 s, prompt "${PROMPT}", audio on, ${ROUNDS} round(s) each, alternating`);
    const rows: string[] = [];
    for (const size of ['720p', '1080p'] as const) {
      const { width, height } = catalog.dimensions(size, '16:9');
      // The baseline gets the framing for free: a PNG already cropped and scaled.
      const framed = join(root, `framed-${size}.png`);
      await writeFile(framed, await sharp(source).resize(width, height, { fit: 'cover' }).png({ compressionLevel: 1 }).toBuffer());
      const rawArgs = buildRenderPlan({
        width, height, fps: 24, seconds: 8, seed: 1, camera: planCamera(PROMPT), audio: 'ambient',
        firstFrame: framed, lastFrame: null, output: join(root, `raw-${size}.mp4`),
      }).args;
      const times = { provider: [] as number[], raw: [] as number[] };
      for (let r = 0; r < ROUNDS; r++) {
        let t = performance.now();
        await ffmpegCli(rawArgs);
        times.raw.push((performance.now() - t) / 1000);

        const workDir = join(root, `p-${size}-${r}`);
        await mkdir(workDir);
        t = performance.now();
        await provider.generate({
          taskId: 'bench', model, prompt: PROMPT, negativePrompt: null, aspectRatio: '16:9', seconds: 8, width, height,
          fps: 24, seed: 1, generateAudio: true, options: {}, images: [source],
        }, { signal: new AbortController().signal, onProgress: () => {}, workDir });
        times.provider.push((performance.now() - t) / 1000);
      }
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const p = mean(times.provider), raw = mean(times.raw);
      rows.push(`  ${size.padEnd(6)} raw ffmpeg ${raw.toFixed(2)} s   provider ${p.toFixed(2)} s   ratio ${(p / raw).toFixed(3)} (goal <= 1.15)`);
      console.log(rows.at(-1));
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
