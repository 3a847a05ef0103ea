/**
 * Issue #10, part 2: property-based fuzzing of the submit schema over HTTP.
 * Bodies are built from the real field names with values of random types
 * (plausible ones often enough that many submits succeed) plus random extra
 * keys, sent as JSON or multipart to an API-only server (nothing renders).
 * Every answer is a 200 or a §10 4xx; every 200 obeys the catalog; and the
 * tasks and the ledger agree with the answers afterwards. No fixed seed: each
 * run explores new cases (fast-check prints the seed of a failure to replay it).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage } from '../helpers/images.ts';
import { startServer, type TaskJson, type TestServer } from '../helpers/server.ts';
import { countTasks, encodeForm, expectErrorEnvelope, keyIdOf } from '../helpers/hostile.ts';
import { loadCatalog } from '../../src/domain/catalog.ts';
import { priceTask } from '../../src/domain/pricing.ts';

const S = '/v1/video/generations';
const catalog = loadCatalog();
const RUNS = 300;

const img = { png: '', jpeg: '', webp: '', gif: '', pngBytes: Buffer.alloc(0) as Buffer };

// ---------------------------------------------------------------------------
// Arbitraries

/** Any JSON value, including the awkward ones (lone surrogates, huge numbers, deep nesting). */
const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, '', ' ', '\u0000', '\ud800', '🎬', -0, 1e21, -1, 2 ** 53, 0.5, [], {}, [[[]]], { a: { b: {} } }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

const imageItem = fc.constantFrom(
  () => img.png, () => img.jpeg, () => img.webp, () => img.pngBytes.toString('base64'), () => img.gif,
  () => 'https://images.test/a.png', () => 'http://images.test/a.png', () => 'not an image', () => '',
).map((f) => f());
const validImage = fc.constantFrom(() => img.png, () => img.jpeg, () => img.pngBytes.toString('base64')).map((f) => f());

/** A body that follows every rule of the catalog for a random model (mutations below then break it, or not). */
const validBody = fc.constantFrom(...catalog.models).chain((m) => {
  const portrait = fc.constantFrom(...m.aspect_ratios);
  return portrait.chain((aspect) => fc.record({
    model: fc.constant(m.id),
    prompt: fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }).filter((p) => p.trim().length > 0), fc.constant('a slow push in')),
    aspect_ratio: fc.constant(aspect),
    images: fc.array(validImage, { minLength: 1, maxLength: m.last_frame ? 2 : 1 }),
    seconds: fc.option(m.seconds_with_images !== null ? fc.constantFrom(m.seconds_with_images, String(m.seconds_with_images))
      : fc.oneof(fc.constantFrom(...m.seconds), fc.constantFrom(...m.seconds).map(String)), { nil: undefined }),
    size: fc.option(fc.constantFrom(...m.sizes.flatMap((r) => { const d = catalog.dimensions(r, aspect); return [r, r.toUpperCase(), `${d.width}x${d.height}`]; })), { nil: undefined }),
    negative_prompt: fc.option(fc.string({ unit: 'binary', maxLength: 40 }), { nil: undefined }),
    seed: fc.option(fc.integer({ min: 0, max: 4294967295 }), { nil: undefined }),
    generate_audio: fc.option(m.audio ? fc.boolean() : fc.constant(false), { nil: undefined }),
    off_peak: fc.option(fc.boolean(), { nil: undefined }),
    is_rec: fc.option(fc.boolean(), { nil: undefined }),
    callback_url: fc.option(fc.constant('https://93.184.215.14/hook'), { nil: undefined }),
  }, { requiredKeys: [] }).map((b) => ({ model: m.id, prompt: 'a slow push in', aspect_ratio: aspect, images: [img.png], ...b })));
});

