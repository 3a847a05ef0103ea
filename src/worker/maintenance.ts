import type { Logger } from 'pino';
import type { TasksRepo } from '../infra/db/tasks-repo.ts';
import type { Lifecycle } from '../domain/task-lifecycle.ts';
import type { BlobStore } from '../infra/blob/blob-store.ts';
import { OFF_PEAK_MAX_AGE_MS } from '../domain/off-peak.ts';
import { newWorkerId } from '../domain/ids.ts';

export interface MaintenanceDeps {
  tasks: TasksRepo;
  lifecycle: Lifecycle;
  now(): number;
  /** Stop a render of this task in this process, if running. */
  abort(taskId: string): void;
  blobs: BlobStore;
  log: Logger;
  /** The channels this node can poll: upstream jobs on any other channel are ended once past maxWaitMs. */
  upstream?: { knownChannels: string[]; maxWaitMs: number; leaseMs: number };
  /** Removes the files of ended tasks whose ending a crash interrupted (ended-files.ts); how many tasks. */
  sweepEndedFiles?: (now: number) => Promise<number>;
}

export interface MaintenanceRun {
  offPeakExpired: number; outputsPurged: number; upstreamOrphaned: number;
  /** Present when this maintenance sweeps ended tasks' files (sweepEndedFiles). */
  endedFilesRemoved?: number;
}

/**
 * Periodic jobs that keep promises made to users: off-peak tasks not finished
 * 48 h after creation are cancelled and refunded. Each item is ended through
 * the guarded lifecycle, so running this on many nodes at once is harmless.
 *
 * Within one process runs never overlap. A tick that comes while a run is
 * still going is skipped. A `runOnce()` call during a run waits for it and
 * then starts a fresh one — the run under way may already be past the items
 * that the caller expects handled — and every call made during the same run
 * shares that one follow-up run.
 */
export function createMaintenance(d: MaintenanceDeps) {
  async function run(): Promise<MaintenanceRun> {
    let expired = 0;
    for (;;) {
      const ids = await d.tasks.expiredOffPeak(d.now() - OFF_PEAK_MAX_AGE_MS);
      if (ids.length === 0) break;
      for (const id of ids) {
        const row = await d.lifecycle.cancel(id, null, d.now(), 'off_peak_expired',
          'This off-peak task did not finish within 48 hours of creation; it was cancelled and its credits refunded.');
        if (row) { expired++; d.abort(id); }
      }
      if (ids.length < 100) break;
    }
    if (expired) d.log.info({ expired }, 'expired off-peak tasks');

    // Outputs past their expiry: the links already refuse them; now free the storage.
    let purged = 0;
    for (const id of await d.tasks.expiredOutputs(d.now())) {
      if (!(await d.tasks.forgetOutputs(id))) continue;
      await d.blobs.deletePrefix(`outputs/${id}/`);
      await d.blobs.deletePrefix(`inputs/${id}/`);
      purged++;
    }
    if (purged) d.log.info({ purged }, 'deleted expired outputs');
    // Ended tasks whose files a crash kept the ending from removing (ended-files.ts).
    const endedFilesRemoved = await d.sweepEndedFiles?.(d.now());
    if (endedFilesRemoved) d.log.info({ endedFilesRemoved }, 'removed files of ended tasks left by an interrupted ending');
    // Jobs pinned to a channel no poller knows (renamed, removed, or no channels at all):
    // nobody can collect them, so once past the wait limit they fail with a refund.
    let orphaned = 0;
    if (d.upstream) {
      const owner = `maintenance_${newWorkerId()}`;
      const ids = await d.tasks.claimOrphanedUpstream(owner, d.now(), d.upstream.leaseMs, d.now() - d.upstream.maxWaitMs, d.upstream.knownChannels);
      for (const id of ids) {
        const row = await d.lifecycle.fail(id, owner, d.now(), 'provider_unavailable',
          'The upstream channel that accepted this task is no longer configured, so its result could not be collected; the credits were refunded.');
        if (row) orphaned++;
      }
      if (orphaned) d.log.warn({ orphaned }, 'failed upstream tasks whose channel is no longer configured');
    }
    return { offPeakExpired: expired, outputsPurged: purged, upstreamOrphaned: orphaned, ...(d.sweepEndedFiles ? { endedFilesRemoved } : {}) };
  }

  /** The run in progress, if any. */
  let running: Promise<MaintenanceRun> | undefined;
  /** The run that starts when it ends, shared by every runOnce() made meanwhile. */
  let queued: Promise<MaintenanceRun> | undefined;

  function begin(): Promise<MaintenanceRun> {
    const p: Promise<MaintenanceRun> = run().finally(() => { if (running === p) running = undefined; });
    running = p;
    return p;
  }

  function runOnce(): Promise<MaintenanceRun> {
    if (queued) return queued;
    if (!running) return begin();
    queued = running.then(noop, noop).then(() => {
      queued = undefined;
      return begin();
    });
    return queued;
  }

  let timer: NodeJS.Timeout | undefined;
  return {
    runOnce,
    start(intervalMs: number) {
      timer ??= setInterval(() => {
        if (running || queued) return;
        begin().catch((e) => d.log.error({ err: e }, 'maintenance run failed'));
      }, intervalMs);
      timer.unref();
    },
    /** No more ticks; resolves once the run in progress (and one queued behind it) has ended. */
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await (queued ?? running)?.then(noop, noop);
    },
  };
}

function noop() {}
