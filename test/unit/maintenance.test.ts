// Maintenance runs never overlap in a process: ticks that come during a run
// are skipped, runOnce() during a run waits for it and then runs once more
// (shared by every caller meanwhile), and stop() waits for the run in hand.
// Driven by a fake repo whose first query of each run waits for the test.
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TasksRepo } from '../../src/infra/db/tasks-repo.ts';
import type { Lifecycle } from '../../src/domain/task-lifecycle.ts';
import type { BlobStore } from '../../src/infra/blob/blob-store.ts';
import { createMaintenance } from '../../src/worker/maintenance.ts';

/** A repo whose runs take as long as the test says: each run's first query waits for `finish(n)`. */
function slowRepo() {
  const events: string[] = [];
  const gates: (() => void)[] = [];
  const waiting = new Map<number, () => void>();
  let runs = 0;
  let inRun = 0;
  let mostAtOnce = 0;
  const tasks = {
    async expiredOffPeak() {
      const n = ++runs;
      inRun++;
      mostAtOnce = Math.max(mostAtOnce, inRun);
      events.push(`start ${n}`);
      await new Promise<void>((resolve) => { gates[n] = resolve; waiting.get(n)?.(); });
      return [];
    },
    async expiredOutputs() {
      return [];
    },
    // The last query of a run (with `upstream` configured).
    async claimOrphanedUpstream() {
      inRun--;
      events.push(`end ${runs}`);
      return [];
    },
  };
  return {
    tasks: tasks as unknown as TasksRepo,
    events,
    get runs() { return runs; },
    get mostAtOnce() { return mostAtOnce; },
    /** Resolves once run `n` is waiting in its first query. */
    started(n: number) {
      return gates[n] ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(n, resolve));
    },
    finish(n: number) {
      gates[n]!();
    },
  };
}

function maintenanceOn(repo: ReturnType<typeof slowRepo>) {
  return createMaintenance({
    tasks: repo.tasks, lifecycle: {} as Lifecycle, now: () => 1_000_000_000, abort: () => {}, blobs: {} as BlobStore,
    log: pino({ level: 'silent' }), upstream: { knownChannels: ['a'], maxWaitMs: 60_000, leaseMs: 30_000 },
  });
}

/** One turn of the event loop: every promise callback that can run has run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

afterEach(() => {
  vi.useRealTimers();
});

describe('maintenance runs never overlap', () => {
  it('skips ticks while a run is still going and starts the next one on a later tick', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const repo = slowRepo();
    const m = maintenanceOn(repo);
    m.start(1000);
    vi.advanceTimersByTime(1000);
    await repo.started(1);
    vi.advanceTimersByTime(5000);
    await settle();
    expect(repo.runs).toBe(1);

    repo.finish(1);
    await settle();
    expect(repo.events).toEqual(['start 1', 'end 1']);
    vi.advanceTimersByTime(1000);
    await repo.started(2);
    repo.finish(2);
    await m.stop();
    expect(repo.events).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
    expect(repo.mostAtOnce).toBe(1);
  });

  it('runOnce() during a run waits for it, then every such caller shares one fresh run', async () => {
    const repo = slowRepo();
    const m = maintenanceOn(repo);
    const first = m.runOnce();
    await repo.started(1);
    const second = m.runOnce();
    const third = m.runOnce();
    await settle();
    expect(repo.events).toEqual(['start 1']);

    repo.finish(1);
    await first;
    await repo.started(2);
    expect(repo.events).toEqual(['start 1', 'end 1', 'start 2']);
    repo.finish(2);
    const [b, c] = await Promise.all([second, third]);
    expect(b).toBe(c);
    expect(b).toEqual({ offPeakExpired: 0, outputsPurged: 0, upstreamOrphaned: 0 });
    expect(repo.runs).toBe(2);
    expect(repo.mostAtOnce).toBe(1);
  });

  it('a tick during a run queued by runOnce() does not start a third', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const repo = slowRepo();
    const m = maintenanceOn(repo);
    m.start(1000);
    const first = m.runOnce();
    await repo.started(1);
    const queued = m.runOnce();
    vi.advanceTimersByTime(1000);
    repo.finish(1);
    await first;
    await repo.started(2);
    vi.advanceTimersByTime(1000);
    await settle();
    expect(repo.runs).toBe(2);
    repo.finish(2);
    await queued;
    await m.stop();
    expect(repo.events).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('stop() resolves only after the run in progress has ended, and no tick starts another', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const repo = slowRepo();
    const m = maintenanceOn(repo);
    m.start(1000);
    vi.advanceTimersByTime(1000);
    await repo.started(1);
    const order: string[] = [];
    const stopped = m.stop().then(() => { order.push('stopped'); });
    await settle();
    expect(order).toEqual([]);

    repo.finish(1);
    await stopped;
    vi.advanceTimersByTime(5000);
    await settle();
    expect([...repo.events, ...order]).toEqual(['start 1', 'end 1', 'stopped']);
    expect(repo.runs).toBe(1);
  });

  it('a failed run is reported to its caller and does not block the next one', async () => {
    const repo = slowRepo();
    const m = maintenanceOn(repo);
    const boom = new Error('database down');
    const tasks = repo.tasks as unknown as { expiredOutputs(): Promise<string[]> };
    tasks.expiredOutputs = vi.fn().mockRejectedValueOnce(boom).mockResolvedValue([]);
    const first = m.runOnce();
    const next = m.runOnce();
    await repo.started(1);
    repo.finish(1);
    await expect(first).rejects.toBe(boom);
    await repo.started(2);
    repo.finish(2);
    await expect(next).resolves.toEqual({ offPeakExpired: 0, outputsPurged: 0, upstreamOrphaned: 0 });
    expect(repo.runs).toBe(2);
  });
});
