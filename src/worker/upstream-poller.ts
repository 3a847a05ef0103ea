import type { Logger } from 'pino';
import { newWorkerId } from '../domain/ids.ts';
import type { TasksRepo, UpstreamPollRow } from '../infra/db/tasks-repo.ts';
import { claimLoop } from '../infra/claim-loop.ts';
import { limiter } from '../infra/limiter.ts';
import { spacedWakes } from '../infra/spaced-wakes.ts';
import type { Channel } from '../providers/upstream/channels.ts';
import type { ChannelHealth } from '../providers/upstream/channel-health.ts';
import { durationMemory, type PollTiming } from '../providers/upstream/poll-schedule.ts';
import type { SlotSignals } from '../providers/upstream/slots.ts';
import type { PollOutcome, ResultVideo } from '../providers/upstream/upstream-provider.ts';
import { failure } from '../domain/failures.ts';
import type { PublishDeps } from './finish-output.ts';
import { keepLease } from './lease.ts';
import { durationKey, jobBookkeeping, newJob, type Job } from './upstream-job.ts';
import { collectResult } from './upstream-result.ts';

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
  /** Self-hosted servers' slots: a job that ends (or that the server reports done) frees one. */
  slots?: SlotSignals;
  onPoll?(channel: string, outcome: PollOutcomeLabel, seconds: number): void;
  /** A job ended here: how long it took from submit (upstream time, download included). */
  onJobEnded?(provider: string, outcome: 'succeeded' | 'failed', seconds: number): void;
  scratchDir?: string;
  random?: () => number;
}

/** Claimed per query at most: keeps each claim short on a busy database. */
const CLAIM_BATCH = 200;
/** More is due and slots are free: claim again after only this brief yield instead of a whole tick. */
const MORE_DUE_MS = 5;
/**
 * Rounds started by polls ending come at most this often: with every end
 * starting one, a round claimed ~1 job (a thousand rounds a second at 10 000
 * jobs in flight), and each round's fair claim sorts every due job — 30 % more
 * CPU per poll than the oldest-first claim it replaced (bench/README.md).
 */
const END_ROUND_GAP_MS = 20;

type Claimed = { row: UpstreamPollRow; channel: Channel; claimedNextPollAt: number };
type InHand = { abort: AbortController; done: Promise<void> };

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
 * Only the upstream's answers decide a task's fate here (upstream-job.ts); a
 * database error in the bookkeeping is logged and the lease left to lapse, so
 * the job is simply polled again later.
 */
