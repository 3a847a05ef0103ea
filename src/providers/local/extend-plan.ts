/**
 * Pure construction of the local renderer's extension (API.md §3
 * `extend_task_id`): the source's last frame is taken out, a new clip is
 * rendered from it with the new prompt's camera (render-plan.ts), and the two
 * are joined into one video — the source, then the added seconds. The added
 * clip's first frame is that last frame, framed the same way, so the join
 * shows no seam; its sound crossfades out of the source's.
 */
import { audioBedGraph, type AudioBed } from './audio-bed.ts';
import { AUDIO_ENCODE, encodeArgs } from './render-plan.ts';

/** Decode the source's final second and keep its last frame as a PNG. */
export function lastFrameArgs(source: string, output: string): string[] {
  // -update 1 rewrites the one file per decoded frame, so the last frame is what stays.
  return ['-y', '-sseof', '-2', '-i', source, '-map', '0:v:0', '-update', '1', '-f', 'image2', '-c:v', 'png', output];
}

export interface JoinPlanInput {
  source: string;
  /** The added clip, rendered at width×height from the source's last frame, without sound. */
  part: string;
  output: string;
  width: number;
  height: number;
  fps: number;
  /** The source's measured length and whether it has sound. */
  sourceSeconds: number;
  sourceHasAudio: boolean;
  /** What the extension adds. */
  seconds: number;
  /** A new bed for the added seconds; null: the model has no audio or none was asked. */
  audio: AudioBed | null;
  seed: number;
  threads?: number;
}

export interface JoinPlan {
  args: string[];
  /** Frames of the whole video (for progress). */
  totalFrames: number;
  /** How the sound continues: the source's into a new bed, either alone, or none. */
  audio: 'crossfade' | 'source' | 'bed' | 'none';
}

/** Longest overlap of the source's sound and the new bed: half a second, less for very short clips. */
const crossfadeSeconds = (a: number, b: number) => Math.min(0.5, a / 2, b / 2);
const fixed = (n: number) => n.toFixed(3);

/** The sound of the joined video, exactly source + added seconds long, as filter-graph text ending in [aout]. */
function audioGraph(i: JoinPlanInput): { graph: string; lavfi: string[]; kind: JoinPlan['audio'] } {
  const total = i.sourceSeconds + i.seconds;
  const src = `[0:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,apad,atrim=end=${fixed(i.sourceSeconds)}`;
  if (!i.audio) {
    return i.sourceHasAudio ? { graph: `${src},apad,atrim=end=${fixed(total)}[aout]`, lavfi: [], kind: 'source' } : { graph: '', lavfi: [], kind: 'none' };
  }
  const bed = audioBedGraph(i.audio, i.seed);
  const fmt = 'aformat=sample_fmts=fltp:channel_layouts=stereo';
  if (!i.sourceHasAudio) {
    // Silence under the source, then the bed fading in where the new seconds start.
    const delay = Math.round(i.sourceSeconds * 1000);
    const graph = `[2:a]${bed.filters},${fmt},afade=t=in:d=0.5,afade=t=out:st=${fixed(Math.max(0, i.seconds - 0.5))}:d=0.5,`
      + `adelay=delays=${delay}:all=1,apad,atrim=end=${fixed(total)}[aout]`;
    return { graph, lavfi: ['-f', 'lavfi', '-t', fixed(i.seconds), '-i', bed.source], kind: 'bed' };
  }
  // The bed starts under the source's last moment and takes over: no gap, no jump in level.
  const x = crossfadeSeconds(i.sourceSeconds, i.seconds);
  const bedLength = i.seconds + x;
  const graph = `${src}[sa];[2:a]${bed.filters},${fmt},afade=t=out:st=${fixed(Math.max(0, bedLength - 0.5))}:d=0.5[ba];`
    + `[sa][ba]acrossfade=d=${fixed(x)}:c1=tri:c2=tri[aout]`;
  return { graph, lavfi: ['-f', 'lavfi', '-t', fixed(bedLength), '-i', bed.source], kind: 'crossfade' };
}

export function buildJoinPlan(i: JoinPlanInput): JoinPlan {
  const { width: w, height: h, fps } = i;
  const sound = audioGraph(i);
  const args = ['-y', '-i', i.source, '-i', i.part, ...sound.lavfi];
  // The source is framed like the renderer frames a start image (scale to cover, centre-crop), at the output's rate.
  const video = `[0:v]scale=${w}:${h}:force_original_aspect_ratio=increase,crop=${w}:${h},setsar=1,fps=${fps},format=yuv420p[sv];`
    + '[1:v]setsar=1,format=yuv420p[pv];[sv][pv]concat=n=2:v=1:a=0[v]';
  args.push('-filter_complex', sound.graph ? `${video};${sound.graph}` : video, '-map', '[v]');
  if (sound.kind !== 'none') args.push('-map', '[aout]', ...AUDIO_ENCODE);
  args.push(...encodeArgs(i), i.output);
  return { args, totalFrames: Math.round(i.sourceSeconds * fps) + Math.round(i.seconds * fps), audio: sound.kind };
}
