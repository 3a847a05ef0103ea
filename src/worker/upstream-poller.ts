import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { newWorkerId } from '../domain/ids.ts';
import type { TasksRepo, UpstreamPollRow } from '../infra/db/tasks-repo.ts';
import { delay } from '../infra/rate-bucket.ts';
import { limiter } from '../infra/limiter.ts';
import { ProviderError } from '../providers/provider.ts';
import type { Channel } from '../providers/upstream/channels.ts';
import { estimatedProgress, failureDelay, nextPollDelay, type PollTiming } from '../providers/upstream/poll-schedule.ts';
import type { ResultVideo } from '../providers/upstream/upstream-provider.ts';
import { publishOutput, type PublishDeps } from './finish-output.ts';
import { classifyFailure, defaultSeed } from './failure.ts';

export type PollOutcomeLabel = 'pending' | 'done' | 'failed' | 'error' | 'throttled';

export interface PollerDeps extends PublishDeps {
  tasks: TasksRepo;
  channels: ReadonlyMap<string, Channel>;
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
  onPoll?(channel: string, outcome: PollOutcomeLabel, seconds: number): void;
  /** A job ended here: how long it took from submit (upstream time, download included). */
  onJobEnded?(provider: string, outcome: 'succeeded' | 'failed', seconds: number): void;
  scratchDir?: string;
  random?: () => number;
}

/** Claimed per query at most: keeps each claim short on a busy database. */
const CLAIM_BATCH = 200;

/**
 * Polls every in-flight upstream job, many at once. The schedule lives in the
 * tasks table (upstream_next_poll_at), so any number of pollers on any nodes
 * share the work: each leases the jobs that are due, polls them concurrently
 * within each channel's rate limit, and writes back when to poll next. A
 * poller that dies leaves leases that lapse; another takes its jobs. A worker
 * slot is never held while an upstream thinks (new-api's serial poller lags
 * 10+ minutes at a few hundred tasks, its issue #4244).
 */
