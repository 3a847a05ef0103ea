import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/domain/catalog.ts';
import { localProvider } from '../../src/providers/local/local-provider.ts';
import { probeMedia } from '../../src/infra/ffmpeg/probe.ts';
import { makeImage } from '../helpers/images.ts';

let workDir: string;
beforeAll(async () => { workDir = await mkdtemp(join(tmpdir(), 'reelay-4k-')); });
afterAll(async () => { await rm(workDir, { recursive: true, force: true }); });

/** Peak resident memory of a process so far, from the kernel's high-water mark. */
async function vmHwmBytes(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

describe('resource bounds', () => {
  it('an 8 s 4k render with audio stays under 1 GiB for node + ffmpeg together', async () => {
    const model = loadCatalog().find('veo-3.0-generate-001')!;
    let pid = 0;
    let ffmpegPeak = 0;
    let nodePeak = process.memoryUsage().rss;
    const provider = localProvider({ ffmpegPath: 'ffmpeg', maxInputPixels: 1e8, onSpawn: (p) => { pid = p; } });
    const sampler = setInterval(() => {
      nodePeak = Math.max(nodePeak, process.memoryUsage().rss);
      if (pid) void vmHwmBytes(pid).then((b) => { ffmpegPeak = Math.max(ffmpegPeak, b); });
    }, 50);
    try {
      const result = await provider.generate({
        // A pull back is the heaviest graph (the picture with alpha over a moving soft world): bound that one.
        taskId: 't', model, prompt: 'slow pull back while panning left, rain', negativePrompt: null, aspectRatio: '16:9',
        seconds: 8, width: 3840, height: 2160, fps: 24, seed: 3, generateAudio: true, options: {}, images: [await makeImage(1600, 900, 'jpeg')],
      }, { signal: new AbortController().signal, onProgress: () => {}, workDir });
      const facts = await probeMedia('ffprobe', result.videoPath);
      expect([facts.width, facts.height, facts.frames, facts.hasAudio]).toEqual([3840, 2160, 192, true]);
    } finally {
      clearInterval(sampler);
    }
    const total = ffmpegPeak + nodePeak;
    console.log(`4k 8 s render: ffmpeg peak ${(ffmpegPeak / 2 ** 20).toFixed(0)} MiB + node ${(nodePeak / 2 ** 20).toFixed(0)} MiB = ${(total / 2 ** 20).toFixed(0)} MiB`);
    expect(ffmpegPeak).toBeGreaterThan(0);
    expect(total).toBeLessThan(2 ** 30);
  }, 180_000);
});
