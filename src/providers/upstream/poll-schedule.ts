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
