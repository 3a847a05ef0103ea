import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { newWorkerId } from '../domain/ids.ts';
import type { TasksRepo, UpstreamPollRow } from '../infra/db/tasks-repo.ts';
import { wakeableSleep } from '../infra/claim-loop.ts';
import { limiter } from '../infra/limiter.ts';
import type { Channel } from '../providers/upstream/channels.ts';
import type { ChannelHealth } from '../providers/upstream/channel-health.ts';
import { estimatedProgress, failureDelay, nextPollDelay, type PollTiming } from '../providers/upstream/poll-schedule.ts';
import type { PollOutcome, ResultVideo } from '../providers/upstream/upstream-provider.ts';
import { failure, type UpstreamFailure } from '../domain/failures.ts';
import { OFF_PEAK_MAX_AGE_MS } from '../domain/off-peak.ts';
import { completeWithOutput, finishOutput, type PublishDeps } from './finish-output.ts';
import { classifyFailure, defaultSeed } from './failure.ts';
import { keepLease } from './lease.ts';

export type PollOutcomeLabel = 'pending' | 'done' | 'failed' | 'error' | 'throttled';

export interface PollerDeps extends PublishDeps {
  tasks: TasksRepo;
  channels: ReadonlyMap<string, Channel>;
  health: ChannelHealth;
  timing: PollTiming;
  /** Polls in flight at once (each waits ~an upstream round trip). */
  concurrency: number;
  /** Finished jobs downloaded and probed at once (disk, network and ffmpeg heavy). */
  downloads: number;
  leaseMs: number;
  /** How often to look for due jobs when none were due. */
  tickMs: number;
  log: Logger;
  onTaskChanged?(taskId: string): void;
  /** A task went back to the queue (its upstream lost the job): wake a worker. */
  onRequeued?(taskId: string): void;
  onPoll?(channel: string, outcome: PollOutcomeLabel, seconds: number): void;
  /** A job ended here: how long it took from submit (upstream time, download included). */
  onJobEnded?(provider: string, outcome: 'succeeded' | 'failed', seconds: number): void;
  scratchDir?: string;
  random?: () => number;
}

/** Claimed per query at most: keeps each claim short on a busy database. */
const CLAIM_BATCH = 200;

type Job = { row: UpstreamPollRow; channel: Channel; upstreamModel: string; submittedAt: number; maxWaitMs: number; log: Logger; claimedNextPollAt: number };

/**
 * Polls every in-flight upstream job, many at once. The schedule lives in the
 * tasks table (upstream_next_poll_at), so any number of pollers on any nodes
 * share the work: each leases, per channel, as many due jobs as that channel's
 * rate limit lets it poll within a tick, polls them concurrently, and writes
 * back when to poll next. Leases are renewed while a job is in hand; a poller
 * that dies leaves leases that lapse, and another takes its jobs. A worker
 * slot is never held while an upstream thinks (new-api's serial poller lags
 * 10+ minutes at a few hundred tasks, its issue #4244).
 *
 * Only the upstream's answers decide a task's fate here; a database error in
 * the bookkeeping is logged and the lease left to lapse, so the job is simply
 * polled again later.
 */