/** Per field: values that are plausible but often wrong for the model, or missing. */
const OMIT = Symbol('omit');
const plausible: Record<string, fc.Arbitrary<unknown>> = {
  model: fc.constantFrom(...catalog.ids(), ' veo-2.0-generate-001 ', 'veo-9', 'VEO-2.0-GENERATE-001', ''),
  prompt: fc.constantFrom('   ', '🎬'.repeat(5000), 'x'.repeat(5001), '\ud800 lone', 'e\u0301\u0301', '\u202eevil', '\u0000'),
  aspect_ratio: fc.constantFrom('16:9', '9:16', '1:1', '16:9 ', '4:3', '９:１６'),
  images: fc.array(imageItem, { minLength: 0, maxLength: 3 }),
  seconds: fc.oneof(fc.integer({ min: -2, max: 12 }), fc.constantFrom('4', '6', '8', ' 8 ', '08', '8.0', 'abc', 4.5)),
  duration: fc.oneof(fc.integer({ min: 3, max: 9 }), fc.constantFrom('6', '8', 'x')),
  size: fc.constantFrom('720p', '1080p', '4k', '1280x720', '720x1280', '1920x1080', '1080x1920', '3840x2160', '2160x3840', '540p', '8k', '999x999'),
  negative_prompt: fc.constant('n'.repeat(5001)),
  seed: fc.constantFrom(4294967296, -1, 1.5, 2 ** 53),
  generate_audio: fc.boolean(),
  off_peak: fc.boolean(),
  is_rec: fc.boolean(),
  callback_url: fc.constantFrom('https://hooks.test/x', 'http://93.184.215.14/x', 'ftp://x/y', 'not a url', 'https://10.0.0.1/x'),
  audio: fc.boolean(),
  audio_type: fc.constantFrom('all', 'speech_only', 'nope'),
  voice_id: fc.string({ maxLength: 8 }),
};
const mutation = fc.constantFrom(...Object.keys(plausible)).chain((name) => fc.record({
  name: fc.constant(name),
  value: fc.oneof({ weight: 2, arbitrary: fc.constant<unknown>(OMIT) }, { weight: 3, arbitrary: plausible[name]! }, { weight: 3, arbitrary: anyJson }),
}));

const submitBody = fc.record({
  base: validBody,
  // About a third of the bodies stay valid; the rest get 1–3 fields replaced by random values of random types.
  mutations: fc.oneof({ weight: 2, arbitrary: fc.constant([]) }, { weight: 3, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }) }),
  // Random extra keys (unknown fields are ignored), including a few prototype-ish names.
  extra: fc.dictionary(fc.oneof({ weight: 8, arbitrary: fc.string({ maxLength: 12 }) }, { weight: 1, arbitrary: fc.constantFrom('n_frames', 'model_id', 'constructor', 'toString') }), anyJson, { maxKeys: 3 }),
  multipart: fc.boolean(),
  filesForImages: fc.boolean(),
}).map(({ base, mutations, extra, multipart, filesForImages }) => {
  const body: Record<string, unknown> = { ...extra };
  for (const [name, v] of Object.entries(base)) if (v !== undefined) body[name] = v;
  for (const m of mutations) {
    if (m.value === OMIT) delete body[m.name];
    else body[m.name] = m.value;
  }
  return { body, multipart, filesForImages };
});

// ---------------------------------------------------------------------------
// Encoding and checks

async function post(s: TestServer, c: { body: Record<string, unknown>; multipart: boolean; filesForImages: boolean }): Promise<Response> {
  if (!c.multipart) return s.api(S, { method: 'POST', json: c.body });
  // Multipart: every field a text part (non-strings as their JSON), inline images possibly as file parts.
  const fd = new FormData();
  const files: Buffer[] = [];
  for (const [name, v] of Object.entries(c.body)) {
    if (name === 'images' && Array.isArray(v)) {
      for (const item of v) {
        const m = typeof item === 'string' ? /^data:image\/[a-z]+;base64,(.*)$/s.exec(item) : null;
        if (c.filesForImages && m) files.push(Buffer.from(m[1]!, 'base64'));
        else fd.append('images', typeof item === 'string' ? item : JSON.stringify(item));
      }
      continue;
    }
    fd.append(name, typeof v === 'string' ? v : JSON.stringify(v) ?? '');
  }
  for (const f of files) fd.append('images', new Blob([new Uint8Array(f)], { type: 'application/octet-stream' }), 'upload.bin');
  const { body, contentType } = await encodeForm(fd);
  return s.api(S, { method: 'POST', body: new Uint8Array(body), headers: { 'content-type': contentType } });
}

const codePoints = (x: string) => [...x].length;

