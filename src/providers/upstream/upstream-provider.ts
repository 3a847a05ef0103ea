import type { GenerationJob } from '../provider.ts';

export type UpstreamName = 'gemini' | 'vertex' | 'vidu';

/** Where the finished video is: bytes in the answer, or a URL the adapter knows how to fetch. */
export type ResultVideo = { kind: 'bytes'; data: Buffer } | { kind: 'url'; url: string };

export type PollOutcome = { done: false } | { done: true; video: ResultVideo };

/**
 * One upstream's wire format, nothing else: routing and failover
 * (channels.ts), the poll schedule (poll-schedule.ts) and the poller that
 * drives thousands of jobs at once (worker/upstream-poller.ts) are shared.
 */
export interface UpstreamAdapter {
  readonly name: UpstreamName;
  /** Create the upstream job; returns its id (operation name, task id). */
  submit(job: GenerationJob, signal: AbortSignal): Promise<string>;
  poll(id: string, signal: AbortSignal): Promise<PollOutcome>;
  /** Best effort, where the upstream has it. */
  cancel?(id: string): Promise<void>;
  /** Fetch a `url` result into `path` (streamed, capped). */
  download(url: string, path: string, signal: AbortSignal): Promise<void>;
}
