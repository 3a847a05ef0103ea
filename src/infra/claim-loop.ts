import type { Logger } from 'pino';

export interface ClaimLoopOptions<T> {
  /** For logs: what is claimed ("a task", "a webhook event"). */
  what: string;
  /** The idle wait: no capacity, or nothing claimed (unless `idleMs` says otherwise). */
  pollMs: number;
  log: Logger;
  hasCapacity(): boolean;
  /**
   * Claim the next item and return it (the loop starts it and claims again at
   * once), or undefined when nothing is due. A claimer that takes a batch per
   * round (so much per channel, say) hands each item to `start` as soon as it
   * is claimed — what it claimed still runs if a later query of the round
   * fails — and returns undefined; the loop then waits `idleMs()`.
   */
  claim(start: (item: T) => void): Promise<T | undefined>;
  /** Start work on a claimed item and register it synchronously; the loop does not wait for it. */
  run(item: T): Promise<void>;
  /** The wait after a claim that returned nothing (default pollMs): a round that left work due may come back sooner. */
  idleMs?(): number;
  /** Whether the end of a run cuts the idle wait short (default: always, a slot was freed). */
  wakeOnEnd?(): boolean;
}

/**
 * The loop shared by the render worker, the webhook dispatcher and the
 * upstream poller: claim while there is capacity, sleep when idle (until the
 * poll interval or a wake-up), and back off — never crash — when claiming
 * itself fails.
 */
export function claimLoop<T>(o: ClaimLoopOptions<T>) {
  let active = false;
  let done: Promise<void> = Promise.resolve();
  const { sleep, wake, forget } = wakeableSleep();
  const ended = o.wakeOnEnd ? () => { if (o.wakeOnEnd!()) wake(); } : wake;
  const start = (item: T) => { void o.run(item).finally(ended); };

  async function loop() {
    let backoff = 0;
    while (active) {
      if (!o.hasCapacity()) { await sleep(o.pollMs); continue; }
      let item: T | undefined;
      try {
        // What was due before this claim, it finds; a wake from here on is for something it may have missed.
        forget();
        item = await o.claim(start);
        backoff = 0;
      } catch (e) {
        backoff = Math.min(30_000, Math.max(500, backoff * 2));
        o.log.error({ err: e, backoffMs: backoff }, `claiming ${o.what} failed; backing off`);
        await sleep(backoff);
        continue;
      }
      if (item === undefined) { await sleep(o.idleMs?.() ?? o.pollMs); continue; }
      start(item);
    }
  }

  return {
    start() {
      if (active) return;
      active = true;
      done = loop();
    },
    /** Skip the rest of the idle wait (new work, or capacity freed). */
    wake,
    /** Stop claiming; resolves once the loop itself has exited (not the work it started). */
    async stop() {
      active = false;
      wake();
      await done;
    },
  };
}

/**
 * A loop's idle wait that `wake()` cuts short (new work arrived, capacity freed, stopping). A wake that comes
 * while the loop is not asleep (it is claiming) is kept, and the next sleep returns at once: otherwise an item
 * committed just after a claim's query waited a whole poll interval (the webhook dispatcher had no guard of its own).
 */
function wakeableSleep() {
  let wakeUp: (() => void) | null = null;
  let missed = false;
  return {
    sleep: (ms: number) => new Promise<void>((resolve) => {
      if (missed) { missed = false; resolve(); return; }
      const t = setTimeout(() => { wakeUp = null; resolve(); }, ms);
      wakeUp = () => { clearTimeout(t); wakeUp = null; resolve(); };
    }),
    wake: () => { if (wakeUp) wakeUp(); else missed = true; },
    forget: () => { missed = false; },
  };
}
