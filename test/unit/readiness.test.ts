import { describe, expect, it } from 'vitest';
import { createReadiness, type ReadinessProbe } from '../../src/http/readiness.ts';

/** A probe whose check takes `tookMs` of the test's clock and counts its runs. */
function probe(clock: { t: number }, o: { everyMs: number; maxShare?: number; tookMs: number; name?: string }) {
  const p = {
    runs: 0,
    name: o.name ?? 'db', everyMs: o.everyMs, ...(o.maxShare ? { maxShare: o.maxShare } : {}),
    async check() {
      p.runs++;
      clock.t += o.tookMs;
      return { ok: true };
    },
  } satisfies ReadinessProbe & { runs: number };
  return p;
}

describe('readiness results', () => {
  it('a check bounded by a share of the time is trusted for its duration divided by the share, if that is longer', async () => {
    const clock = { t: 0 };
    const slow = probe(clock, { everyMs: 60_000, maxShare: 0.01, tookMs: 2_000 });
    const r = createReadiness([slow], () => clock.t);
    await r.results();
    expect(slow.runs).toBe(1);
    // 2 s of checking at 1 %: trusted for 200 s, not the 60 s of its interval.
    clock.t += 150_000;
    await r.results();
    expect(slow.runs).toBe(1);
    clock.t += 51_000;
    await r.results();
    expect(slow.runs).toBe(2);
  });

  it('a quick check keeps its interval', async () => {
    const clock = { t: 0 };
    const quick = probe(clock, { everyMs: 60_000, maxShare: 0.01, tookMs: 50 });
    const plain = probe(clock, { everyMs: 5_000, tookMs: 2_000, name: 'disk' });
    const r = createReadiness([quick], () => clock.t);
    await r.results();
    clock.t += 59_000;
    await r.results();
    expect(quick.runs).toBe(1);
    clock.t += 2_000;
    await r.results();
    expect(quick.runs).toBe(2);
    // Without a share, however long the check took, its interval is all.
    const r2 = createReadiness([plain], () => clock.t);
    await r2.results();
    clock.t += 5_001;
    await r2.results();
    expect(plain.runs).toBe(2);
  });
});
