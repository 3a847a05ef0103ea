import type { UpstreamFailure } from '../../domain/failures.ts';
import type { GenerationJob } from '../provider.ts';

export type UpstreamName = 'gemini' | 'vertex' | 'vidu' | 'openai-videos';

/** Where the finished video is: bytes in the answer, or a URL the adapter knows how to fetch. */
export type ResultVideo = { kind: 'bytes'; data: Buffer } | { kind: 'url'; url: string };

/** A job as one channel sends it: the public model mapped to the id that channel's upstream serves today. */
export interface UpstreamJob extends GenerationJob {
  /** e.g. public `veo-3.0-fast-generate-001` → `veo-3.1-fast-generate-001` on Vertex. */
  readonly upstreamModel: string;
  /** The user chose the seed (an operator's default seed for the model applies only when not). */
  readonly userSeed?: boolean;
}

export type SubmitOutcome =
  | { ok: true; id: string; /** What was sent that the task's metadata should say (e.g. the seed an operator's default chose). */ facts?: Readonly<Record<string, unknown>> }
  | { ok: false; failure: UpstreamFailure };

export type PollOutcome =
  | { state: 'running'; /** 0–100 when the upstream reports it */ progress?: number }
  | { state: 'done'; video: ResultVideo }
  | { state: 'failed'; failure: UpstreamFailure };

export type DownloadOutcome = { ok: true } | { ok: false; failure: UpstreamFailure };

/** What `reelay channels test` learns of one channel without generating anything. */
export interface ChannelCheck {
  credentials: { ok: boolean; detail: string };
  /** One per upstream model the channel maps to; ok null = the upstream offers no way to check it. */
  models: { upstreamModel: string; ok: boolean | null; detail: string }[];
}

/**
 * One upstream's wire format, nothing else: routing, failover and channel
 * health (channels.ts, channel-health.ts), the poll schedule
 * (poll-schedule.ts) and the poller (worker/upstream-poller.ts) are shared.
 *
 * Every call returns an explicit outcome. An adapter never throws for
 * anything the upstream said or for a network failure; it throws only when
 * the caller's signal aborted (cancel, shutdown) or on a bug.
 */
export interface UpstreamAdapter {
  readonly name: UpstreamName;
  /** Create the upstream job; its id (operation name, task id) is what poll/cancel take. */
  submit(job: UpstreamJob, signal: AbortSignal): Promise<SubmitOutcome>;
  poll(id: string, signal: AbortSignal): Promise<PollOutcome>;
  /** Best effort, where the upstream has it; never throws. */
  cancel?(id: string): Promise<void>;
  /** Fetch a `url` result into `path` (streamed, capped). */
  download(url: string, path: string, signal: AbortSignal): Promise<DownloadOutcome>;
  /** Credentials and the mapped models, checked live without generating anything. */
  check(upstreamModels: readonly string[], signal: AbortSignal): Promise<ChannelCheck>;
}