/** A 200's task must be something the catalog allows, priced by the catalog. */
function expectObeysCatalog(t: TaskJson) {
  expect(t.id).toMatch(/^task_[0-9A-Za-z]{32}$/);
  expect(t).toMatchObject({ task_id: t.id, object: 'video', status: 'queued', progress: 0, format: 'mp4', url: null, error: null });
  const model = catalog.find(t.model as string);
  expect(model, `model ${String(t.model)}`).toBeDefined();
  if (!model) return;
  expect(model.aspect_ratios).toContain(t.aspect_ratio);
  const seconds = Number(t.seconds);
  expect(String(seconds)).toBe(t.seconds);
  if (model.seconds_with_images !== null) expect(seconds).toBe(model.seconds_with_images);
  else expect(model.seconds).toContain(seconds);
  const size = t.size as string;
  const px = /^(\d+)x(\d+)$/.exec(size);
  const resolution = px ? catalog.resolutionForPixels(Number(px[1]), Number(px[2])) : size;
  expect(resolution, `size ${size}`).toBeDefined();
  expect(model.sizes).toContain(resolution);
  if (px) {
    const d = catalog.dimensions(resolution!, t.aspect_ratio as string);
    expect(`${d.width}x${d.height}`).toBe(size);
  }
  if (!model.audio) expect(t.generate_audio).toBe(false);
  const prompt = t.prompt as string;
  expect(codePoints(prompt)).toBeGreaterThanOrEqual(1);
  expect(codePoints(prompt)).toBeLessThanOrEqual(5000);
  expect(prompt.trim().length).toBeGreaterThan(0);
  if (t.negative_prompt !== null) expect(codePoints(t.negative_prompt as string)).toBeLessThanOrEqual(5000);
  if (t.seed !== null) {
    expect(Number.isInteger(t.seed)).toBe(true);
    expect(t.seed as number).toBeGreaterThanOrEqual(0);
    expect(t.seed as number).toBeLessThanOrEqual(4294967295);
  }
  const credits = t.credits as { reserved: number; charged: number; refunded: number };
  const price = priceTask(model, catalog.pricing, {
    seconds, resolution: resolution!, audio: t.generate_audio as boolean, isRec: t.is_rec as boolean, offPeak: t.off_peak as boolean,
  }).credits;
  expect(credits).toEqual({ reserved: price, charged: 0, refunded: 0 });
}

async function allTasks(s: TestServer): Promise<TaskJson[]> {
  const out: TaskJson[] = [];
  for (let after = ''; ;) {
    const page = await (await s.api(`${S}?limit=100${after ? `&after=${after}` : ''}`)).json() as { data: TaskJson[]; has_more: boolean; last_id: string };
    out.push(...page.data);
    if (!page.has_more) return out;
    after = page.last_id;
  }
}

describe('hardening fuzz: random submit bodies over HTTP', () => {
  let s: TestServer;
  const accepted: TaskJson[] = [];
  const statuses = new Map<number, number>();
  const codes = new Map<string, number>();

  beforeAll(async () => {
    const png = await makeImage(64, 36, 'png');
    img.pngBytes = png;
    img.png = `data:image/png;base64,${png.toString('base64')}`;
    img.jpeg = `data:image/png;base64,${(await makeImage(64, 36, 'jpeg')).toString('base64')}`; // lying MIME on purpose
    img.webp = `data:image/webp;base64,${(await makeImage(36, 64, 'webp')).toString('base64')}`;
    img.gif = 'data:image/gif;base64,R0lGODlhAQABAIAAAP///wAAACwAAAAAAQABAAACAkQBADs=';
    s = await startServer({ REELAY_ROLE: 'api', REELAY_ALLOW_PRIVATE_URLS: '0', REELAY_IMAGE_FETCH_TIMEOUT_MS: '500' }, {
      // No real DNS or network: every name is private, so image and callback URLs by name are refused at once.
      lookup: async () => [{ address: '10.0.0.1', family: 4 }],
    });
  });
  afterAll(async () => { await s?.close(); });

  it(`answers ${RUNS} random submits with 200 or a §10 4xx, never a 5xx`, async () => {
    await fc.assert(fc.asyncProperty(submitBody, async (c) => {
      const res = await post(s, c);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status === 200) {
        const t = await res.json() as TaskJson;
        expectObeysCatalog(t);
        accepted.push(t);
      } else {
        const e = await expectErrorEnvelope(res, { label: JSON.stringify(c).slice(0, 500) });
        codes.set(e.error.code, (codes.get(e.error.code) ?? 0) + 1);
      }
    }), { numRuns: RUNS });
    // The generator is meant to reach both sides; if it stops doing so it tests nothing.
    console.info(`fuzz: ${JSON.stringify(Object.fromEntries(statuses))} by code ${JSON.stringify(Object.fromEntries(codes))}`);
    expect(accepted.length, JSON.stringify([...statuses, ...codes])).toBeGreaterThan(RUNS * 0.05);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(RUNS * 0.2);
  }, 60_000);

  it('created exactly one task per 200, and the ledger agrees with the balance', async () => {
    expect(await countTasks(s)).toBe(accepted.length);
    expect((await allTasks(s)).map((t) => t.id).sort()).toEqual(accepted.map((t) => t.id).sort());
    const keyId = await keyIdOf(s, s.key);
    const credits = await (await s.api('/v1/credits')).json() as { balance: number };
    expect(credits.balance).toBe(await s.app.store.ledger.sumOfEntries(keyId));
    const reserved = accepted.reduce((sum, t) => sum + (t.credits as { reserved: number }).reserved, 0);
    expect(credits.balance).toBe(10_000_000 - reserved);
  });
});
