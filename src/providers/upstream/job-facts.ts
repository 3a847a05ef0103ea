import type { GenerationJob } from '../provider.ts';

/** MIME type from the file's magic bytes (the formats submit accepts); PNG when unknown. */
export function imageMime(data: Buffer): string {
  if (data.length >= 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'image/jpeg';
  if (data.length >= 12 && data.toString('ascii', 0, 4) === 'RIFF' && data.toString('ascii', 8, 12) === 'WEBP') return 'image/webp';
  if (data.length >= 6 && data.toString('ascii', 0, 3) === 'GIF') return 'image/gif';
  return 'image/png';
}

/** The catalog's resolution name for the job's output pixels (short side): 720 → "720p", 1440 → "2k", 2160 → "4k". */
export function resolutionName(job: Pick<GenerationJob, 'width' | 'height'>): string {
  const short = Math.min(job.width, job.height);
  if (short >= 2160) return '4k';
  if (short >= 1440) return '2k';
  return `${short}p`;
}

/** Veo 2 has no `resolution`, `seed` or audio parameters; Veo 3+ take them (UPSTREAM.md §1, §3). */
export const isVeo2 = (modelId: string) => modelId.startsWith('veo-2');
