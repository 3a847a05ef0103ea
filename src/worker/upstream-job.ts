import type { FailureCode } from '../domain/failures.ts';
import type { Logger } from 'pino';
import type { UpstreamPollRow } from '../infra/db/tasks-repo.ts';
import type { Channel } from '../providers/upstream/channels.ts';
import { estimatedProgress, failureDelay, nextPollDelay, pollBeforeEnd, remainingFromProgress, type DurationMemory } from '../providers/upstream/poll-schedule.ts';
import type { UpstreamFailure } from '../domain/failures.ts';
import { OFF_PEAK_MAX_AGE_MS } from '../domain/off-peak.ts';
import type { PollerDeps } from './upstream-poller.ts';

/** An upstream job in a poller's hands, as it was claimed. */
export interface Job {
  row: UpstreamPollRow;
  channel: Channel;
  upstreamModel: string;
  submittedAt: number;
  maxWaitMs: number;
  log: Logger;
  /** The next-poll time the claim wrote: a reschedule applies only while the row still holds it. */
  claimedNextPollAt: number;
}

export function newJob(d: PollerDeps, owner: string, row: UpstreamPollRow, channel: Channel, claimedNextPollAt: number): Job {
  let log: Logger | undefined;
  const facts = JSON.parse(row.upstream_json ?? '{}') as { upstream_model?: string };
  return {
    row, channel, submittedAt: Number(row.upstream_submitted_at ?? d.now()), claimedNextPollAt,
    upstreamModel: facts.upstream_model ?? row.model,
    // An off-peak job may wait upstream as long as the off-peak promise allows (Vidu defers it for up to 48 h).
    maxWaitMs: Number(row.off_peak) ? Math.max(d.timing.maxWaitMs, OFF_PEAK_MAX_AGE_MS) : d.timing.maxWaitMs,
    // Made only when something is logged: most polls log nothing, and there are ~1 000 a second.
    get log() { return log ??= d.log.child({ taskId: row.id, poller: owner, channel: channel.name }); },
  };
}

/** What the poller keeps for self-hosted servers' jobs: how long they took lately, and a way to look again at an exact time. */
export interface LocalPolling {
  durations: DurationMemory;
  /** Claim again at this time (a job due between two ticks). */
  wakeAt(at: number): void;
}

export const durationKey = (job: Pick<Job, 'channel' | 'upstreamModel'>) => `${job.channel.name}\u0000${job.upstreamModel}`;

/**
 * What an upstream's answer does to its task, written through the poller's
 * lease (`owner`): poll again later, retry, send back to the queue, or end it.
 */
