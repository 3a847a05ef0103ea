import { describe, expect, it } from 'vitest';
import { keyedLimiter } from '../../src/infra/keyed-limiter.ts';

/** A call that starts (noted in `log`) and runs until the test ends it. */
function gatedCall(log: string[], name: string) {
  let end!: () => void;
  const ended = new Promise<void>((r) => { end = r; });
  return { run: async () => { log.push(`start ${name}`); await ended; return name; }, end };
}
const tick = () => new Promise((r) => setImmediate(r));

describe('keyedLimiter: one key cannot take every slot', () => {
  it('a key at its share waits, and another key\'s call that came later starts first', async () => {
    const slots = keyedLimiter(2, 1);
    const log: string[] = [];
    const [a1, a2, a3, b1] = ['a1', 'a2', 'a3', 'b1'].map((n) => gatedCall(log, n));
    const done = [slots('a', a1!.run), slots('a', a2!.run), slots('a', a3!.run)];
    await tick();
    expect(log).toEqual(['start a1']);
    const b = slots('b', b1!.run);
    await tick();
    // a2 and a3 came first, but key a already holds its one slot: b takes the free one.
    expect(log).toEqual(['start a1', 'start b1']);
    b1!.end();
    expect(await b).toBe('b1');
    await tick();
    expect(log).toEqual(['start a1', 'start b1']);
    a1!.end();
    await done[0];
    await tick();
    expect(log).toEqual(['start a1', 'start b1', 'start a2']);
    a2!.end();
    a3!.end();
    expect(await Promise.all(done)).toEqual(['a1', 'a2', 'a3']);
  });

  it('never runs more than n at once, and a failing call gives its slot back', async () => {
    const slots = keyedLimiter(2, 2);
    const log: string[] = [];
    const calls = ['x1', 'x2', 'x3'].map((n) => gatedCall(log, n));
    const failing = slots('y', async () => { throw new Error('boom'); });
    const done = calls.map((c) => slots('x', c.run));
    await expect(failing).rejects.toThrow('boom');
    await tick();
    expect(log).toEqual(['start x1', 'start x2']);
    calls[0]!.end();
    await done[0];
    await tick();
    expect(log).toEqual(['start x1', 'start x2', 'start x3']);
    calls[1]!.end();
    calls[2]!.end();
    await Promise.all(done);
  });
});
