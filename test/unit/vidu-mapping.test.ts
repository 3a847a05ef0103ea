import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { loadCatalog, type ModelSpec } from '../../src/domain/catalog.ts';
import type { CallFailed } from '../../src/providers/upstream/http-call.ts';
import type { UpstreamJob } from '../../src/providers/upstream/upstream-provider.ts';
import { fitBody } from '../../src/providers/vidu/body-fit.ts';
import { classifyViduCode, viduHttpFailure, viduTaskFailure } from '../../src/providers/vidu/errors.ts';
import { VIDU_MAX_SEED, viduRequest, viduSeed } from '../../src/providers/vidu/request-mapping.ts';
import { checkImg2Video } from '../fakes/vidu.ts';

const catalog = loadCatalog();
const PNG_URI = 'data:image/png;base64,iVBORw0KGgo=';
const DIMS: Record<string, [number, number]> = { '360p': [640, 360], '540p': [960, 540], '720p': [1280, 720], '1080p': [1920, 1080], '2k': [2560, 1440], '4k': [3840, 2160] };

function job(upstreamModel: string, seconds: number, size: string, extra: Partial<UpstreamJob> = {}): UpstreamJob {
  const [width, height] = DIMS[size]!;
  return {
    taskId: 'vid_1', model: { id: `public-${upstreamModel}` } as ModelSpec, upstreamModel, prompt: 'a slow push in', negativePrompt: null,
    aspectRatio: '16:9', seconds, width, height, fps: 24, seed: 42, generateAudio: false, images: [], options: {}, ...extra,
  };
}

/** UPSTREAM.md §4's img2video rows, in our catalog's resolution names. */
const TABLE: [string, number[], (s: number) => string[]][] = [
  ['viduq4-preview', range(3, 16), () => ['540p', '720p', '1080p', '2k', '4k']],
  ['viduq3-pro', range(1, 16), () => ['540p', '720p', '1080p']],
  ['viduq3-turbo', range(1, 16), () => ['540p', '720p', '1080p']],
  ['viduq3-pro-fast', range(1, 16), () => ['720p', '1080p']],
  ['viduq2-pro', range(1, 10), () => ['540p', '720p', '1080p']],
  ['viduq2-turbo', range(1, 10), () => ['540p', '720p', '1080p']],
  ['viduq2-pro-fast', range(1, 10), () => ['720p', '1080p']],
  ['viduq1', [5], () => ['1080p']],
  ['viduq1-classic', [5], () => ['1080p']],
  ['vidu2.0', [4, 8], (s) => (s === 8 ? ['720p'] : ['360p', '720p', '1080p'])],
];
function range(a: number, b: number) { return Array.from({ length: b - a + 1 }, (_, i) => a + i); }

