/**
 * Pure unit tests of the submit rules (API.md §3/§6): the defaulting logic
 * and the parse/normalise steps, with no server, no image decoding.
 */
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/domain/catalog.ts';
import { applySubmitRules, parseSubmitShape, MAX_SEED, type RuleOptions, type TaskRequest } from '../../src/domain/submit-rules.ts';
import { fails } from '../helpers/api-error.ts';

const catalog = loadCatalog();
const V2 = 'veo-2.0-generate-001';
const V3 = 'veo-3.0-generate-001';
const V3F = 'veo-3.0-fast-generate-001';
const V31 = 'veo-3.1-generate-preview';
const V31F = 'veo-3.1-fast-generate-preview';

/** Any base64 will do: applySubmitRules only classifies image sources, it does not decode them. */
const B64 = Buffer.from('not really a png').toString('base64');
const OPTS: RuleOptions = { allowPrivateUrls: false };

function rules(body: Record<string, unknown>, opts: RuleOptions = OPTS): TaskRequest {
  return applySubmitRules(parseSubmitShape({ model: V3F, prompt: 'a slow push in', aspect_ratio: '16:9', images: [B64], ...body }), catalog, opts);
}


describe('defaults', () => {
  it('the catalog holds the doc\'s five Veo names (deprecated, with successors), the live Veo 3.1 ids, Omni and the Vidu models (API.md §6)', () => {
    const veo = catalog.models.filter((m) => m.family === 'veo');
    expect(veo.filter((m) => m.deprecated).map((m) => m.id).sort()).toEqual([V2, V3F, V3, V31F, V31].sort());
    expect(veo.filter((m) => !m.deprecated).map((m) => m.id).sort()).toEqual(['veo-3.1-fast-generate-001', 'veo-3.1-generate-001', 'veo-3.1-lite-generate-001']);
    for (const m of veo.filter((x) => x.deprecated)) expect(catalog.find(m.successor!)?.deprecated).toBeFalsy();
    expect(catalog.find('gemini-omni-1.1-flash')).toMatchObject({ seconds: [3, 4, 5, 6, 7, 8, 9, 10], sizes: ['360p', '720p', '1080p', '4k'] });
    expect(catalog.models.filter((m) => m.family === 'vidu').map((m) => m.id).sort()).toEqual(
      ['viduq1', 'viduq2-pro', 'viduq2-pro-fast', 'viduq2-turbo', 'viduq3', 'viduq3-mix', 'viduq3-pro', 'viduq3-pro-fast', 'viduq3-turbo', 'viduq4-preview']);
  });

  it('Veo 3.1 -001 renders 1080p and 4k only at 8 s; 720p at 4 s is fine', () => {
    expect(rules({ model: 'veo-3.1-generate-001', size: '720p', seconds: 4 }).seconds).toBe(4);
    expect(rules({ model: 'veo-3.1-generate-001', size: '1080p', seconds: 8 }).seconds).toBe(8);
    expect(() => rules({ model: 'veo-3.1-generate-001', size: '1080p', seconds: 4 })).toThrow(/renders 1080p only at 8 seconds \(got 4\)/);
    expect(() => rules({ model: 'veo-3.1-lite-generate-001', size: '4k' })).toThrow(/"size" must be one of/);
  });

  for (const m of catalog.models) {
    it(`${m.id}: default seconds with a start image`, () => {
      const r = rules({ model: m.id });
      expect(r.seconds).toBe(m.seconds_with_images ?? m.default_seconds);
      // Veo and Omni default to 8 s; Vidu to 5 s (viduq1 only has 5).
      expect(r.seconds).toBe(m.family === 'vidu' ? 5 : 8);
      expect(r.model.id).toBe(m.id);
    });
  }

  it('Veo 3.1 with images is fixed to 8 seconds; 8 explicit is fine, by seconds or duration', () => {
    for (const model of [V31, V31F]) {
      expect(rules({ model }).seconds).toBe(8);
      expect(rules({ model, seconds: 8 }).seconds).toBe(8);
      expect(rules({ model, seconds: '8' }).seconds).toBe(8);
      expect(rules({ model, duration: 8 }).seconds).toBe(8);
      const e = fails(() => rules({ model, seconds: 6 }));
      expect([e.code, e.param]).toEqual(['invalid_seconds', 'seconds']);
      expect(e.message).toContain('8 seconds');
    }
  });

  it('Veo 3.1 with first + last frame still renders 8', () => {
    expect(rules({ model: V31, images: [B64, B64] }).seconds).toBe(8);
  });

  it('explicit seconds within the model list are kept (number, numeric string, duration alias)', () => {
    expect(rules({ seconds: 4 }).seconds).toBe(4);
    expect(rules({ seconds: ' 6 ' }).seconds).toBe(6);
    expect(rules({ duration: '4' }).seconds).toBe(4);
    expect(rules({ seconds: 6, duration: '6' }).seconds).toBe(6);
    expect(rules({ model: V2, seconds: 7 }).seconds).toBe(7);
  });

  it('default size is 720p → 1280x720 for 16:9', () => {
    const r = rules({});
    expect([r.size, r.resolution, r.width, r.height]).toEqual(['720p', '720p', 1280, 720]);
  });

  it('default size is 720p → 720x1280 for 9:16', () => {
    const r = rules({ aspect_ratio: '9:16' });
    expect([r.size, r.resolution, r.width, r.height]).toEqual(['720p', '720p', 720, 1280]);
  });

  it('every model defaults to 720p, except viduq1 (1080p only)', () => {
    for (const m of catalog.models) {
      const r = rules({ model: m.id, aspect_ratio: '9:16' });
      expect([r.size, r.width, r.height]).toEqual(m.id === 'viduq1' ? ['1080p', 1080, 1920] : ['720p', 720, 1280]);
    }
  });

  it('named and pixel sizes resolve to the right output dimensions', () => {
    expect(rules({ size: '1080p' })).toMatchObject({ size: '1080p', resolution: '1080p', width: 1920, height: 1080 });
    expect(rules({ size: '4k', aspect_ratio: '9:16' })).toMatchObject({ size: '4k', resolution: '4k', width: 2160, height: 3840 });
    expect(rules({ size: '1920x1080' })).toMatchObject({ size: '1920x1080', resolution: '1080p', width: 1920, height: 1080 });
    expect(rules({ size: '2160x3840', aspect_ratio: '9:16' })).toMatchObject({ resolution: '4k', width: 2160, height: 3840 });
    // Case and surrounding spaces are normalised.
    expect(rules({ size: ' 1080P ' })).toMatchObject({ size: '1080p', resolution: '1080p' });
    expect(rules({ size: '1280X720' })).toMatchObject({ size: '1280x720', resolution: '720p' });
  });

  it('generate_audio defaults to true on audio models, false on Veo 2', () => {
    for (const m of catalog.models) expect(rules({ model: m.id }).generateAudio).toBe(m.audio);
    expect(rules({ model: V2 }).generateAudio).toBe(false);
    expect(rules({ model: V3 }).generateAudio).toBe(true);
    expect(rules({ model: V31F }).generateAudio).toBe(true);
  });

  it('generate_audio false is honoured; false on Veo 2 is allowed', () => {
    expect(rules({ model: V3, generate_audio: false }).generateAudio).toBe(false);
    expect(rules({ model: V2, generate_audio: false }).generateAudio).toBe(false);
    expect(fails(() => rules({ model: V2, generate_audio: true })).code).toBe('invalid_generate_audio');
  });

  it('the other optional fields default to off/absent', () => {
    const r = rules({});
    expect(r).toMatchObject({
      negativePrompt: null, seed: null, offPeak: false, isRec: false, callbackUrl: null, options: {}, aspectRatio: '16:9', prompt: 'a slow push in',
    });
  });
});

