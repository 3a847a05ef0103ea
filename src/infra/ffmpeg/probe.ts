import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface MediaFacts {
  duration: number;
  fps: number;
  width: number;
  height: number;
  videoCodec: string;
  pixelFormat: string;
  hasAudio: boolean;
  audioCodec: string | null;
  frames: number | null;
}

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  nb_frames?: string;
  duration?: string;
}

function ratio(s: string | undefined): number {
  if (!s) return 0;
  const [n, d] = s.split('/').map(Number);
  return d ? (n ?? 0) / d : (n ?? 0);
}

/** Facts about a media file, measured by ffprobe (never copied from the request). */
export async function probeMedia(ffprobePath: string, file: string): Promise<MediaFacts> {
  const { stdout } = await execFileP(ffprobePath, [
    '-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', file,
  ], { maxBuffer: 4 * 1024 * 1024, timeout: 30_000 });
  const doc = JSON.parse(stdout) as { streams?: ProbeStream[]; format?: { duration?: string } };
  const streams = doc.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video');
  if (!video) throw new Error('no video stream in output');
  const audio = streams.find((s) => s.codec_type === 'audio');
  const duration = Number(video.duration ?? doc.format?.duration ?? 0);
  return {
    duration: Math.round(duration * 1000) / 1000,
    fps: Math.round(ratio(video.avg_frame_rate || video.r_frame_rate) * 1000) / 1000,
    width: video.width ?? 0,
    height: video.height ?? 0,
    videoCodec: video.codec_name ?? 'unknown',
    pixelFormat: video.pix_fmt ?? 'unknown',
    hasAudio: Boolean(audio),
    audioCodec: audio?.codec_name ?? null,
    frames: video.nb_frames ? Number(video.nb_frames) : null,
  };
}