describe('Vidu request mapping', () => {
  it('every Vidu model × seconds × size × aspect of the catalog maps to a body Vidu accepts', () => {
    // Models that render from references only never use img2video (their bodies: creative-catalog.test.ts).
    const vidu = catalog.models.filter((m) => m.providers.includes('vidu') && !m.reference_images?.only);
    expect(vidu.length).toBeGreaterThan(0);
    let n = 0;
    for (const m of vidu) for (const seconds of m.seconds) for (const size of m.sizes) for (const aspect of m.aspect_ratios) {
      const { width, height } = catalog.dimensions(size, aspect);
      const upstream = catalog.defaultUpstreamModel(m, 'vidu');
      const body = viduRequest({ ...job(upstream, seconds, size), model: m, aspectRatio: aspect, width, height }, PNG_URI);
      expect([m.id, seconds, size, aspect, checkImg2Video(body)]).toEqual([m.id, seconds, size, aspect, null]);
      n++;
    }
    expect(n).toBeGreaterThan(100);
  });

  it('every img2video row of UPSTREAM.md §4 maps to a body Vidu accepts, seeds over 2^31 − 1 included', () => {
    for (const [model, secondsList, sizes] of TABLE) for (const seconds of secondsList) for (const size of sizes(seconds)) {
      const body = viduRequest(job(model, seconds, size, { seed: 4_294_967_295 - seconds }), PNG_URI);
      expect([model, seconds, size, checkImg2Video(body)]).toEqual([model, seconds, size, null]);
    }
  });

  it('the checker is not permissive: what Vidu refuses, it refuses', () => {
    const ok = viduRequest(job('viduq4-preview', 5, '2k'), PNG_URI);
    expect(checkImg2Video(ok)).toBeNull();
    expect(checkImg2Video({ ...ok, resolution: '2k' })).toMatchObject({ reason: 'FieldInvalid' });
    expect(checkImg2Video({ ...ok, seed: 2 ** 31 })).toMatchObject({ reason: 'FieldInvalid', message: expect.stringContaining('seed') });
    expect(checkImg2Video({ ...ok, model: 'viduq3' })).toMatchObject({ reason: 'FieldInvalid', message: expect.stringContaining('img2video') });
    expect(checkImg2Video({ ...ok, model: 'vidu2.0', duration: 8, resolution: '1080p' })).toMatchObject({ reason: 'FieldInvalid' });
    expect(checkImg2Video({ ...ok, duration: 2 })).toMatchObject({ reason: 'FieldInvalid' });
    expect(checkImg2Video({ ...ok, images: [PNG_URI, PNG_URI] })).toMatchObject({ reason: 'FieldItemCountOutOfRange' });
    expect(checkImg2Video({ ...ok, prompt: 'x'.repeat(5001) })).toMatchObject({ reason: 'FieldInvalid' });
    expect(checkImg2Video({ ...ok, aspect_ratio: '16:9' })).toMatchObject({ reason: 'FieldUnwanted' });
  });

  it('sends the channel\'s upstream id, never the public name', () => {
    const body = viduRequest({ ...job('viduq3-pro', 5, '720p'), model: { id: 'my-public-vidu' } as ModelSpec }, PNG_URI);
    expect(body.model).toBe('viduq3-pro');
    expect(JSON.stringify(body)).not.toContain('my-public-vidu');
  });

  it('spells 2k and 4k as Vidu does (2K, 4K), in every orientation', () => {
    for (const [size, want] of [['2k', '2K'], ['4k', '4K']] as const) {
      for (const aspect of ['16:9', '9:16', '1:1']) {
        const { width, height } = catalog.dimensions(size, aspect);
        expect(viduRequest({ ...job('viduq4-preview', 5, size), width, height }, PNG_URI).resolution).toBe(want);
      }
    }
    expect(viduRequest(job('viduq3-pro', 5, '1080p'), PNG_URI).resolution).toBe('1080p');
  });

  it('maps every seed into 0–2147483647 deterministically, never to 0 (Vidu\'s "random")', () => {
    expect([0, 1, 42, VIDU_MAX_SEED, 2 ** 31, 2 ** 31 + 5, 2 ** 32 - 1].map(viduSeed)).toEqual([VIDU_MAX_SEED, 1, 42, VIDU_MAX_SEED, VIDU_MAX_SEED, 5, VIDU_MAX_SEED]);
    for (let i = 0; i < 2000; i++) {
      const seed = randomBytes(4).readUInt32BE();
      const v = viduSeed(seed);
      expect(v).toBe(viduSeed(seed));
      expect(v >= 1 && v <= VIDU_MAX_SEED && Number.isInteger(v)).toBe(true);
      if (seed >= 1 && seed <= VIDU_MAX_SEED) expect(v).toBe(seed);
    }
  });

  it('off_peak, is_rec, callback_url and the Vidu audio options; nothing Vidu img2video does not take', () => {
    const plain = viduRequest(job('viduq2-pro', 4, '720p'), PNG_URI);
    expect(plain).not.toHaveProperty('off_peak');
    expect(plain).not.toHaveProperty('is_rec');
    expect(plain).not.toHaveProperty('callback_url');
    expect(plain).toMatchObject({ audio: false, seed: 42, duration: 4, prompt: 'a slow push in', images: [PNG_URI] });
    const full = viduRequest(job('viduq2-pro', 4, '720p', {
      offPeak: true, isRec: true, generateAudio: true, options: { audio_type: 'speech_only', voice_id: 'v1', movement_amplitude: 'large' },
    }), PNG_URI, 'https://reelay.example/cb?task=1');
    expect(full).toMatchObject({ off_peak: true, is_rec: true, audio: true, audio_type: 'speech_only', voice_id: 'v1', callback_url: 'https://reelay.example/cb?task=1' });
    expect(full).not.toHaveProperty('movement_amplitude');
    expect(viduRequest(job('viduq2-pro', 4, '720p', { generateAudio: true, options: { audio: false } }), PNG_URI).audio).toBe(false);
    expect(checkImg2Video(full)).toBeNull();
  });
});

