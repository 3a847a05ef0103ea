/**
 * The creative inputs at submit (API.md §3): a last frame, reference_images and
 * extend_task_id. Every rule is a 400 naming the field, the model and what it
 * allows; a mapped upstream id that lacks one refuses too; references and
 * extensions are priced by the catalog. Pure: no server, no image decoding.
 */
import { describe, expect, it } from 'vitest';
import { loadCatalog, CatalogError } from '../../src/domain/catalog.ts';
import type { ExtendFacts } from '../../src/domain/creative-rules.ts';
import { priceTask } from '../../src/domain/pricing.ts';
import { applySubmitRules, parseSubmitShape, type RuleOptions, type TaskRequest } from '../../src/domain/submit-rules.ts';
import { assertSomeUpstreamHonours, upstreamRefusal } from '../../src/domain/upstream-limits.ts';
import raw from '../../src/domain/models.json' with { type: 'json' };
import { fails } from '../helpers/api-error.ts';

const catalog = loadCatalog();
const VEO = 'veo-3.1-fast-generate-001';
const B64 = Buffer.from('not really a png').toString('base64');
const OPTS: RuleOptions = { allowPrivateUrls: false };
/** A succeeded 720p Veo-shaped source video. */
const SOURCE: ExtendFacts = { taskId: 'task_src', aspectRatio: '16:9', duration: 8, width: 1280, height: 720, fps: 24 };

function rules(body: Record<string, unknown>, opts: RuleOptions = OPTS): TaskRequest {
  return applySubmitRules(parseSubmitShape({ model: VEO, prompt: 'the fox runs', aspect_ratio: '16:9', images: [B64], ...body }), catalog, opts);
}
const extend = (body: Record<string, unknown>, src: Partial<ExtendFacts> = {}) =>
  rules({ images: undefined, extend_task_id: 'task_src', ...body }, { ...OPTS, extend: { ...SOURCE, ...src } });

const refused = (fn: () => unknown) => {
  const e = fails(fn);
  return { status: e.status, code: e.code, param: e.param, message: e.message };
};

describe('images[1]: the last frame', () => {
  it('every model that takes one: Veo 3.1 (and its preview names), Vidu start-end models', () => {
    expect(catalog.models.filter((m) => m.last_frame).map((m) => m.id).sort()).toEqual([
      'veo-3.1-fast-generate-001', 'veo-3.1-fast-generate-preview', 'veo-3.1-generate-001', 'veo-3.1-generate-preview', 'veo-3.1-lite-generate-001',
      'viduq1', 'viduq2-pro', 'viduq2-pro-fast', 'viduq2-turbo', 'viduq3-pro', 'viduq3-turbo',
    ]);
    expect(rules({ images: [B64, B64] }).images).toHaveLength(2);
    expect(refused(() => rules({ model: 'viduq4-preview', images: [B64, B64] }))).toMatchObject({
      status: 400, code: 'invalid_images', param: 'images', message: 'viduq4-preview takes one image (the first frame); got 2.',
    });
  });

  it('Vidu Q2 renders a last frame only at 1–8 s (its start-end endpoint)', () => {
    expect(rules({ model: 'viduq2-pro', images: [B64, B64], seconds: 8 }).seconds).toBe(8);
    expect(rules({ model: 'viduq2-pro', images: [B64], seconds: 10 }).seconds).toBe(10);
    expect(refused(() => rules({ model: 'viduq2-pro', images: [B64, B64], seconds: 10 }))).toMatchObject({
      code: 'invalid_seconds', param: 'seconds', message: '"seconds" must be one of 1, 2, 3, 4, 5, 6, 7, 8 for viduq2-pro with a last frame (got 10).',
    });
  });
});

