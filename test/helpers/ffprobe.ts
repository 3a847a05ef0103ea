import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeMedia } from '../../src/infra/ffmpeg/probe.ts';

/** Probe downloaded bytes with the real ffprobe. */
export async function probeBytes(bytes: ArrayBuffer | Buffer) {
  const dir = await mkdtemp(join(tmpdir(), 'reelay-probe-'));
  const file = join(dir, 'v.mp4');
  await writeFile(file, Buffer.from(bytes as ArrayBuffer));
  return { file, ...(await probeMedia(process.env.FFPROBE_PATH ?? 'ffprobe', file)) };
}