describe('Vidu codes (UPSTREAM.md §4 error table)', () => {
  const cases: [string, string, string][] = [
    ['AuditSubmitIllegal', 'content_filtered', 'content'], ['TaskPromptPolicyViolation', 'content_filtered', 'content'],
    ['CreationPolicyViolation', 'content_filtered', 'content'], ['CreditInsufficient', 'upstream_quota', 'channel'],
    ['ModelUnavailable', 'model_unavailable', 'model'], ['OperationInProcess', 'upstream_unavailable', 'transient'],
    ['InternalServiceFailure', 'upstream_unavailable', 'transient'], ['QuotaExceeded', 'upstream_unavailable', 'throttled'],
    ['TooManyRequests', 'upstream_unavailable', 'throttled'], ['SystemThrottling', 'upstream_unavailable', 'throttled'],
    ['UserCancelled', 'upstream_lost_job', 'transient'], ['TaskNotFound', 'upstream_lost_job', 'transient'],
    ['CreationNotFound', 'upstream_lost_job', 'transient'], ['NotFound', 'upstream_lost_job', 'transient'],
    ...['BadRequest', 'FieldLacking', 'FieldUnwanted', 'FieldItemCountOutOfRange', 'FieldInvalid', 'ImageFormatInvalid', 'ImageDownloadFailure',
      'ImageCheckBodyJointsFailed', 'ImageCheckFaceFailed', 'ImageCheckSomethingNew', 'ImageObjectsUndetected'].map((c) => [c, 'upstream_rejected', 'request'] as [string, string, string]),
  ];
  const http = (status: number, reason: string, message = 'said', retryAfterMs?: number): CallFailed => ({
    ok: false, status, body: { code: status, reason, message, metadata: { trace_id: 't' } }, detail: `${reason}: ${message}`, ...(retryAfterMs ? { retryAfterMs } : {}),
  });

  it.each(cases)('%s → %s (%s), as an err_code and as an HTTP reason', (code, want, fault) => {
    expect(viduTaskFailure(code)).toMatchObject({ code: want, fault });
    expect(viduTaskFailure(code).message).toContain(code);
    const status = fault === 'throttled' ? 429 : code.endsWith('NotFound') ? 404 : code === 'InternalServiceFailure' ? 500 : 400;
    const f = viduHttpFailure(http(status, code, 'Vidu said this', status === 429 ? 7000 : undefined), 'task');
    expect(f).toMatchObject({ code: want, fault });
    expect(f.message).toContain(`${code}: Vidu said this`);
    if (fault === 'throttled') expect(f.retryAfterMs).toBe(7000);
  });

  it('401/403 are the channel\'s credentials whatever the reason; a throttled err_code still waits', () => {
    expect(viduHttpFailure(http(401, 'Unauthorized'), 'submit')).toMatchObject({ code: 'upstream_auth', fault: 'channel' });
    expect(viduHttpFailure(http(403, 'Forbidden'), 'task')).toMatchObject({ code: 'upstream_auth', fault: 'channel' });
    expect(viduTaskFailure('SystemThrottling').retryAfterMs).toBeGreaterThan(0);
    expect(viduHttpFailure(http(429, 'QuotaExceeded'), 'submit').retryAfterMs).toBe(1000);
  });

  it('not found means a lost task only when asked about a task; unknown codes fall back sensibly', () => {
    expect(classifyViduCode('TaskNotFound', '', 'submit')).toBeUndefined();
    expect(viduHttpFailure(http(404, 'SomethingElse'), 'task')).toMatchObject({ code: 'upstream_lost_job' });
    expect(viduHttpFailure(http(503, 'Overloaded'), 'submit')).toMatchObject({ code: 'upstream_unavailable', fault: 'transient' });
    expect(viduHttpFailure(http(400, 'SomethingNew'), 'submit')).toMatchObject({ code: 'upstream_rejected', fault: 'request' });
    expect(viduHttpFailure({ ok: false, status: null, body: undefined, detail: 'Vidu could not be reached.', transport: 'network' }, 'task')).toMatchObject({ fault: 'transient' });
    expect(viduTaskFailure('SomethingNew')).toMatchObject({ code: 'upstream_rejected', fault: 'request', message: expect.stringContaining('SomethingNew') });
    expect(viduTaskFailure('')).toMatchObject({ code: 'upstream_rejected', message: expect.stringContaining('without an err_code') });
    expect(viduTaskFailure('<script>'.repeat(3)).message).not.toContain('<script>');
  });
});

describe('fitting the body under 20 MB', () => {
  const noise = (w: number, h: number) => sharp(randomBytes(w * h * 3), { raw: { width: w, height: h, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer();
  const build = (uri: string) => ({ model: 'viduq2-pro', images: [uri], prompt: 'p' });

  it('sends the image untouched when it fits', async () => {
    const img = await noise(64, 36);
    const r = await fitBody(img, build, 1_000_000);
    expect(r.ok && JSON.parse(r.json).images[0]).toBe(`data:image/png;base64,${img.toString('base64')}`);
  });

  it('re-encodes (JPEG, then smaller) until the body fits the budget, keeping the shape', async () => {
    const img = await noise(1200, 675);
    for (const budget of [900_000, 150_000]) {
      const r = await fitBody(img, build, budget);
      if (!r.ok) throw new Error(r.reason);
      expect(r.bytes).toBeLessThanOrEqual(budget);
      expect(Buffer.byteLength(r.json)).toBe(r.bytes);
      const uri = JSON.parse(r.json).images[0] as string;
      expect(uri.startsWith('data:image/jpeg;base64,')).toBe(true);
      const meta = await sharp(Buffer.from(uri.split(',')[1]!, 'base64')).metadata();
      expect(meta.format).toBe('jpeg');
      expect(Math.abs(meta.width! / meta.height! - 1200 / 675)).toBeLessThan(0.01);
    }
  });

  it('says so, and sends nothing, when no re-encoding fits', async () => {
    const r = await fitBody(await noise(600, 400), build, 20_000);
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/600×400.*20 MB request limit/) });
  });
});