export function jobBookkeeping(d: PollerDeps, owner: string, local?: LocalPolling) {
  const random = d.random ?? Math.random;

  /**
   * After a failed poll: a self-hosted server is asked again soon (SGLang's
   * "still in-progress" 404 on the content lasts a moment) but backs off to the
   * global ceiling, so one that restarts for minutes is not given up on in seconds.
   */
  const backoffTiming = (job: Job) => (job.channel.timing ? { pollMs: job.channel.timing.pollMs, maxIntervalMs: d.timing.maxIntervalMs } : d.timing);

  /**
   * A self-hosted server's job is polled at the channel's steady interval,
   * and just after it should end (by the progress it reports, or by how long
   * its jobs took lately): the sooner Reelay sees it done, the sooner the GPU gets the next one.
   */
  function nextDelay(job: Job, polls: number, age: number, reported: number | undefined): number {
    const timing = job.channel.timing;
    if (!timing) return nextPollDelay(polls, d.timing, random);
    const expected = local?.durations.expected(durationKey(job));
    const remaining = remainingFromProgress(age, reported) ?? (expected === undefined ? undefined : expected - age);
    return pollBeforeEnd(nextPollDelay(polls, timing, random), remaining);
  }

  /** Still running upstream: poll again later, unless the job is past its wait limit. */
  async function running(job: Job, reported: number | undefined) {
    const age = d.now() - job.submittedAt;
    // A finished job is never given up on for being late: the limit applies only while it is still running.
    if (age > job.maxWaitMs) {
      await giveUp(job, { code: 'upstream_timeout', message: `The ${job.channel.provider} job did not finish within ${Math.round(job.maxWaitMs / 1000)} s.` });
      return;
    }
    const polls = Number(job.row.upstream_polls) + 1;
    // Without a reported figure (SGLang), the estimate follows how long this server's jobs of the model took lately.
    const expectedMs = (job.channel.timing && local?.durations.expected(durationKey(job))) || d.timing.expectedMs;
    const progress = Math.min(95, reported ?? estimatedProgress(age, expectedMs) * 0.95);
    await reschedule(job, { nextPollAt: d.now() + nextDelay(job, polls, age, reported), polls, failures: 0, progress });
  }

  /**
   * A poll or download that failed, by whose fault. Transient failures are
   * tried again with backoff, up to REELAY_UPSTREAM_MAX_POLL_FAILURES in a
   * row and never past the job's deadline; a 429 pauses the channel and does
   * not count. A job the upstream lost, a channel at fault (its key was
   * revoked mid-job) or a self-hosted server that stayed unreachable through
   * all those retries, goes back to the queue once to be submitted again —
   * elsewhere if this channel now rests. The request's or the content's
   * fault ends the task.
   */
  async function failed(job: Job, f: UpstreamFailure) {
    await d.health.recordFailure(job.channel.name, job.upstreamModel, f).catch((e) => job.log.warn({ err: e }, 'channel health not recorded'));
    if (f.fault === 'throttled') job.channel.rate.pause(f.retryAfterMs ?? 1000);
    const failures = Number(job.row.upstream_failures) + (f.fault === 'throttled' ? 0 : 1);
    // A self-hosted server unreachable that long has lost its jobs anyway (it keeps none across a restart).
    const unreachable = job.channel.slots !== undefined && f.fault === 'transient' && failures >= d.timing.maxPollFailures;
    const lost = f.code === 'upstream_lost_job' || f.fault === 'channel' || f.fault === 'model' || unreachable;
    if (lost) {
      if (Number(job.row.attempts) < 2 && (await d.tasks.requeueUpstream(job.row.id, owner))) {
        job.log.warn({ code: f.code }, 'upstream job lost or its channel at fault; the task goes back to the queue');
        await job.channel.adapter.cancel?.(job.row.upstream_id!);
        d.onTaskChanged?.(job.row.id);
        d.onRequeued?.(job.row.id);
        await d.slots?.freed(job.channel);
        return;
      }
      await giveUp(job, f.code === 'upstream_lost_job' ? f : { code: 'upstream_unavailable', message: `${f.message} The task could not be moved to another channel; the credits were refunded.` });
      return;
    }
    const retry = (f.fault === 'transient' || f.fault === 'throttled') && failures < d.timing.maxPollFailures
      && d.now() - job.submittedAt <= job.maxWaitMs;
    if (retry) {
      job.log.warn({ code: f.code, failures }, 'upstream call failed; will retry');
      await reschedule(job, {
        nextPollAt: d.now() + failureDelay(Math.max(1, failures), backoffTiming(job), f.retryAfterMs),
        polls: Number(job.row.upstream_polls), failures, progress: 0,
      });
      return;
    }
    job.log.warn({ code: f.code }, 'upstream task failed');
    await giveUp(job, f);
  }

  async function reschedule(job: Job, s: { nextPollAt: number; polls: number; failures: number; progress: number }) {
    // False: the lease is gone (the task was cancelled, or another poller took over); either way not ours to touch.
    const ours = await d.tasks.reschedulePoll(job.row.id, owner, { ...s, claimedNextPollAt: job.claimedNextPollAt });
    if (ours && s.progress > 0) d.onTaskChanged?.(job.row.id);
    if (ours && job.channel.timing) local?.wakeAt(s.nextPollAt);
  }

  /** Stopping or lease lost: hand the job back, due now (a no-op if the lease is already someone else's). */
  async function handBack(job: Job) {
    await d.tasks.reschedulePoll(job.row.id, owner, {
      nextPollAt: d.now(), polls: Number(job.row.upstream_polls), failures: Number(job.row.upstream_failures), progress: 0,
    }).catch(() => {});
  }

  /** End the task failed (refunded) and stop the upstream job where it can be stopped: nobody will collect it. */
  async function giveUp(job: Job, outcome: { code: FailureCode; message: string }) {
    await job.channel.adapter.cancel?.(job.row.upstream_id!).catch(() => {});
    const ended = await d.lifecycle.fail(job.row.id, owner, d.now(), outcome.code, outcome.message);
    if (ended) d.onJobEnded?.(job.channel.provider, 'failed', (d.now() - job.submittedAt) / 1000);
    await d.slots?.freed(job.channel);
  }

  return { running, failed, handBack, giveUp };
}

export type JobBookkeeping = ReturnType<typeof jobBookkeeping>;
