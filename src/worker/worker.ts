import { createHash } from 'node:crypto';
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
import { ProviderError, type VideoProvider } from '../providers/provider.ts';
import { finishOutput } from './finish-output.ts';
import { claimLoop } from '../infra/claim-loop.ts';
import type { Lifecycle } from '../domain/task-lifecycle.ts';

export interface WorkerDeps {
  tasks: TasksRepo;
  lifecycle: Lifecycle;
  /** Whether off-peak tasks may run now even while normal tasks wait. */
  offPeakOpen(): boolean;
  blobs: BlobStore;
  catalog: Catalog;
  providers: Record<string, VideoProvider>;
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

/** What a failed task tells its user: a provider's own verdict, a full disk, or (logged) an internal error. */
export function classifyFailure(e: unknown): { code: string; message: string } {
  if (e instanceof ProviderError) return { code: e.code, message: e.message };
  const errno = (e as NodeJS.ErrnoException | null)?.code;
  if (errno === 'ENOSPC' || errno === 'EDQUOT') {
    return { code: 'storage_full', message: 'The video could not be stored because the server ran out of disk space; the credits were refunded. Please retry later.' };
  }
  return { code: 'internal_error', message: 'The video could not be produced because of an internal error.' };
}

/** Without a user seed, derive one from the task id: a re-run after a crash renders the same bytes. */
export function defaultSeed(taskId: string): number {
  return createHash('sha256').update(taskId).digest().readUInt32BE(0);
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
    if (!model || !provider) {
      await d.lifecycle.fail(row.id, id, d.now(), 'provider_unavailable', `No provider is configured for ${row.model} (${row.provider}).`);
      return;
    }
    const renew = setInterval(() => {
      d.tasks.renewLease(row.id, id, d.now() + d.leaseMs).then((ok) => {
        // Lost the lease: the task was cancelled (or another worker took over after a stall).
        if (!ok) abort.abort();
      }, (e) => log.warn({ err: e }, 'lease renewal failed'));
    }, Math.max(100, Math.floor(d.leaseMs / 3)));
    const workDir = await mkdtemp(join(d.scratchDir ?? tmpdir(), `reelay-${row.id}-`));
    try {
      const inputKeys = JSON.parse(row.input_keys) as string[];
      const images = await Promise.all(inputKeys.map((k) => d.blobs.get(k)));
      const seed = row.seed == null ? defaultSeed(row.id) : Number(row.seed);
      const result = await provider.generate({
        taskId: row.id, model, prompt: row.optimized_prompt ?? row.prompt, negativePrompt: row.negative_prompt, aspectRatio: row.aspect_ratio,
        seconds: Number(row.seconds), width: Number(row.width), height: Number(row.height), fps: d.catalog.fps, seed,
        generateAudio: Boolean(Number(row.generate_audio)), images, options: JSON.parse(row.options_json) as Record<string, unknown>,
        isRec: Boolean(Number(row.is_rec)),
      }, { signal: abort.signal, workDir, onProgress: (p) => void progress(row.id, Math.min(95, p * 0.95)) });

      const out = await finishOutput({ taskId: row.id, videoPath: result.videoPath, workDir, seed, details: result.details, ffmpeg: d.ffmpeg, blobs: d.blobs, signal: abort.signal });
      await progress(row.id, 99);
      const won = await d.lifecycle.complete(row.id, id, d.now(), {
        outputKey: out.outputKey, thumbnailKey: out.thumbnailKey, metadataJson: JSON.stringify(out.metadata),
        expiresAt: d.now() + d.outputTtlSeconds * 1000,
      });
      if (!won) {
        // Cancelled while we finished: the cancel won, so the output must not linger.
        await d.blobs.deletePrefix(`outputs/${row.id}/`);
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
      clearInterval(renew);
      lastProgressWrite.delete(row.id);
      await rm(workDir, { recursive: true, force: true });
    }
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
