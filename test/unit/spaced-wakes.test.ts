// The upstream poller started a claim round on every poll that ended: at 10 000 jobs in flight a thousand
// rounds a second, each claiming ~1 job with a query that sorts every due job. Rounds started by ends are
// now spaced: a request inside the gap becomes one timer at the gap's end (none lost, none sooner).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { spacedWakes } from '../../src/infra/spaced-wakes.ts';

beforeEach(() => { vi.useFakeTimers({ now: 1_000_000 }); });
afterEach(() => { vi.useRealTimers(); });

describe('spacedWakes', () => {
  it('wakes at once outside the gap; inside it, once at the gap’s end however often asked', async () => {
    const wake = vi.fn();
    const w = spacedWakes(wake, Date.now, 20);
    expect(w.request()).toBe(true); // no round yet
    w.roundStarted();
    await vi.advanceTimersByTimeAsync(5);
    for (let i = 0; i < 50; i++) expect(w.request()).toBe(false);
    await vi.advanceTimersByTimeAsync(14);
    expect(wake).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(wake).toHaveBeenCalledTimes(1);
    // The woken round starts; the next gap counts from it.
    w.roundStarted();
    expect(w.request()).toBe(false);
    await vi.advanceTimersByTimeAsync(20);
    expect(wake).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(20);
    expect(w.request()).toBe(true);
    expect(wake).toHaveBeenCalledTimes(2);
  });

  it('stop drops a pending wake', async () => {
    const wake = vi.fn();
    const w = spacedWakes(wake, Date.now, 20);
    w.roundStarted();
    expect(w.request()).toBe(false);
    w.stop();
    await vi.advanceTimersByTimeAsync(100);
    expect(wake).not.toHaveBeenCalled();
  });
});