describe('null fields are treated as absent', () => {
  it('optional nulls take their defaults', () => {
    const r = rules({
      seconds: null, duration: null, size: null, negative_prompt: null, seed: null, generate_audio: null,
      audio: null, audio_type: null, voice_id: null, off_peak: null, is_rec: null, callback_url: null,
    });
    expect(r).toMatchObject({
      seconds: 8, size: '720p', width: 1280, height: 720, negativePrompt: null, seed: null,
      generateAudio: true, offPeak: false, isRec: false, callbackUrl: null, options: {},
    });
  });

  it('null on Veo 2 generate_audio is not "true"', () => {
    expect(rules({ model: V2, generate_audio: null }).generateAudio).toBe(false);
  });

  it('null on a Vidu-only field is not a Vidu option', () => {
    expect(() => rules({ audio: null, audio_type: null, voice_id: null })).not.toThrow();
  });

  it('required nulls are reported as missing', () => {
    for (const f of ['model', 'prompt']) {
      const e = fails(() => parseSubmitShape({ model: V3, prompt: 'p', aspect_ratio: '16:9', [f]: null }));
      expect([e.status, e.code, e.param]).toEqual([400, `missing_${f}`, f]);
    }
    // aspect_ratio: null is "not sent", which the submit resolves from the start image.
    expect(parseSubmitShape({ model: V3, prompt: 'p', aspect_ratio: null }).aspect_ratio).toBeUndefined();
    const e = fails(() => rules({ images: null }));
    expect([e.code, e.param]).toEqual(['missing_images', 'images']);
  });
});

