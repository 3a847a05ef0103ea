import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/domain/catalog.ts';
import { priceTask } from '../../src/domain/pricing.ts';
import { isInWindow, parseWindow } from '../../src/domain/off-peak.ts';
import { createPromptOptimizer } from '../../src/domain/prompt-optimizer.ts';
import { LOCAL_PROMPT_VOCABULARY } from '../../src/providers/local/prompt-vocabulary.ts';

const optimizePrompt = createPromptOptimizer(LOCAL_PROMPT_VOCABULARY);
import { planCamera } from '../../src/providers/local/camera.ts';

const catalog = loadCatalog();
const veo3 = catalog.find('veo-3.0-generate-001')!;
const veo2 = catalog.find('veo-2.0-generate-001')!;

describe('pricing (data from models.json)', () => {
  const base = { seconds: 8, resolution: '720p' as const, audio: false, isRec: false, offPeak: false };
  it('scales with seconds and resolution', () => {
    const a = priceTask(veo3, catalog.pricing, base).credits;
    expect(priceTask(veo3, catalog.pricing, { ...base, seconds: 4 }).credits).toBe(a / 2);
    expect(priceTask(veo3, catalog.pricing, { ...base, resolution: '4k' }).credits).toBeGreaterThan(a);
    expect(a).toBe(8 * veo3.price_per_second['720p']!);
  });
  it('adds audio and is_rec, and discounts off-peak (rounded up)', () => {
    const plain = priceTask(veo3, catalog.pricing, base).credits;
    expect(priceTask(veo3, catalog.pricing, { ...base, audio: true }).credits).toBe(plain + 8 * veo3.audio_price_per_second);
    expect(priceTask(veo3, catalog.pricing, { ...base, isRec: true }).credits).toBe(plain + catalog.pricing.is_rec_surcharge);
    expect(priceTask(veo3, catalog.pricing, { ...base, offPeak: true }).credits).toBe(Math.ceil(plain * (1 - catalog.pricing.off_peak_discount)));
    expect(priceTask(veo2, catalog.pricing, { ...base, seconds: 5, offPeak: true }).credits).toBe(Math.ceil(5 * 35 * 0.5));
  });
  it('every model prices every size it offers', () => {
    for (const m of catalog.models) for (const s of m.sizes) expect(m.price_per_second[s]).toBeGreaterThan(0);
  });
});

describe('off-peak window', () => {
  it('parses and rejects window specs', () => {
    expect(parseWindow('00:00-08:00', 'UTC')).toEqual({ start: 0, end: 480, timeZone: 'UTC' });
    expect(parseWindow('8-9', 'UTC')).toBeUndefined();
    expect(parseWindow('00:00-08:00', 'Mars/Olympus')).toBeUndefined();
  });
  it('applies the time zone and wraps midnight', () => {
    const w = parseWindow('00:00-08:00', 'UTC')!;
    expect(isInWindow(Date.UTC(2026, 0, 1, 3), w)).toBe(true);
    expect(isInWindow(Date.UTC(2026, 0, 1, 8), w)).toBe(false);
    const tokyo = parseWindow('00:00-08:00', 'Asia/Tokyo')!; // UTC+9
    expect(isInWindow(Date.UTC(2026, 0, 1, 16), tokyo)).toBe(true); // 01:00 in Tokyo
    expect(isInWindow(Date.UTC(2026, 0, 1, 3), tokyo)).toBe(false); // 12:00 in Tokyo
    const night = parseWindow('22:00-06:00', 'UTC')!;
    expect(isInWindow(Date.UTC(2026, 0, 1, 23), night)).toBe(true);
    expect(isInWindow(Date.UTC(2026, 0, 1, 5), night)).toBe(true);
    expect(isInWindow(Date.UTC(2026, 0, 1, 12), night)).toBe(false);
  });
});

describe('is_rec prompt optimisation (local)', () => {
  it('is deterministic, keeps the prompt, and adds words the renderer acts on', () => {
    const out = optimizePrompt('a red apple on a table');
    expect(out).toBe(optimizePrompt('a red apple on a table'));
    expect(out.startsWith('a red apple on a table')).toBe(true);
    const plan = planCamera(out);
    expect(plan.source).toBe('prompt');
    expect(plan.moves).toContain('zoom_in');
    expect(plan.looks).toContain('warm');
  });
  it('leaves a prompt that already names a move and look in charge', () => {
    const out = optimizePrompt('fast pan left, black and white');
    expect(planCamera(out)).toMatchObject({ moves: ['pan_left'], speed: 'fast' });
    expect(planCamera(out).looks).toContain('black_and_white');
  });
});
