// The claim loop shared by the render worker, the webhook dispatcher and the
// upstream poller. Time is the test's (fake timers): each case says what is
// claimed and run, and when the loop comes back.
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { claimLoop, type ClaimLoopOptions } from '../../src/infra/claim-loop.ts';

const log = pino({ level: 'silent' });

/** Runs that end when the test says. */
function runs() {
  const started: string[] = [];
  const ends = new Map<string, () => void>();
  return {
    started,
    run: (item: string) => {
      started.push(item);
      return new Promise<void>((resolve) => ends.set(item, resolve));
    },
    end: (item: string) => ends.get(item)!(),
  };
}

const loopWith = (o: Partial<ClaimLoopOptions<string>> & Pick<ClaimLoopOptions<string>, 'claim' | 'run'>) =>
  claimLoop<string>({ what: 'a thing', pollMs: 1000, log, hasCapacity: () => true, ...o });

/** Let the loop do everything it can without time passing. */
const flush = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('claimLoop, one item at a time (worker, dispatcher)', () => {
  it('claims again at once after an item, sleeps pollMs when nothing is due, and a finished run cuts the sleep short', async () => {
    const r = runs();
    const due = ['a', 'b'];
    const claim = vi.fn(async () => due.shift());
    const loop = loopWith({ claim, run: r.run });
    loop.start();
    await flush();
    expect(r.started).toEqual(['a', 'b']);
    expect(claim).toHaveBeenCalledTimes(3);

    await vi.advanceTimersByTimeAsync(999);
    expect(claim).toHaveBeenCalledTimes(3);
    due.push('c');
    r.end('a');
    await flush();
    expect(claim).toHaveBeenCalledTimes(5);
    expect(r.started).toEqual(['a', 'b', 'c']);

    await vi.advanceTimersByTimeAsync(1000);
    expect(claim).toHaveBeenCalledTimes(6);
    await loop.stop();
  });

  it('claims nothing while there is no capacity, and claims once a run ends', async () => {
    const r = runs();
    const claim = vi.fn(async () => 'x');
    const loop = loopWith({ claim, run: r.run, hasCapacity: () => r.started.length < 1 });
    loop.start();
    await flush();
    await vi.advanceTimersByTimeAsync(5000);
    expect(claim).toHaveBeenCalledTimes(1);
    expect(r.started).toEqual(['x']);
    await loop.stop();
  });
});

describe('claimLoop, rounds of batches (upstream poller)', () => {
  it('runs each item handed to start, waits idleMs() after a round, and wakes on a run\'s end only when wakeOnEnd() says so', async () => {
    const r = runs();
    let round = 0;
    let wakeOnEnd = false;
    const claim = vi.fn(async (start: (item: string) => void) => {
      round++;
      start(`${round}a`);
      start(`${round}b`);
      return undefined;
    });
    const loop = loopWith({ claim, run: r.run, idleMs: () => 5, wakeOnEnd: () => wakeOnEnd });
    loop.start();
    await flush();
    expect(r.started).toEqual(['1a', '1b']);

    r.end('1a');
    await flush();
    expect(claim).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(5);
    expect(claim).toHaveBeenCalledTimes(2);
    expect(r.started).toEqual(['1a', '1b', '2a', '2b']);

    wakeOnEnd = true;
    r.end('1b');
    await flush();
    expect(claim).toHaveBeenCalledTimes(3);
    await loop.stop();
  });

  it('runs what a round claimed before a later query failed, then backs off 500 ms, doubling, and never throws', async () => {
    const r = runs();
    const claim = vi.fn(async (start: (item: string) => void) => {
      start(`got ${claim.mock.calls.length}`);
      throw new Error('database down');
    });
    const loop = loopWith({ claim, run: r.run, idleMs: () => 5 });
    loop.start();
    await flush();
    expect(r.started).toEqual(['got 1']);
    await vi.advanceTimersByTimeAsync(499);
    expect(claim).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(claim).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(999);
    expect(claim).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(claim).toHaveBeenCalledTimes(3);
    expect(r.started).toEqual(['got 1', 'got 2', 'got 3']);
    await loop.stop();
  });
});

describe('claimLoop.stop', () => {
  it('resolves only once the loop has exited, even mid-claim, and nothing is claimed after', async () => {
    const r = runs();
    let answer: (item: string | undefined) => void = () => {};
    const claim = vi.fn(() => new Promise<string | undefined>((resolve) => { answer = resolve; }));
    const loop = loopWith({ claim, run: r.run });
    loop.start();
    await flush();
    const order: string[] = [];
    const stopped = loop.stop().then(() => { order.push('stopped'); });
    await flush();
    expect(order).toEqual([]);

    answer('last');
    await stopped;
    await vi.advanceTimersByTimeAsync(5000);
    expect(claim).toHaveBeenCalledTimes(1);
    // Claimed before stop took effect: it still runs (the owner hands it back or finishes it).
    expect(r.started).toEqual(['last']);
  });
});

describe('claimLoop, a wake while claiming', () => {
  it('is kept: a claim that found nothing is followed by another at once, not after pollMs (the dispatcher had no guard of its own)', async () => {
    const r = runs();
    let finish: (v: string | undefined) => void = () => {};
    const claim = vi.fn(() => new Promise<string | undefined>((resolve) => { finish = resolve; }));
    const loop = loopWith({ claim, run: r.run, pollMs: 3_600_000 });
    loop.start();
    await flush();
    expect(claim).toHaveBeenCalledTimes(1);
    // An item is committed after the claim's query ran: its wake finds the loop claiming, not asleep.
    loop.wake();
    finish(undefined);
    await flush();
    expect(claim).toHaveBeenCalledTimes(2);
    finish('late');
    await flush();
    expect(r.started).toEqual(['late']);
    // With no wake, a claim that found nothing is followed by the interval's sleep.
    finish(undefined);
    await flush();
    expect(claim).toHaveBeenCalledTimes(3);
    await vi.advanceTimersByTimeAsync(3_599_999);
    expect(claim).toHaveBeenCalledTimes(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(claim).toHaveBeenCalledTimes(4);
    finish(undefined);
    await loop.stop();
  });
});