describe('reference_images', () => {
  it('Veo 3.1: up to 3 with the start image counted as one, 8 s only', () => {
    const r = rules({ reference_images: [B64, `data:image/png;base64,${B64}`] });
    expect(r.referenceImages.map((x) => x.param)).toEqual(['reference_images[0]', 'reference_images[1]']);
    expect(r.seconds).toBe(8);
    expect(refused(() => rules({ reference_images: [B64, B64, B64] }))).toMatchObject({
      code: 'invalid_reference_images', param: 'reference_images',
      message: `${VEO} takes at most 3 reference images, the start image counted as one (it is sent as the first): at most 2 in "reference_images" (got 3).`,
    });
    expect(refused(() => rules({ reference_images: [B64], seconds: 4 }))).toMatchObject({
      code: 'invalid_seconds', param: 'seconds', message: `"seconds" must be one of 8 for ${VEO} with reference_images (got 4).`,
    });
  });

  it('Gemini Omni takes 3 beside the start image; Vidu reference models 7 with it', () => {
    expect(rules({ model: 'gemini-omni-1.1-flash', reference_images: [B64, B64, B64], seconds: 5 }).referenceImages).toHaveLength(3);
    expect(fails(() => rules({ model: 'gemini-omni-1.1-flash', reference_images: [B64, B64, B64, B64] })).message)
      .toBe('gemini-omni-1.1-flash takes at most 3 reference images (got 4).');
    for (const model of ['viduq4-preview', 'viduq1', 'viduq3', 'viduq3-mix']) {
      expect(rules({ model, reference_images: Array(6).fill(B64) }).referenceImages).toHaveLength(6);
      expect(fails(() => rules({ model, reference_images: Array(7).fill(B64) })).param).toBe('reference_images');
    }
  });

  it('a model that takes none: 400 naming the models that do', () => {
    const e = refused(() => rules({ model: 'veo-3.1-lite-generate-001', reference_images: [B64] }));
    expect(e).toMatchObject({ status: 400, code: 'invalid_reference_images', param: 'reference_images' });
    expect(e.message).toMatch(/^veo-3\.1-lite-generate-001 takes no reference images\. Models that do: veo-3\.1-generate-001, veo-3\.1-fast-generate-001, gemini-omni-1\.1-flash, .*viduq4-preview, viduq3, viduq3-mix\.$/);
    for (const model of ['veo-2.0-generate-001', 'veo-3.0-generate-001', 'viduq3-pro', 'viduq2-turbo']) {
      expect(fails(() => rules({ model, reference_images: [B64] })).code).toBe('invalid_reference_images');
    }
  });

  it('never with a last frame; items follow the image forms and name their own field', () => {
    expect(refused(() => rules({ images: [B64, B64], reference_images: [B64] }))).toMatchObject({
      param: 'reference_images', message: `${VEO} cannot combine a last frame (images[1]) with "reference_images"; send one image in "images", or no references.`,
    });
    expect(rules({ reference_images: ['https://example.com/fox.png'] }).referenceImages[0]).toEqual({ kind: 'url', url: 'https://example.com/fox.png', param: 'reference_images[0]' });
    expect(refused(() => rules({ reference_images: ['ftp://example.com/fox.png'] }))).toMatchObject({
      code: 'invalid_image', param: 'reference_images', message: '"reference_images[0]" must be an https:// URL, a data:image/...;base64 URI or base64 (got a ftp: URL).',
    });
    expect(refused(() => rules({ reference_images: ['http://example.com/fox.png'] }))).toMatchObject({ code: 'invalid_image', param: 'reference_images' });
    expect(refused(() => rules({ reference_images: ['%%%'] }))).toMatchObject({ code: 'invalid_image', param: 'reference_images' });
    expect(refused(() => rules({ reference_images: 'x' }))).toMatchObject({ code: 'invalid_reference_images', param: 'reference_images', message: '"reference_images" must be an array of strings (got string).' });
    expect(refused(() => rules({ reference_images: [1] }))).toMatchObject({ param: 'reference_images', message: '"reference_images[0]" must be a string (got number).' });
  });

  it('viduq3 / viduq3-mix render from references only: images is still the start image (sent as the first reference), at most one', () => {
    const r = rules({ model: 'viduq3', seconds: 5 });
    expect(r.images).toHaveLength(1);
    expect(r.referenceImages).toHaveLength(0);
    expect(fails(() => rules({ model: 'viduq3', images: [B64, B64] })).message).toBe('viduq3 takes one image (the first frame, sent as the first reference); got 2.');
    expect(fails(() => rules({ model: 'viduq3-mix', images: undefined, reference_images: [B64] })).code).toBe('missing_images');
    expect(refused(() => rules({ model: 'viduq3', reference_images: Array(7).fill(B64) })).message)
      .toBe('viduq3 takes at most 7 reference images, the start image counted as one (it is sent as the first): at most 6 in "reference_images" (got 7).');
  });
});

