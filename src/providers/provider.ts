import type { FailureCode } from '../domain/failures.ts';
import type { ModelSpec } from '../domain/catalog.ts';

/** Everything a provider needs to make one video, already validated and defaulted. */
export interface GenerationJob {
  taskId: string;
  model: ModelSpec;
  prompt: string;
  negativePrompt: string | null;
  aspectRatio: string;
  seconds: number;
  width: number;
  height: number;
  fps: number;
  /** The seed to use; callers pick one when the user did not, so the output is reproducible. */
  seed: number;
  generateAudio: boolean;
  /** Start frame, then the optional last frame (original bytes as uploaded). Empty when extending, and on reference-only models (viduq3, viduq3-mix), whose start image travels as the first reference. */
  images: Buffer[];
  /** Up to 3 (Vidu reference models: 7) pictures of a subject to keep in the video (API.md §3 `reference_images`), as uploaded. */
  referenceImages?: Buffer[];
  /** Continue this video (a succeeded task's output); the result is the whole extended video (API.md §3 `extend_task_id`). */
  extend?: ExtendSource | null;
  options: Record<string, unknown>;
  /** The user asked the model to write its own prompt (Vidu `is_rec`); the local renderer ignores it. */
  isRec?: boolean;
  /** An off-peak task: upstreams with an off-peak mode of their own (Vidu) get it as such. */
  offPeak?: boolean;
}

/** The video a task continues: its bytes and measured facts. `seconds` on the job is what the extension adds. */
export interface ExtendSource {
  taskId: string;
  video: Buffer;
  mimeType: 'video/mp4';
  duration: number;
  width: number;
  height: number;
  fps: number;
  hasAudio: boolean;
  /** Where the upstream that made it keeps it, when it was an upstream job (e.g. a Gemini Files URI), for upstreams that take a reference. */
  upstreamUri?: string;
}

export interface GenerationContext {
  signal: AbortSignal;
  /** 0–100 for the provider's own part of the work; the caller maps it into the task's progress. */
  onProgress: (percent: number) => void;
  /** A private scratch folder, removed by the caller afterwards. */
  workDir: string;
}

export interface GenerationResult {
  /** A finished MP4 inside workDir. */
  videoPath: string;
  /** Facts the provider wants recorded on the task (e.g. the local camera plan). */
  details: Record<string, unknown>;
}

/**
 * One interface for every way of making a video. The worker owns the task's
 * lifecycle; a provider only turns a job into a file (or throws a
 * ProviderError saying why not).
 */
export interface VideoProvider {
  readonly name: 'local' | 'gemini' | 'vertex' | 'vidu';
  generate(job: GenerationJob, ctx: GenerationContext): Promise<GenerationResult>;
}

/** A failure the task should record as-is: a stable code and a message safe to show the user. */
export class ProviderError extends Error {
  readonly code: FailureCode;
  readonly retryable: boolean;
  /** The upstream asked us to slow down (429): how long, from its Retry-After (default when absent). */
  readonly throttledMs: number | undefined;
  constructor(code: FailureCode, message: string, opts: { retryable?: boolean; cause?: unknown; throttledMs?: number } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ProviderError';
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.throttledMs = opts.throttledMs;
  }
}
