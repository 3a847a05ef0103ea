import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface FfmpegTools {
  ffmpeg: string;
  ffprobe: string;
}

/** True when both binaries run; readiness reports this instead of failing renders later. */
export async function checkFfmpeg(tools: FfmpegTools): Promise<{ ok: boolean; version?: string; error?: string }> {
  try {
    const { stdout } = await execFileP(tools.ffmpeg, ['-version'], { timeout: 5000 });
    await execFileP(tools.ffprobe, ['-version'], { timeout: 5000 });
    return { ok: true, version: stdout.split('\n')[0] ?? '' };
  } catch (e) {
    return { ok: false, error: (e as Error).message.split('\n')[0] ?? 'ffmpeg check failed' };
  }
}