describe('extend_task_id', () => {
  it('Veo 3.1: adds 7 s at 720p (the default), images omitted', () => {
    const r = extend({});
    expect(r).toMatchObject({ seconds: 7, resolution: '720p', width: 1280, height: 720, extendTaskId: 'task_src', images: [] });
    expect(extend({ seconds: 7, size: '720p' }).seconds).toBe(7);
    expect(refused(() => extend({ seconds: 8 }))).toMatchObject({
      code: 'invalid_seconds', param: 'seconds', message: `"seconds" must be one of 7 for ${VEO} when extending (the seconds an extension adds) (got 8).`,
    });
    expect(refused(() => extend({ size: '1080p' }))).toMatchObject({ code: 'invalid_size', param: 'size', message: expect.stringContaining(`"size" must be one of 720p, 1280x720 for ${VEO} when extending`) });
  });

  it('Gemini Omni extends by its own 3–10 s, in any of its sizes', () => {
    expect(extend({ model: 'gemini-omni-1.1-flash', seconds: 4, size: '1080p' }, { width: 640, height: 360 })).toMatchObject({ seconds: 4, resolution: '1080p' });
    expect(extend({ model: 'gemini-omni-1.1-flash' }).seconds).toBe(8);
  });

  it('is refused with images or references, on a model that cannot extend, or in another shape', () => {
    expect(refused(() => extend({ images: [B64] }))).toMatchObject({
      code: 'invalid_images', param: 'images', message: 'Omit "images" with "extend_task_id": an extension continues task task_src\'s video from its last frame (got 1 image).',
    });
    expect(refused(() => extend({ reference_images: [B64] }))).toMatchObject({ code: 'invalid_reference_images', param: 'reference_images' });
    const e = refused(() => extend({ model: 'viduq3-pro' }));
    expect(e).toMatchObject({ code: 'invalid_extend_task_id', param: 'extend_task_id' });
    expect(e.message).toBe('viduq3-pro cannot extend a video. Models that can: veo-3.1-generate-001, veo-3.1-fast-generate-001, gemini-omni-1.1-flash, veo-3.1-fast-generate-preview, veo-3.1-generate-preview.');
    expect(refused(() => extend({ aspect_ratio: '9:16' }))).toMatchObject({
      code: 'invalid_aspect_ratio', param: 'aspect_ratio', message: expect.stringContaining('task task_src is 16:9 (got 9:16)'),
    });
    expect(refused(() => extend({ aspect_ratio: '1:1' }, { aspectRatio: '1:1', width: 1080, height: 1080 }))).toMatchObject({ param: 'extend_task_id', message: `${VEO} extends 16:9, 9:16 videos; task task_src is 1:1.` });
  });

  it('Veo continues what Vertex takes (1–30 s, 24 fps, 720p–4k): another source is refused at submit, naming it', () => {
    expect(refused(() => extend({}, { duration: 31 }))).toMatchObject({
      param: 'extend_task_id', message: `${VEO} extends videos of at most 30 seconds; task task_src's video is 1280x720 at 24 fps, 31 seconds.`,
    });
    expect(fails(() => extend({}, { fps: 25 })).message).toContain('extends 24 fps videos only');
    expect(fails(() => extend({}, { width: 640, height: 360 })).message).toContain('extends 720p, 1080p, 4k videos only; task task_src\'s video is 640x360');
    expect(extend({}, { width: 1920, height: 1080, duration: 22.5 }).seconds).toBe(7);
  });
});

describe('upstream ids that lack an input are refused at submit', () => {
  const limitsOf = catalog.upstreamLimits;
  const ask = { seconds: 8, resolution: '720p' };
  it('Veo 3.1 Lite: no references, no extension; Vidu: per endpoint, never an extension', () => {
    expect(upstreamRefusal('veo-3.1-lite-generate-001', limitsOf('veo-3.1-lite-generate-001'), { ...ask, references: 1, startImage: true }))
      .toEqual({ param: 'reference_images', why: 'veo-3.1-lite-generate-001 takes no reference images' });
    expect(upstreamRefusal('veo-3.1-lite-generate-001', limitsOf('veo-3.1-lite-generate-001'), { seconds: 7, resolution: '720p', extension: true }))
      .toEqual({ param: 'extend_task_id', why: 'veo-3.1-lite-generate-001 cannot extend a video' });
    // The extension's 7 s is not a clip length of the id's [4, 6, 8].
    expect(upstreamRefusal(VEO, limitsOf(VEO), { seconds: 7, resolution: '720p', extension: true })).toBeNull();
    expect(upstreamRefusal('viduq3-pro-fast', limitsOf('viduq3-pro-fast'), { seconds: 5, resolution: '720p', startImage: true, lastFrame: true }))
      .toEqual({ param: 'images', why: 'viduq3-pro-fast takes no last frame' });
    expect(upstreamRefusal('viduq3', limitsOf('viduq3'), { seconds: 5, resolution: '720p', startImage: true }))
      .toEqual({ param: 'reference_images', why: 'viduq3 renders from reference images only' });
    expect(upstreamRefusal('viduq4-preview', limitsOf('viduq4-preview'), { seconds: 5, resolution: '720p', startImage: true, references: 7 }))
      .toEqual({ param: 'reference_images', why: 'viduq4-preview takes at most 7 reference images, the start image counted as one, not 8' });
    expect(upstreamRefusal('viduq2-turbo', limitsOf('viduq2-turbo'), { seconds: 9, resolution: '720p', startImage: true, lastFrame: true }))
      .toEqual({ param: 'seconds', why: 'viduq2-turbo renders a last frame only at 1, 2, 3, 4, 5, 6, 7, 8 seconds, not 9' });
  });

  it('a public model mapped to Lite by a channel: 400 naming the upstream id and the rule; another channel that can → accepted', () => {
    expect(refused(() => assertSomeUpstreamHonours(VEO, ['veo-3.1-lite-generate-001'], limitsOf, { ...ask, references: 2, startImage: true }))).toMatchObject({
      status: 400, code: 'invalid_reference_images', param: 'reference_images',
      message: `${VEO} is served here by veo-3.1-lite-generate-001, which cannot render this: veo-3.1-lite-generate-001 takes no reference images.`,
    });
    expect(fails(() => assertSomeUpstreamHonours(VEO, ['veo-3.1-lite-generate-001'], limitsOf, { seconds: 7, resolution: '720p', extension: true })).code).toBe('invalid_extend_task_id');
    expect(() => assertSomeUpstreamHonours(VEO, ['veo-3.1-lite-generate-001', VEO], limitsOf, { ...ask, references: 2, startImage: true })).not.toThrow();
  });
});