describe('parseSubmitShape', () => {
  it('rejects a non-object body', () => {
    for (const b of [null, [], 'x', 1, true]) {
      const e = fails(() => parseSubmitShape(b));
      expect([e.status, e.code, e.param]).toEqual([400, 'invalid_body', null]);
    }
  });

  it('names the field and the JSON type on a type error', () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ model: 1 }, 'invalid_model', 'model'],
      [{ images: 'x' }, 'invalid_images', 'images'],
      [{ images: [1] }, 'invalid_images', 'images'],
      [{ seed: '1' }, 'invalid_seed', 'seed'],
      [{ seed: 1.5 }, 'invalid_seed', 'seed'],
      [{ generate_audio: 'yes' }, 'invalid_generate_audio', 'generate_audio'],
      [{ seconds: {} }, 'invalid_seconds', 'seconds'],
    ];
    for (const [over, code, param] of cases) {
      const e = fails(() => parseSubmitShape({ model: V3, prompt: 'p', aspect_ratio: '16:9', ...over }));
      expect([e.code, e.param], JSON.stringify(over)).toEqual([code, param]);
    }
    expect(fails(() => parseSubmitShape({ model: V3, prompt: 'p', aspect_ratio: '16:9', seed: 1.5 })).message)
      .toContain(`0 to ${MAX_SEED}`);
  });

  it('drops unknown fields', () => {
    const r = parseSubmitShape({ model: V3, prompt: 'p', aspect_ratio: '16:9', foo: 1, n: { a: 1 } });
    expect(r).toEqual({ model: V3, prompt: 'p', aspect_ratio: '16:9' });
  });
});

describe('image sources', () => {
  it('classifies https URLs, data URIs and bare base64', () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
    const r = rules({ model: V31, images: ['https://example.com/a.png', `data:image/JPEG;base64,${png.toString('base64')}`] });
    expect(r.images[0]).toEqual({ kind: 'url', url: 'https://example.com/a.png', param: 'images[0]' });
    expect(r.images[1]).toMatchObject({ kind: 'bytes', declaredType: 'image/jpeg', param: 'images[1]' });
    expect((r.images[1] as { data: Buffer }).data.equals(png)).toBe(true);
    expect(rules({}).images[0]).toMatchObject({ kind: 'bytes', declaredType: null, param: 'images[0]' });
  });

  it('http:// is an image URL only when private URLs are allowed (dev/tests)', () => {
    expect(fails(() => rules({ images: ['http://example.com/a.png'] })).code).toBe('invalid_image');
    expect(rules({ images: ['http://example.com/a.png'] }, { allowPrivateUrls: true }).images[0]).toMatchObject({ kind: 'url' });
  });

  it('multipart files are appended after image strings and counted together', () => {
    const file = { path: '/tmp/upload-x', size: 1, sha256: 'ab', contentType: 'image/png' };
    const r = rules({ model: V31 }, { allowPrivateUrls: false, files: [file] });
    expect(r.images.map((i) => i.param)).toEqual(['images[0]', 'images[1]']);
    expect(r.images[1]).toMatchObject({ kind: 'file', file, declaredType: 'image/png' });
    const onlyFile = applySubmitRules(parseSubmitShape({ model: V3, prompt: 'p', aspect_ratio: '16:9' }), catalog, { allowPrivateUrls: false, files: [file] });
    expect(onlyFile.images).toHaveLength(1);
    expect(fails(() => rules({}, { allowPrivateUrls: false, files: [file] })).code).toBe('invalid_images');
  });

  it('an empty array is invalid, an absent field is missing', () => {
    expect(fails(() => rules({ images: [] })).code).toBe('invalid_images');
    expect(fails(() => rules({ images: undefined })).code).toBe('missing_images');
  });
});

describe('other normalisation', () => {
  it('prompt limits count characters (code points), and keep the prompt as sent', () => {
    expect(rules({ prompt: 'a'.repeat(5000) }).prompt).toHaveLength(5000);
    expect(rules({ prompt: '🎬'.repeat(5000) }).prompt).toBe('🎬'.repeat(5000));
    expect(fails(() => rules({ prompt: 'a'.repeat(5001) })).code).toBe('invalid_prompt');
    expect(rules({ prompt: '  padded  ' }).prompt).toBe('  padded  ');
  });

  it('seed boundaries', () => {
    expect(rules({ seed: 0 }).seed).toBe(0);
    expect(rules({ seed: MAX_SEED }).seed).toBe(4294967295);
    expect(fails(() => rules({ seed: -1 })).code).toBe('invalid_seed');
    expect(fails(() => rules({ seed: MAX_SEED + 1 })).code).toBe('invalid_seed');
  });

  it('callback_url is kept as a normalised URL', () => {
    expect(rules({ callback_url: 'https://Example.com/hook' }).callbackUrl).toBe('https://example.com/hook');
    expect(fails(() => rules({ callback_url: 'http://example.com' })).code).toBe('invalid_callback_url');
    expect(rules({ callback_url: 'http://example.com/' }, { allowPrivateUrls: true }).callbackUrl).toBe('http://example.com/');
  });

  it('model id is trimmed', () => {
    expect(rules({ model: ` ${V3} ` }).model.id).toBe(V3);
  });
});