export function createUpstreamPoller(d: PollerDeps) {
  const id = newWorkerId();
  const random = d.random ?? Math.random;
  const polling = new Map<string, { abort: AbortController; done: Promise<void> }>();
  const downloading = new Map<string, { abort: AbortController; done: Promise<void> }>();
  const downloadSlot = limiter(d.downloads);
  const stopping = new AbortController();
  let active = false;
  let loopDone: Promise<void> = Promise.resolve();
  let turn = 0;
  const { sleep, wake } = wakeableSleep();

  async function loop() {
    let backoff = 0;
    while (active) {
      let moreDue = false;
      try {
        // A different channel first each round, so one busy channel cannot take every slot.
        const channels = [...d.channels.values()];
        turn = (turn + 1) % Math.max(1, channels.length);
        for (const channel of [...channels.slice(turn), ...channels.slice(0, turn)]) {
          const free = d.concurrency - polling.size;
          if (free <= 0) { moreDue = true; break; }
          const n = Math.min(free, CLAIM_BATCH, channel.rate.available(d.tickMs));
          if (n <= 0) continue;
          const now = d.now();
          const rows = await d.tasks.claimDuePolls(id, now, d.leaseMs, n, channel.name);
          for (const row of rows) start(row, channel, now + d.leaseMs);
          if (rows.length === n) moreDue = true;
        }
        backoff = 0;
      } catch (e) {
        backoff = Math.min(30_000, Math.max(500, backoff * 2));
        d.log.error({ err: e, backoffMs: backoff }, 'claiming upstream polls failed; backing off');
        await sleep(backoff);
        continue;
      }
      // More is due and slots are free: claim again after a brief yield; otherwise wait for the next tick.
      await sleep(moreDue && polling.size < d.concurrency / 2 ? 5 : d.tickMs);
    }
  }

  function start(row: UpstreamPollRow, channel: Channel, claimedNextPollAt: number) {
    // Still in hand here from an earlier lease: that handler carries on.
    if (polling.has(row.id) || downloading.has(row.id)) return;
    const abort = new AbortController();
    let log: Logger | undefined;
    const facts = JSON.parse(row.upstream_json ?? '{}') as { upstream_model?: string };
    const job: Job = {
      row, channel, submittedAt: Number(row.upstream_submitted_at ?? d.now()), claimedNextPollAt,
      upstreamModel: facts.upstream_model ?? row.model,
      // An off-peak job may wait upstream as long as the off-peak promise allows (Vidu defers it for up to 48 h).
      maxWaitMs: Number(row.off_peak) ? Math.max(d.timing.maxWaitMs, OFF_PEAK_MAX_AGE_MS) : d.timing.maxWaitMs,
      // Made only when something is logged: most polls log nothing, and there are ~1 000 a second.
      get log() { return log ??= d.log.child({ taskId: row.id, poller: id, channel: channel.name }); },
    };
    const done = poll(job, abort)
      .catch((e) => job.log.error({ err: e }, 'upstream poll bookkeeping failed; the job is polled again when its lease lapses'))
      .finally(() => {
        polling.delete(row.id);
        if (polling.size <= Math.floor(d.concurrency / 2)) wake();
      });
    polling.set(row.id, { abort, done });
  }

  /** Keeps the lease while a job is in hand; losing it (cancelled, taken over) or stopping aborts the work. */
  function holdJob(taskId: string, abort: AbortController): () => void {
    const onStop = () => abort.abort();
    stopping.signal.addEventListener('abort', onStop, { once: true });
    const stopRenewing = keepLease({ tasks: d.tasks, taskId, ownerId: id, leaseMs: d.leaseMs, now: d.now, onLost: onStop });
    return () => { stopRenewing(); stopping.signal.removeEventListener('abort', onStop); };
  }

  async function poll(job: Job, abort: AbortController): Promise<void> {
    const { row, channel } = job;
    const release = holdJob(row.id, abort);
    try {
      const t0 = performance.now();
      let out: PollOutcome;
      try {
        await channel.rate.take(abort.signal);
        out = await channel.adapter.poll(row.upstream_id!, abort.signal);
      } catch (e) {
        if (abort.signal.aborted) {
          await handBack(job);
          return;
        }
        // An adapter throws only on a bug: logged, and the job is tried again like a transient failure.
        job.log.error({ err: e }, 'upstream poll threw');
        out = { state: 'failed', failure: failure('upstream_invalid_response', 'transient', `The ${channel.provider} answer could not be read.`) };
      }
      const seconds = (performance.now() - t0) / 1000;
      const age = d.now() - job.submittedAt;
      if (out.state === 'failed') {
        d.onPoll?.(channel.name, out.failure.fault === 'throttled' ? 'throttled' : 'error', seconds);
        await onFailure(job, out.failure);
        return;
      }
      if (out.state === 'running') {
        d.onPoll?.(channel.name, 'pending', seconds);
        // A finished job is never given up on for being late: the limit applies only while it is still running.
        if (age > job.maxWaitMs) {
          await giveUp(job, { code: 'upstream_timeout', message: `The ${channel.provider} job did not finish within ${Math.round(job.maxWaitMs / 1000)} s.` });
          return;
        }
        const polls = Number(row.upstream_polls) + 1;
        const progress = Math.min(95, out.progress ?? estimatedProgress(age, d.timing.expectedMs) * 0.95);
        await reschedule(job, { nextPollAt: d.now() + nextPollDelay(polls, d.timing, random), polls, failures: 0, progress });
        return;
      }
      d.onPoll?.(channel.name, 'done', seconds);
      startDownload(job, out.video);
    } finally {
      release();
    }
  }

  /**
   * A poll or download that failed, by whose fault. Transient failures are
   * tried again with backoff, up to REELAY_UPSTREAM_MAX_POLL_FAILURES in a
   * row and never past the job's deadline; a 429 pauses the channel and does
   * not count. A job the upstream lost, or a channel at fault (its key was
   * revoked mid-job), goes back to the queue once to be submitted again —
   * elsewhere if this channel now rests. The request's or the content's
   * fault ends the task.
   */
  async function onFailure(job: Job, f: UpstreamFailure) {
    await d.health.recordFailure(job.channel.name, job.upstreamModel, f).catch((e) => job.log.warn({ err: e }, 'channel health not recorded'));
    if (f.fault === 'throttled') job.channel.rate.pause(f.retryAfterMs ?? 1000);
    const lost = f.code === 'upstream_lost_job' || f.fault === 'channel' || f.fault === 'model';
    if (lost) {
      if (Number(job.row.attempts) < 2 && (await d.tasks.requeueUpstream(job.row.id, id))) {
        job.log.warn({ code: f.code }, 'upstream job lost or its channel at fault; the task goes back to the queue');
        await job.channel.adapter.cancel?.(job.row.upstream_id!);
        d.onTaskChanged?.(job.row.id);
        d.onRequeued?.(job.row.id);
        return;
      }
      await giveUp(job, f.code === 'upstream_lost_job' ? f : { code: 'upstream_unavailable', message: `${f.message} The task could not be moved to another channel; the credits were refunded.` });
      return;
    }
    const failures = Number(job.row.upstream_failures) + (f.fault === 'throttled' ? 0 : 1);
    const retry = (f.fault === 'transient' || f.fault === 'throttled') && failures < d.timing.maxPollFailures
      && d.now() - job.submittedAt <= job.maxWaitMs;
    if (retry) {
      job.log.warn({ code: f.code, failures }, 'upstream call failed; will retry');
      await reschedule(job, {
        nextPollAt: d.now() + failureDelay(Math.max(1, failures), d.timing, f.retryAfterMs),
        polls: Number(job.row.upstream_polls), failures, progress: 0,
      });
      return;
    }
    job.log.warn({ code: f.code }, 'upstream task failed');
    await giveUp(job, f);
  }

  async function reschedule(job: Job, s: { nextPollAt: number; polls: number; failures: number; progress: number }) {
    // False: the lease is gone (the task was cancelled, or another poller took over); either way not ours to touch.
    if (await d.tasks.reschedulePoll(job.row.id, id, { ...s, claimedNextPollAt: job.claimedNextPollAt }) && s.progress > 0) d.onTaskChanged?.(job.row.id);
  }

  /** Stopping or lease lost: hand the job back, due now (a no-op if the lease is already someone else's). */
  async function handBack(job: Job) {
    await d.tasks.reschedulePoll(job.row.id, id, {
      nextPollAt: d.now(), polls: Number(job.row.upstream_polls), failures: Number(job.row.upstream_failures), progress: 0,
    }).catch(() => {});
  }

  /** End the task failed (refunded) and stop the upstream job where it can be stopped: nobody will collect it. */
  async function giveUp(job: Job, outcome: { code: string; message: string }) {
    await job.channel.adapter.cancel?.(job.row.upstream_id!).catch(() => {});
    const ended = await d.lifecycle.fail(job.row.id, id, d.now(), outcome.code, outcome.message);
    if (ended) d.onJobEnded?.(job.channel.provider, 'failed', (d.now() - job.submittedAt) / 1000);
  }

  /**
   * The job is done: download (streamed, capped), probe, thumbnail and store
   * the result, then the task succeeds. This runs in a download slot, not a
   * poll slot, so a slow CDN never stops polling.
   */
  function startDownload(job: Job, video: ResultVideo) {
    const abort = new AbortController();
    const entry = { abort, done: Promise.resolve() };
    downloading.set(job.row.id, entry);
    const release = holdJob(job.row.id, abort);
    entry.done = (async () => {
      try {
        if (!(await d.tasks.renewLease(job.row.id, id, d.now() + d.leaseMs))) return;
        await downloadSlot(() => download(job, video, abort.signal));
      } catch (e) {
        if (abort.signal.aborted) await handBack(job);
        else job.log.error({ err: e }, 'upstream result bookkeeping failed; the job is polled again when its lease lapses');
      } finally {
        release();
        downloading.delete(job.row.id);
      }
    })();
  }

  async function download(job: Job, video: ResultVideo, signal: AbortSignal) {
    if (signal.aborted) throw signal.reason;
    const { row, channel } = job;
    const workDir = await mkdtemp(join(d.scratchDir ?? tmpdir(), `reelay-${row.id}-`));
    try {
      const videoPath = join(workDir, 'video.mp4');
      if (video.kind === 'bytes') await writeFile(videoPath, video.data);
      else {
        // A result link can expire or a CDN hiccup (transient): the next poll hands out a fresh one. A link we
        // refuse to fetch (private address) or an oversized video stays refused (the adapters call those the request's).
        const got = await channel.adapter.download(video.url, videoPath, signal);
        if (!got.ok) {
          await onFailure(job, got.failure.fault === 'channel' ? { ...got.failure, fault: 'transient' } : got.failure);
          return;
        }
      }
      const extra = JSON.parse(row.upstream_json ?? '{}') as Record<string, unknown>;
      const details = { provider: channel.provider, channel: channel.name, upstream: { provider: channel.provider, id: row.upstream_id }, upstream_model: job.upstreamModel, ...extra };
      const seed = row.seed == null ? defaultSeed(row.id) : Number(row.seed);
      let out;
      try {
        out = await finishOutput({ taskId: row.id, videoPath, workDir, seed, details, ffmpeg: d.ffmpeg, blobs: d.blobs, signal });
      } catch (e) {
        if (signal.aborted) throw e;
        await giveUp(job, classifyFailure(e));
        return;
      }
      if (await completeWithOutput(d, row.id, id, out)) {
        await d.health.recordSuccess(channel.name, job.upstreamModel).catch(() => {});
        job.log.info({ seconds: (d.now() - job.submittedAt) / 1000 }, 'upstream task succeeded');
        d.onJobEnded?.(channel.provider, 'succeeded', (d.now() - job.submittedAt) / 1000);
      } else job.log.info('task ended elsewhere before completion; output discarded');
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  return {
    id,
    start() {
      if (active) return;
      active = true;
      loopDone = loop();
    },
    /** Something became due in this process (a callback arrived): look now. */
    wake,
    /**
     * Stop claiming; stop polls at once and hand their jobs back. Downloads get
     * until the deadline, then are stopped and handed back the same way.
     */
    async stop(deadlineMs = 10_000) {
      active = false;
      wake();
      await loopDone;
      for (const p of polling.values()) p.abort.abort();
      const downloads = () => Promise.all([...downloading.values()].map((x) => x.done));
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<boolean>((r) => { timer = setTimeout(() => r(true), deadlineMs); timer.unref(); });
      const timedOut = await Promise.race([downloads().then(() => false), deadline]);
      clearTimeout(timer);
      if (timedOut) stopping.abort();
      await downloads();
      await Promise.all([...polling.values()].map((p) => p.done));
    },
    get busy() {
      return polling.size + downloading.size;
    },
  };
}

export type UpstreamPoller = ReturnType<typeof createUpstreamPoller>;