describe('pricing', () => {
  const veo = catalog.find(VEO)!;
  const base = { resolution: '720p', audio: true, isRec: false, offPeak: false };
  it('an extension is priced by the seconds it adds', () => {
    expect(priceTask(veo, catalog.pricing, { ...base, seconds: 7 }).credits).toBe(7 * (10 + 5));
  });
  it('references cost what the catalog says: nothing on the built-in models, price_per_image where an operator sets it', () => {
    expect(priceTask(veo, catalog.pricing, { ...base, seconds: 8, references: 2 }).credits).toBe(8 * 15);
    const priced = { ...veo, reference_images: { ...veo.reference_images!, price_per_image: 6 } };
    const p = priceTask(priced, catalog.pricing, { ...base, seconds: 8, references: 2, offPeak: true });
    expect(p.breakdown).toMatchObject({ video: 80, audio: 40, references: 12 });
    expect(p.credits).toBe(Math.ceil((80 + 40 + 12) * 0.5));
  });
});

describe('the catalog schema', () => {
  const tiny = (over: Record<string, unknown>) => ({
    models: [{
      id: 'op-model', family: 'wan', display_name: 'Op', seconds: [2], default_seconds: 2, seconds_with_images: null, sizes: ['720p'], default_size: '720p',
      aspect_ratios: ['16:9'], audio: false, last_frame: false, providers: ['local'], price_per_second: { '720p': 1 }, audio_price_per_second: 0, ...over,
    }],
  });
  it('an operator model without the new fields takes no references and cannot extend', () => {
    expect(loadCatalog(tiny({})).find('op-model')).toMatchObject({ reference_images: null, extension: null });
  });
  it('refuses inconsistent creative fields, naming them', () => {
    expect(() => loadCatalog(tiny({ extension: { seconds: [2], sizes: ['1080p'] } }))).toThrow(/models\.op-model\.extension\.sizes: 1080p is not one of the model's sizes/);
    expect(() => loadCatalog(tiny({ last_frame: true, reference_images: { max: 3, start_image_counts: true, only: true } }))).toThrow(CatalogError);
    expect(() => loadCatalog(tiny({ reference_images: { max: 0 } }))).toThrow(/reference_images\.max/);
    expect(() => loadCatalog(tiny({ extension: { seconds: [2], bogus: 1 } }))).toThrow(/extension/);
  });
  it('the built-in file declares them as API.md §6 says', () => {
    const models = (raw as { models: { id: string; reference_images?: unknown; extension?: unknown }[] }).models;
    const with_ = (k: 'reference_images' | 'extension') => models.filter((m) => m[k]).map((m) => m.id).sort();
    expect(with_('extension')).toEqual(['gemini-omni-1.1-flash', 'veo-3.1-fast-generate-001', 'veo-3.1-fast-generate-preview', 'veo-3.1-generate-001', 'veo-3.1-generate-preview']);
    expect(with_('reference_images')).toEqual(['gemini-omni-1.1-flash', 'veo-3.1-fast-generate-001', 'veo-3.1-fast-generate-preview', 'veo-3.1-generate-001',
      'veo-3.1-generate-preview', 'viduq1', 'viduq3', 'viduq3-mix', 'viduq4-preview']);
  });
});
