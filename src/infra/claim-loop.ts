import type { Logger } from 'pino';

export interface ClaimLoopOptions<T> {
  /** For logs: what is claimed ("a task", "a webhook event"). */
  what: string;
  pollMs: number;
  log: Logger;
  hasCapacity(): boolean;
  claim(): Promise<T | undefined>;
  /** Start work on a claimed item and register it synchronously; the loop does not wait for it. */
  run(item: T): Promise<void>;
}

/**
 * The loop shared by the render worker and the webhook dispatcher: claim
 * while there is capacity, sleep when idle (until the poll interval or a
 * wake-up), and back off — never crash — when claiming itself fails.
 */
export function claimLoop<T>(o: ClaimLoopOptions<T>) {
  let active = false;
  let done: Promise<void> = Promise.resolve();
  const { sleep, wake } = wakeableSleep();

  async function loop() {
    let backoff = 0;
    while (active) {
      if (!o.hasCapacity()) { await sleep(o.pollMs); continue; }
      let item: T | undefined;
      try {
        item = await o.claim();
        backoff = 0;
      } catch (e) {
        backoff = Math.min(30_000, Math.max(500, backoff * 2));
        o.log.error({ err: e, backoffMs: backoff }, `claiming ${o.what} failed; backing off`);
        await sleep(backoff);
        continue;
      }
      if (item === undefined) { await sleep(o.pollMs); continue; }
      void o.run(item).finally(wake);
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

/** A loop's idle wait that `wake()` cuts short (new work arrived, capacity freed, stopping). */
export function wakeableSleep() {
  let wakeUp: (() => void) | null = null;
  return {
    sleep: (ms: number) => new Promise<void>((resolve) => {
      const t = setTimeout(() => { wakeUp = null; resolve(); }, ms);
      wakeUp = () => { clearTimeout(t); wakeUp = null; resolve(); };
    }),
    wake: () => wakeUp?.(),
  };
}
