import { spawnDetached } from './spawner.ts';

/** A probe answers in milliseconds; a stuck one is ended. Its JSON is a few KB. */
const PROBE_TIMEOUT_MS = 30_000;
const MAX_OUTPUT = 4 * 1024 * 1024;

/**
 * ffprobe in a process group of its own, like ffmpeg (run-ffmpeg.ts): a
 * terminal's Ctrl-C reaches Reelay, which hands the task back, not the probe
 * under it (execFile cannot start a detached child).
 */
function runProbe(path: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    // Started by the spawner's helper (spawner.ts): a fork from this process would stop the event loop.
    const child = spawnDetached(path, args);
    let stopped = false;
    const stop = () => {
      stopped = true;
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    child.once('spawn', () => { if (stopped) stop(); });
    const out: Buffer[] = [];
    let size = 0;
    let stderr = '';
    const timer = setTimeout(stop, PROBE_TIMEOUT_MS);
    child.stdout.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_OUTPUT) stop();
      else out.push(c);
    });
    child.stderr.on('data', (c: Buffer) => { if (stderr.length < 4096) stderr += c.toString(); });
    child.on('error', (e: Error) => { clearTimeout(timer); reject(e); });
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`ffprobe exited ${code ?? signal}: ${stderr.trim().slice(0, 500)}`));
    });
  });
}

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
  const stdout = await runProbe(ffprobePath, ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', file]);
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
