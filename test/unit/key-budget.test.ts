import { describe, expect, it } from 'vitest';
import { keyBudget } from '../../src/infra/key-budget.ts';

describe('per-key budget', () => {
  it('allows one overdraft, then refuses that key until it refills; other keys are untouched', () => {
    let t = 0;
    const b = keyBudget(60, () => t); // 60 a minute = 1 per second
    expect(b.waitMs('a')).toBe(0);
    b.spend('a', 50);
    expect(b.waitMs('a')).toBe(0);
    b.spend('a', 20); // 10 in debt
    expect(b.waitMs('a')).toBe(10_001);
    expect(b.waitMs('b')).toBe(0);
    t = 10_002;
    expect(b.waitMs('a')).toBe(0);
    // Never more than a minute's worth saved up.
    t = 10_000_000;
    b.spend('a', 60);
    expect(b.waitMs('a')).toBeGreaterThan(0);
  });

  it('saves up at most burstMs worth', () => {
    let t = 0;
    const b = keyBudget(60, () => t, 15_000); // 1 a second, at most 15 saved
    t = 1_000_000;
    b.spend('a', 14.5);
    expect(b.waitMs('a')).toBe(0);
    b.spend('a', 1); // 0.5 in debt: with a minute's worth saved up it would still have 44.5
    expect(b.waitMs('a')).toBe(501);
  });

  it('waitFor: no debt allowed, how long until the key holds the amount (the per-key request limit)', () => {
    let t = 0;
    const b = keyBudget(60, () => t, 15_000);
    b.spend('a', 14.5);
    expect(b.waitFor('a', 0.5)).toBe(0);
    expect(b.waitFor('a', 1)).toBe(500);
    t += 500;
    expect(b.waitFor('a', 1)).toBe(0);
  });
});