export function createUpstreamPoller(d: PollerDeps) {
  const id = newWorkerId();
  const random = d.random ?? Math.random;
  const inFlight = new Map<string, AbortController>();
  const downloadSlot = limiter(d.downloads);
  let active = false;
  let loopDone: Promise<void> = Promise.resolve();
  let wakeUp: (() => void) | null = null;

  const sleep = (ms: number) => new Promise<void>((resolve) => {
    const t = setTimeout(() => { wakeUp = null; resolve(); }, ms);
    wakeUp = () => { clearTimeout(t); wakeUp = null; resolve(); };
  });

  /** Channels whose rate limit (or a 429 pause) would hold a poll longer than a tick: leave their jobs to later. */
  const throttled = () => [...d.channels.values()].filter((c) => c.rate.waitMs() > d.tickMs).map((c) => c.name);

  async function loop() {
    let backoff = 0;
    while (active) {
      const free = d.concurrency - inFlight.size;
      if (free <= 0) { await sleep(d.tickMs); continue; }
      let rows: UpstreamPollRow[];
      try {
        rows = await d.tasks.claimDuePolls(id, d.now(), d.leaseMs, Math.min(free, CLAIM_BATCH), throttled());
        backoff = 0;
      } catch (e) {
        backoff = Math.min(30_000, Math.max(500, backoff * 2));
        d.log.error({ err: e, backoffMs: backoff }, 'claiming upstream polls failed; backing off');
        await sleep(backoff);
        continue;
      }
      for (const row of rows) start(row);
      if (rows.length < Math.min(free, CLAIM_BATCH)) await sleep(d.tickMs);
      // Saturated: let a few slots free up, so claims stay batched instead of one row each.
      else if (inFlight.size >= d.concurrency) await sleep(d.tickMs);
    }
  }

  function start(row: UpstreamPollRow) {
    const abort = new AbortController();
    inFlight.set(row.id, abort);
    void handle(row, abort.signal)
      .catch((e) => d.log.error({ err: e, taskId: row.id }, 'upstream poll bookkeeping failed'))
      .finally(() => {
        inFlight.delete(row.id);
        // A slot freed while saturated: claim again after a short gather.
        if (inFlight.size <= Math.floor(d.concurrency / 2)) wakeUp?.();
      });
  }

  async function handle(row: UpstreamPollRow, signal: AbortSignal): Promise<void> {
    const log = d.log.child({ taskId: row.id, poller: id, channel: row.upstream_channel });
    const channel = d.channels.get(row.upstream_channel ?? '');
    const upstreamId = row.upstream_id!;
    const submittedAt = Number(row.upstream_submitted_at ?? d.now());
    const polls = Number(row.upstream_polls) + 1;
    const failures = Number(row.upstream_failures);
    if (!channel) {
      await end(row, 'gemini', 'provider_unavailable', `The upstream channel ${row.upstream_channel} that accepted this task is no longer configured.`, submittedAt);
      return;
    }
    if (d.now() - submittedAt > d.timing.maxWaitMs) {
      await channel.adapter.cancel?.(upstreamId).catch(() => {});
      await end(row, channel.provider, 'upstream_timeout',
        `The ${channel.provider} job did not finish within ${Math.round(d.timing.maxWaitMs / 1000)} s.`, submittedAt);
      return;
    }
    const t0 = performance.now();
    const seconds = () => (performance.now() - t0) / 1000;
    try {
      await channel.rate.take(signal);
      const out = await channel.adapter.poll(upstreamId, signal);
      if (!out.done) {
        d.onPoll?.(channel.name, 'pending', seconds());
        const progress = Math.min(95, estimatedProgress(d.now() - submittedAt, d.timing.expectedMs) * 0.95);
        await reschedule(row, channel, { nextPollAt: d.now() + nextPollDelay(polls, d.timing, random), polls, failures: 0, progress });
        return;
      }
      d.onPoll?.(channel.name, 'done', seconds());
      await finish(row, channel, out.video, submittedAt, log, signal);
    } catch (e) {
      if (signal.aborted) {
        // Stopping: hand the job back, due now, so another poller continues at once.
        await d.tasks.reschedulePoll(row.id, id, { nextPollAt: d.now(), polls: polls - 1, failures, progress: 0 }).catch(() => {});
        return;
      }
      if (e instanceof ProviderError && e.retryable && failures + 1 < d.timing.maxPollFailures) {
        if (e.throttledMs) channel.rate.pause(e.throttledMs);
        d.onPoll?.(channel.name, e.throttledMs ? 'throttled' : 'error', seconds());
        log.warn({ code: e.code, failures: failures + 1, err: e.cause ?? e }, 'upstream poll failed; will retry');
        await reschedule(row, channel, { nextPollAt: d.now() + failureDelay(failures + 1, d.timing, e.throttledMs), polls, failures: failures + 1, progress: 0 });
        return;
      }
      d.onPoll?.(channel.name, 'failed', seconds());
      const outcome = classifyFailure(e);
      if (outcome.code === 'internal_error') log.error({ err: e }, 'upstream task failed unexpectedly');
      else log.warn({ code: outcome.code, err: (e as Error).cause ?? e }, 'upstream task failed');
      await end(row, channel.provider, outcome.code, outcome.message, submittedAt);
    }
  }

  async function reschedule(row: UpstreamPollRow, channel: Channel, s: { nextPollAt: number; polls: number; failures: number; progress: number }) {
    const mine = await d.tasks.reschedulePoll(row.id, id, s);
    if (mine) {
      if (s.progress > 0) d.onTaskChanged?.(row.id);
      return;
    }
    // Cancelled while we polled: the upstream job is no longer wanted (best effort; the cancel hook tried too).
    await channel.adapter.cancel?.(row.upstream_id!).catch(() => {});
  }

  async function end(row: UpstreamPollRow, provider: string, code: string, message: string, submittedAt: number) {
    const ended = await d.lifecycle.fail(row.id, id, d.now(), code, message);
    if (ended) d.onJobEnded?.(provider, 'failed', (d.now() - submittedAt) / 1000);
  }

  /** Download (streamed, capped), probe, thumbnail and store the result; then the task succeeds. */
  async function finish(row: UpstreamPollRow, channel: Channel, video: ResultVideo, submittedAt: number, log: Logger, stopping: AbortSignal) {
    const abort = new AbortController();
    stopping.addEventListener('abort', () => abort.abort(), { once: true });
    const renew = setInterval(() => {
      d.tasks.renewLease(row.id, id, d.now() + d.leaseMs).then((ok) => { if (!ok) abort.abort(); }, () => {});
    }, Math.max(100, Math.floor(d.leaseMs / 3)));
    try {
      // Renewed from the moment the job is done, so a queue of downloads never lets the lease lapse.
      await d.tasks.renewLease(row.id, id, d.now() + d.leaseMs);
      await downloadSlot(async () => {
        if (abort.signal.aborted) return;
        const workDir = await mkdtemp(join(d.scratchDir ?? tmpdir(), `reelay-${row.id}-`));
        try {
          const videoPath = join(workDir, 'video.mp4');
          if (video.kind === 'bytes') await writeFile(videoPath, video.data);
          else await channel.adapter.download(video.url, videoPath, abort.signal);
          const extra = JSON.parse(row.upstream_json ?? '{}') as Record<string, unknown>;
          const details = { provider: channel.provider, channel: channel.name, upstream: { provider: channel.provider, id: row.upstream_id }, ...extra };
          const seed = row.seed == null ? defaultSeed(row.id) : Number(row.seed);
          const won = await publishOutput(d, { taskId: row.id, ownerId: id, videoPath, workDir, seed, details, signal: abort.signal });
          if (won) {
            log.info({ seconds: (d.now() - submittedAt) / 1000 }, 'upstream task succeeded');
            d.onJobEnded?.(channel.provider, 'succeeded', (d.now() - submittedAt) / 1000);
          } else log.info('task ended elsewhere before completion; output discarded');
        } finally {
          await rm(workDir, { recursive: true, force: true });
        }
      });
    } catch (e) {
      if (stopping.aborted) throw e;
      if (abort.signal.aborted) { log.info('upstream download stopped (cancelled or lease lost)'); return; }
      throw e;
    } finally {
      clearInterval(renew);
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
    wake() {
      wakeUp?.();
    },
    /** Stop claiming; stop in-flight polls and hand their jobs back. */
    async stop() {
      active = false;
      wakeUp?.();
      await loopDone;
      for (const a of inFlight.values()) a.abort();
      while (inFlight.size) await delay(10);
    },
    get busy() {
      return inFlight.size;
    },
  };
}

export type UpstreamPoller = ReturnType<typeof createUpstreamPoller>;
