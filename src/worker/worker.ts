import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Catalog } from '../domain/catalog.ts';
import { newWorkerId } from '../domain/ids.ts';
import type { BlobStore } from '../infra/blob/blob-store.ts';
import type { TasksRepo } from '../infra/db/tasks-repo.ts';
import type { TaskRow } from '../infra/db/schema.ts';
import { FfmpegAbortedError } from '../infra/ffmpeg/run-ffmpeg.ts';
import type { GenerationJob, VideoProvider } from '../providers/provider.ts';
import { candidatesFor, noCandidateLeft, orderCandidates, submitWithFailover, type Candidate, type Channel, type Dispatched, type Wait } from '../providers/upstream/channels.ts';
import type { SlotSignals } from '../providers/upstream/slots.ts';
import type { UpstreamJob } from '../providers/upstream/upstream-provider.ts';
import type { ChannelHealth } from '../providers/upstream/channel-health.ts';
import { upstreamRefusal } from '../domain/upstream-limits.ts';
import { nextPollDelay, type PollTiming } from '../providers/upstream/poll-schedule.ts';
import { resolutionName } from '../providers/upstream/job-facts.ts';
import { publishOutput } from './finish-output.ts';
import { askedOf, jobInputs } from './job-inputs.ts';
import { classifyFailure, defaultSeed } from './failure.ts';
import { keepLease } from './lease.ts';
import { claimLoop } from '../infra/claim-loop.ts';
import type { Lifecycle } from '../domain/task-lifecycle.ts';

export interface WorkerDeps {
  tasks: TasksRepo;
  lifecycle: Lifecycle;
  /** Whether off-peak tasks may run now even while normal tasks wait. */
  offPeakOpen(): boolean;
  blobs: BlobStore;
  catalog: Catalog;
  /** The local renderer (and any other provider that makes the file itself). */
  providers: Record<string, VideoProvider>;
  /** Upstream channels: a task for an upstream is submitted here, then handed to the poller. */
  channels: readonly Channel[];
  health: ChannelHealth;
  /** When the poller first looks at a job it was handed. */
  upstreamTiming: Pick<PollTiming, 'pollMs' | 'maxIntervalMs'>;
  /** A task was handed to the poller: it may want to look sooner than its next tick. */
  onHandedOff?(taskId: string): void;
  /** Self-hosted servers' slots: whoever frees one wakes the tasks waiting for it. */
  slots?: SlotSignals;
  /** How long a task may wait for self-hosted servers that are down (REELAY_UPSTREAM_MAX_WAIT_MS); a full server's queue has no limit. */
  upstreamMaxWaitMs?: number;
  ffmpeg: { ffmpeg: string; ffprobe: string };
  concurrency: number;
  leaseMs: number;
  maxAttempts: number;
  pollMs: number;
  outputTtlSeconds: number;
  now(): number;
  log: Logger;
  onRendered?(seconds: number, outcome: 'succeeded' | 'failed'): void;
  /** A task's stored state changed here (claim, progress): cached views of it are stale. */
  onTaskChanged?(taskId: string): void;
  scratchDir?: string;
}

/**
 * Claims tasks from the queue (the tasks table) and runs them with a lease it
 * keeps renewing. A worker that dies stops renewing; its task is claimed again
 * once the lease lapses. Loop errors are logged and backed off, never thrown.
 */