export function createUpstreamPoller(d: PollerDeps) {
  const id = newWorkerId();
  const durations = durationMemory();
  const book = jobBookkeeping(d, id, { durations, wakeAt });
  const polling = new Map<string, InHand>();
  const downloading = new Map<string, InHand>();
  const downloadSlot = limiter(d.downloads);
  const stopping = new AbortController();
  let turn = 0;
  let moreDue = false;
  // `loop` is built below; the timer's wake runs long after.
  const endWakes = spacedWakes(() => loop.wake(), d.now, END_ROUND_GAP_MS);

  /**
   * One round of claims: per channel, as many due jobs as its rate lets it
   * poll within a tick, up to CLAIM_BATCH and the free slots, each started as
   * soon as its channel's claim returns.
   */
  async function claimRound(start: (c: Claimed) => void): Promise<undefined> {
    moreDue = false;
    endWakes.roundStarted();
    // This round claims what the wake timer was set for (it may have fired while the previous round ran).
    if (d.now() >= earliestDue()) dueClaimed(d.now());
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
      // Still in hand here from an earlier lease: that handler carries on.
      for (const row of rows) if (!polling.has(row.id) && !downloading.has(row.id)) start({ row, channel, claimedNextPollAt: now + d.leaseMs });
      if (rows.length === n) moreDue = true;
    }
    return undefined;
  }

  const loop = claimLoop<Claimed>({
    what: 'upstream polls', pollMs: d.tickMs, log: d.log,
    hasCapacity: () => polling.size < d.concurrency,
    claim: claimRound,
    run({ row, channel, claimedNextPollAt }) {
      const abort = new AbortController();
      const job = newJob(d, id, row, channel, claimedNextPollAt);
      const done = poll(job, abort)
        .catch((e) => job.log.error({ err: e }, 'upstream poll bookkeeping failed; the job is polled again when its lease lapses'))
        .finally(() => { polling.delete(row.id); });
      polling.set(row.id, { abort, done });
      return done;
    },
    // Claiming again is worth a query only once half the slots are free, and then at most every END_ROUND_GAP_MS.
    wakeOnEnd: () => polling.size <= Math.floor(d.concurrency / 2) && endWakes.request(),
    idleMs: () => {
      const base = moreDue && polling.size < d.concurrency / 2 ? MORE_DUE_MS : d.tickMs;
      return Math.max(0, Math.min(base, earliestDue() - d.now()));
    },
  });

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
          await book.handBack(job);
          return;
        }
        // An adapter throws only on a bug: logged, and the job is tried again like a transient failure.
        job.log.error({ err: e }, 'upstream poll threw');
        out = { state: 'failed', failure: failure('upstream_invalid_response', 'transient', `The ${channel.provider} answer could not be read.`) };
      }
      const seconds = (performance.now() - t0) / 1000;
      if (out.state === 'failed') {
        d.onPoll?.(channel.name, out.failure.fault === 'throttled' ? 'throttled' : 'error', seconds);
        await book.failed(job, out.failure);
      } else if (out.state === 'running') {
        d.onPoll?.(channel.name, 'pending', seconds);
        await book.running(job, out.progress);
      } else {
        d.onPoll?.(channel.name, 'done', seconds);
        if (channel.slots !== undefined) await serverDone(job);
        startDownload(job, out.video);
      }
    } finally {
      release();
    }
  }

  /** A self-hosted server finished the job: its slot frees now, while Reelay still downloads, so its GPU gets the next job at once. */
  async function serverDone(job: Job) {
    durations.record(durationKey(job), d.now() - job.submittedAt);
    if (await d.tasks.markUpstreamDone(job.row.id, id, d.now())) await d.slots?.freed(job.channel);
  }

  /** Times a self-hosted job is due before the next tick (few: one per job in flight on such servers); a timer wakes the loop at the earliest. */
  const dueAt: number[] = [];
  let wakeTimer: NodeJS.Timeout | undefined;
  const earliestDue = () => dueAt[0] ?? Infinity;
  function armWake() {
    clearTimeout(wakeTimer);
    wakeTimer = undefined;
    if (!dueAt.length) return;
    wakeTimer = setTimeout(() => { wakeTimer = undefined; loop.wake(); }, Math.max(0, earliestDue() - d.now()));
    wakeTimer.unref();
  }
  function wakeAt(at: number) {
    const later = dueAt.findIndex((t) => t > at);
    dueAt.splice(later < 0 ? dueAt.length : later, 0, at);
    if (dueAt[0] === at) armWake();
  }
  /** A round is claiming what was due by now. */
  function dueClaimed(now: number) {
    const passed = dueAt.findIndex((t) => t > now);
    dueAt.splice(0, passed < 0 ? dueAt.length : passed);
    armWake();
  }

  /** The job is done: its result is collected in a download slot, not a poll slot, so a slow CDN never stops polling. */
  function startDownload(job: Job, video: ResultVideo) {
    const abort = new AbortController();
    const entry = { abort, done: Promise.resolve() };
    downloading.set(job.row.id, entry);
    const release = holdJob(job.row.id, abort);
    entry.done = (async () => {
      try {
        if (!(await d.tasks.renewLease(job.row.id, id, d.now() + d.leaseMs))) return;
        await downloadSlot(() => collectResult(d, id, book, job, video, abort.signal));
      } catch (e) {
        if (abort.signal.aborted) await book.handBack(job);
        else job.log.error({ err: e }, 'upstream result bookkeeping failed; the job is polled again when its lease lapses');
      } finally {
        release();
        downloading.delete(job.row.id);
      }
    })();
  }

  return {
    id,
    start() {
      loop.start();
    },
    /** Something became due in this process (a callback arrived): look now. */
    wake() {
      loop.wake();
    },
    /**
     * Stop claiming (and wait for the loop to exit); stop polls at once and
     * hand their jobs back. Downloads get until the deadline, then are stopped
     * and handed back the same way.
     */
    async stop(deadlineMs = 10_000) {
      clearTimeout(wakeTimer);
      endWakes.stop();
      await loop.stop();
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
