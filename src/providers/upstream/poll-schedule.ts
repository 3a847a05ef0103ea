/** How often to ask an upstream about a job (API.md §11: REELAY_UPSTREAM_POLL_MS, …_POLL_MAX_MS). */
export interface PollTiming {
  /** First interval; each poll waits ×1.5 longer, up to maxIntervalMs. */
  pollMs: number;
  maxIntervalMs: number;
  /** Give up on a job that has not finished after this long. */
  maxWaitMs: number;
  /** Consecutive retryable poll failures tolerated before the task fails. */
  maxPollFailures: number;
  /** What a typical job takes, for the time-based progress estimate. */
  expectedMs: number;
}

/**
 * The wait before poll number `polls + 1`. Young jobs are polled often (a
 * Veo job can finish in 11 s); old ones settle at the ceiling. ±10 % jitter
 * keeps a burst of jobs submitted together from polling in lockstep.
 */
export function nextPollDelay(polls: number, t: Pick<PollTiming, 'pollMs' | 'maxIntervalMs'>, random: () => number = Math.random): number {
  const base = Math.min(t.pollMs * 1.5 ** polls, t.maxIntervalMs);
  return Math.max(1, Math.round(base * (0.9 + 0.2 * random())));
}

/** After a failed poll: back off with the failure count, never sooner than a normal poll. */
export function failureDelay(failures: number, t: Pick<PollTiming, 'pollMs' | 'maxIntervalMs'>, throttledMs = 0): number {
  return Math.max(throttledMs, Math.min(t.pollMs * 2 ** failures, t.maxIntervalMs * 3));
}

const PROGRESS_CAP = 90;

/** Upstreams report no progress: an estimate that approaches, never reaches, the cap. */
export function estimatedProgress(elapsedMs: number, expectedMs: number): number {
  return PROGRESS_CAP * (1 - Math.exp(-Math.max(0, elapsedMs) / expectedMs));
}

/** Never poll one job more often than this, however close its expected end. */
const MIN_POLL_MS = 20;
/** Look just after the expected end, not just before it. */
const ETA_SLACK_MS = 15;
/** Progress below this says too little about the rate (a job still loading, or queued on the server). */
const MIN_PROGRESS = 5;

/** How long a job that reports `progress` after `elapsedMs` should still take, if the rate holds. */
export function remainingFromProgress(elapsedMs: number, progress: number | undefined): number | undefined {
  if (progress === undefined || progress < MIN_PROGRESS || progress >= 100) return undefined;
  return (elapsedMs * (100 - progress)) / progress;
}

/**
 * The wait before the next poll of a job on a self-hosted server: its
 * steady interval, but no later than just after the job is expected to end,
 * so a GPU that finished is handed its next job at once.
 */
export function pollBeforeEnd(intervalMs: number, remainingMs: number | undefined): number {
  if (remainingMs === undefined || !Number.isFinite(remainingMs) || remainingMs < 0) return intervalMs;
  return Math.max(MIN_POLL_MS, Math.min(intervalMs, Math.round(remainingMs) + ETA_SLACK_MS));
}

/** How long jobs took lately, per key (channel × model): an average weighted to the recent ones. */
export function durationMemory(weight = 0.3) {
  const seen = new Map<string, number>();
  return {
    expected: (key: string) => seen.get(key),
    record(key: string, ms: number) {
      const before = seen.get(key);
      seen.set(key, before === undefined ? ms : before + weight * (ms - before));
    },
  };
}
export type DurationMemory = ReturnType<typeof durationMemory>;