export function createWorker(d: WorkerDeps) {
  const id = newWorkerId();
  const running = new Map<string, { abort: AbortController; done: Promise<void>; releasing: boolean }>();
  const lastProgressWrite = new Map<string, number>();

  async function progress(taskId: string, percent: number) {
    const p = Math.floor(percent);
    if ((lastProgressWrite.get(taskId) ?? -1) >= p) return;
    lastProgressWrite.set(taskId, p);
    await d.tasks.reportProgress(taskId, id, p).catch((e) => d.log.warn({ err: e, taskId }, 'progress write failed'));
    d.onTaskChanged?.(taskId);
  }

  async function execute(row: TaskRow, abort: AbortController): Promise<void> {
    const started = d.now();
    const log = d.log.child({ taskId: row.id, worker: id });
    if (Number(row.attempts) > d.maxAttempts) {
      await d.lifecycle.fail(row.id, id, d.now(), 'render_failed', `The video could not be rendered after ${d.maxAttempts} attempts.`);
      return;
    }
    const model = d.catalog.find(row.model);
    const provider = d.providers[row.provider];
    const chain = model && !provider ? orderCandidates(candidatesFor(d.channels, model, d.catalog), model) : [];
    if (!model) {
      await d.lifecycle.fail(row.id, id, d.now(), 'provider_unavailable', `No provider is configured for ${row.model} (${row.provider}).`);
      return;
    }
    if (!provider && chain.length === 0) {
      const f = noCandidateLeft(model.id, 0, true, []);
      await d.lifecycle.fail(row.id, id, d.now(), f.code, f.message);
      return;
    }
    const stopRenewing = keepLease({
      tasks: d.tasks, taskId: row.id, ownerId: id, leaseMs: d.leaseMs, now: d.now,
      // Lost the lease: the task was cancelled (or another worker took over after a stall).
      onLost: () => abort.abort(), onError: (e) => log.warn({ err: e }, 'lease renewal failed'),
    });
    const workDir = await mkdtemp(join(d.scratchDir ?? tmpdir(), `reelay-${row.id}-`));
    try {
      const inputs = await jobInputs(d, row, model);
      const seed = row.seed == null ? defaultSeed(row.id) : Number(row.seed);
      const job: GenerationJob & Pick<UpstreamJob, 'userSeed'> = {
        taskId: row.id, model, prompt: row.optimized_prompt ?? row.prompt, negativePrompt: row.negative_prompt, aspectRatio: row.aspect_ratio,
        seconds: Number(row.seconds), width: Number(row.width), height: Number(row.height), fps: d.catalog.fps, seed,
        generateAudio: Boolean(Number(row.generate_audio)), ...inputs, options: JSON.parse(row.options_json) as Record<string, unknown>,
        isRec: Boolean(Number(row.is_rec)), offPeak: Boolean(Number(row.off_peak)), userSeed: row.seed != null,
      };
      if (!provider) {
        await submitUpstream(row, job, chain, abort.signal, log);
        return;
      }
      const result = await provider.generate(job, { signal: abort.signal, workDir, onProgress: (p) => void progress(row.id, Math.min(95, p * 0.95)) });
      const won = await publishOutput(d, { taskId: row.id, ownerId: id, videoPath: result.videoPath, workDir, seed, details: result.details, signal: abort.signal });
      if (!won) {
        log.info('task ended elsewhere before completion; output discarded');
      } else {
        log.info({ seconds: (d.now() - started) / 1000 }, 'task succeeded');
        d.onRendered?.((d.now() - started) / 1000, 'succeeded');
      }
    } catch (e) {
      if (e instanceof FfmpegAbortedError || abort.signal.aborted) {
        log.info('render stopped (cancelled, lease lost or shutting down)');
        return;
      }
      const outcome = classifyFailure(e);
      if (outcome.code === 'internal_error') log.error({ err: e }, 'task failed unexpectedly');
      else log.warn({ code: outcome.code, err: (e as Error).cause ?? e }, 'task failed');
      await d.lifecycle.fail(row.id, id, d.now(), outcome.code, outcome.message);
      d.onRendered?.((d.now() - started) / 1000, 'failed');
    } finally {
      stopRenewing();
      lastProgressWrite.delete(row.id);
      await rm(workDir, { recursive: true, force: true });
    }
  }

  /**
   * An upstream task holds a worker slot only while it is submitted: the job
   * is recorded on the task and the poller follows it from there. A
   * self-hosted server is submitted to only with a slot reserved; when every
   * server of the model is full (busy, down) the task goes back to wait.
   */
  async function submitUpstream(row: TaskRow, job: Omit<UpstreamJob, 'upstreamModel'>, chain: Candidate[], signal: AbortSignal, log: Logger) {
    const taskId = row.id;
    // Only candidates whose upstream model can render this (submit checked that at least one can).
    const able = chain.filter((c) => !upstreamRefusal(c.upstreamModel, d.catalog.upstreamLimits(c.upstreamModel), askedOf(job, resolutionName(job))));
    const reserve = (c: Channel) => d.tasks.reserveSlot(taskId, id, c.name, c.slots!, d.now());
    const out = await submitWithFailover(able, job, signal, d.health, { reserve });
    if (!out.ok) {
      // Waiting for servers that are down has a limit, counted from when they last worked (or from the task's creation, if later).
      const outageFor = out.wait?.why === 'down' ? d.now() - Math.max(Number(row.created_at), out.wait.upSince ?? 0) : 0;
      if (out.wait && outageFor <= (d.upstreamMaxWaitMs ?? Infinity)) {
        await waitForSlot(row, out.wait, log);
        return;
      }
      log.warn({ code: out.failure.code, tried: out.tried }, 'no upstream took the task');
      await d.lifecycle.fail(taskId, id, d.now(), out.failure.code, out.failure.message);
      // A slot it had reserved is free again.
      for (const c of able) await d.slots?.freed(c.channel);
      return;
    }
    await handOff(taskId, out, log);
  }

  /**
   * Back to the queue until a slot frees (or the recheck time): the attempt is
   * not counted. A slot that freed while this was decided would have found
   * nobody waiting yet, so the count is looked at once more.
   */
  async function waitForSlot(row: TaskRow, wait: Wait, log: Logger) {
    const now = d.now();
    if (!(await d.tasks.waitForSlot(row.id, id, row.model, now + wait.ms, now))) return;
    log.debug({ why: wait.why, recheckMs: wait.ms }, 'every server of the model is full, busy or down; the task waits in the queue');
    d.onTaskChanged?.(row.id);
    if (!wait.full.length) return;
    const inUse = await d.tasks.slotsInUse(wait.full, d.now());
    const freed = wait.full.some((name) => (inUse[name] ?? 0) < (d.channels.find((c) => c.name === name)?.slots ?? 0));
    if (freed) await d.slots?.wakeModels([row.model]);
  }

  async function handOff(taskId: string, out: Extract<Dispatched, { ok: true }>, log: Logger) {
    const accepted = { channel: out.candidate.channel, upstreamId: out.upstreamId, tried: out.tried };
    const now = d.now();
    const facts = { upstream_model: out.candidate.upstreamModel, ...out.facts, ...(accepted.tried.length ? { failover_from: accepted.tried } : {}) };
    let handed: boolean;
    try {
      handed = await d.tasks.handOffToPoller(taskId, id, {
        channel: accepted.channel.name, provider: accepted.channel.provider, upstreamId: accepted.upstreamId, submittedAt: now,
        nextPollAt: now + nextPollDelay(0, accepted.channel.timing ?? d.upstreamTiming), json: JSON.stringify(facts),
      });
    } catch (e) {
      // Not recorded, so nobody would ever collect it: stop the upstream job (where the upstream can) before the task fails.
      await accepted.channel.adapter.cancel?.(accepted.upstreamId).catch(() => {});
      throw e;
    }
    if (!handed) {
      // Cancelled while the upstream was accepting it: that job is no longer wanted.
      await accepted.channel.adapter.cancel?.(accepted.upstreamId).catch(() => {});
      await d.slots?.freed(accepted.channel);
      log.info('task ended while it was submitted; upstream job cancelled');
      return;
    }
    log.info({ channel: accepted.channel.name, upstreamId: accepted.upstreamId }, 'submitted upstream; the poller follows it');
    d.onTaskChanged?.(taskId);
    d.onHandedOff?.(taskId);
  }

  const loop = claimLoop<TaskRow>({
    what: 'a task', pollMs: d.pollMs, log: d.log,
    hasCapacity: () => running.size < d.concurrency,
    claim: () => d.tasks.claimNext(id, d.now(), d.leaseMs, d.offPeakOpen()),
    run(row) {
      d.onTaskChanged?.(row.id);
      const abort = new AbortController();
      const entry = { abort, releasing: false, done: Promise.resolve() };
      entry.done = execute(row, abort)
        .catch((e) => d.log.error({ err: e, taskId: row.id }, 'worker bookkeeping failed'))
        .finally(async () => {
          if (entry.releasing) await d.tasks.release(row.id, id).catch(() => {});
          running.delete(row.id);
        });
      running.set(row.id, entry);
      return entry.done;
    },
  });

  return {
    id,
    start() {
      loop.start();
    },
    /** A new task was queued in this process: skip the rest of the poll interval. */
    wake() {
      loop.wake();
    },
    /** Stop a running render of this task here, if this worker has it (used by cancel). */
    abort(taskId: string) {
      running.get(taskId)?.abort.abort();
    },
    /**
     * Stop claiming; give running tasks until the deadline, then stop them and
     * hand their leases back so another worker starts them at once.
     */
    async stop(deadlineMs = 10_000) {
      await loop.stop();
      const all = () => Promise.all([...running.values()].map((r) => r.done));
      const timedOut = await Promise.race([all().then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), deadlineMs).unref())]);
      if (timedOut) {
        for (const r of running.values()) { r.releasing = true; r.abort.abort(); }
        await all();
      }
    },
    get busy() {
      return running.size;
    },
  };
}

export type Worker = ReturnType<typeof createWorker>;
