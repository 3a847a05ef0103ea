// Last frame, reference images and extension through the Gemini API adapter,
// over real loopback HTTP against the strict fake (UPSTREAM.md §1.1, §1.3):
// Veo's instance fields and Omni's parts + task, the exact request the fake
// received, and extension chains that reuse an earlier output's Files URI.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/domain/catalog.ts';
import { geminiAdapter } from '../../src/providers/gemini/gemini-adapter.ts';
import { LABELS } from '../../src/providers/gemini/omni-input.ts';
import type { ExtendSource } from '../../src/providers/provider.ts';
import type { PollOutcome, UpstreamAdapter, UpstreamJob } from '../../src/providers/upstream/upstream-provider.ts';
import { OMNI, startGeminiFake, type GeminiFake } from '../fakes/gemini.ts';
import { renderClip } from '../fakes/vertex.ts';
import { makeImage } from '../helpers/images.ts';

const KEY = 'AIza-creative-test-key-0123456789';
const VEO = 'veo-3.1-generate-001';
const catalog = loadCatalog();
const never = new AbortController().signal;
const b64 = (b: Buffer) => b.toString('base64');

let fake: GeminiFake;
let gemini: UpstreamAdapter;
let first: Buffer;
let last: Buffer;
let subject: Buffer;

beforeAll(async () => {
  fake = await startGeminiFake(KEY, { liveVeo: [VEO, 'veo-3.1-fast-generate-001'] });
  gemini = geminiAdapter({ apiKey: KEY, baseUrl: fake.baseUrl, requestTimeoutMs: 5000, download: { maxBytes: 50 * 1024 * 1024, timeoutMs: 10_000 }, policy: { allowPrivate: true } });
  [first, last, subject] = await Promise.all([makeImage(1280, 720), makeImage(1280, 720, 'jpeg'), makeImage(600, 800, 'webp')]);
});
afterAll(async () => {
  await fake?.close();
});
beforeEach(() => {
  Object.assign(fake, { outcome: 'ok', pollsUntilDone: 1 });
  fake.interactions.outcome = 'ok';
});

const job = (over: Partial<UpstreamJob> = {}): UpstreamJob => ({
  taskId: 'task_g', model: catalog.find('veo-3.1-generate-001')!, upstreamModel: VEO, prompt: 'the fox runs to the river', negativePrompt: null,
  aspectRatio: '16:9', seconds: 8, width: 1280, height: 720, fps: 24, seed: 7, generateAudio: true, images: [first], options: {}, ...over,
});
const omni = (over: Partial<UpstreamJob> = {}) => job({ upstreamModel: OMNI, seconds: 6, ...over });
const source = (over: Partial<ExtendSource> = {}): ExtendSource => ({
  taskId: 'task_src', video: renderClip({ width: 1280, height: 720, seconds: 2 }), mimeType: 'video/mp4', duration: 2, width: 1280, height: 720, fps: 24, hasAudio: true, ...over,
});

/** Submits and polls to the end; returns the outcome, the result URL and the create bodies the fake received. */
async function run(j: UpstreamJob) {
  const before = fake.requests.length;
  const r = await gemini.submit(j, never);
  const creates = fake.requests.slice(before).filter((x) => x.method === 'POST' && /:predictLongRunning$|\/interactions$/.test(x.path)).map((x) => x.body as Record<string, unknown>);
  if (!r.ok) return { r, creates, done: null as PollOutcome | null, url: '' };
  let p = await gemini.poll(r.id, never);
  for (let i = 0; p.state === 'running' && i < 5; i++) p = await gemini.poll(r.id, never);
  return { r, creates, done: p, url: p.state === 'done' && p.video.kind === 'url' ? p.video.url : '' };
}
const fileId = (url: string) => /\/files\/([a-z0-9]+)/.exec(url)![1]!;

describe('Gemini API Veo (predictLongRunning)', () => {
  it('last frame and references: the exact instances the fake received', async () => {
    const frames = await run(job({ images: [first, last], seconds: 6 }));
    expect(frames.creates).toEqual([{
      instances: [{ prompt: 'the fox runs to the river', image: { bytesBase64Encoded: b64(first), mimeType: 'image/png' }, lastFrame: { bytesBase64Encoded: b64(last), mimeType: 'image/jpeg' } }],
      parameters: { aspectRatio: '16:9', durationSeconds: 6, resolution: '720p', personGeneration: 'allow_adult', sampleCount: 1 },
    }]);
    expect(frames.done?.state).toBe('done');
    const refs = await run(job({ upstreamModel: 'veo-3.1-fast-generate-001', images: [], referenceImages: [subject, first] }));
    expect(refs.creates).toEqual([{
      instances: [{
        prompt: 'the fox runs to the river',
        referenceImages: [
          { image: { bytesBase64Encoded: b64(subject), mimeType: 'image/webp' }, referenceType: 'asset' },
          { image: { bytesBase64Encoded: b64(first), mimeType: 'image/png' }, referenceType: 'asset' },
        ],
      }],
      parameters: { aspectRatio: '16:9', durationSeconds: 8, resolution: '720p', personGeneration: 'allow_adult', sampleCount: 1 },
    }]);
    expect(refs.done?.state).toBe('done');
  });

  it('extension chain: an earlier output\'s Files URI is sent as video.uri, 8 s at 720p', async () => {
    const earlier = await run(job());
    expect(earlier.url).toContain(`${fake.baseUrl}/v1beta/files/`);
    const ext = await run(job({ images: [], seconds: 7, extend: source({ upstreamUri: earlier.url }) }));
    expect(ext.creates).toEqual([{
      instances: [{ prompt: 'the fox runs to the river', video: { uri: earlier.url } }],
      parameters: { aspectRatio: '16:9', durationSeconds: 8, resolution: '720p', sampleCount: 1 },
    }]);
    expect(ext.done?.state).toBe('done');
  });

  it('an expired file (2 days): refused with 404, then sent once more as encodedVideo', async () => {
    const earlier = await run(job());
    fake.files.delete(fileId(earlier.url));
    const src = source({ upstreamUri: earlier.url });
    const ext = await run(job({ images: [], seconds: 7, extend: src }));
    expect(ext.r.ok).toBe(true);
    expect(ext.creates.map((c) => (c.instances as { video: unknown }[])[0]!.video)).toEqual([{ uri: earlier.url }, { encodedVideo: b64(src.video), encoding: 'video/mp4' }]);
  });

  it('a source with no URI of this API goes as encodedVideo at once', async () => {
    const src = source({ upstreamUri: 'gs://elsewhere/veo/1/sample_0.mp4' });
    const ext = await run(job({ images: [], seconds: 7, extend: src }));
    expect(ext.creates.map((c) => (c.instances as { video: unknown }[])[0]!.video)).toEqual([{ encodedVideo: b64(src.video), encoding: 'video/mp4' }]);
    expect(ext.done?.state).toBe('done');
  });
});

describe('Omni (Interactions)', () => {
  it('first + last: two named image parts, task image_to_video', async () => {
    const { creates, done } = await run(omni({ images: [first, last] }));
    expect(creates[0]!.input).toEqual([
      { type: 'text', text: LABELS.first }, { type: 'image', mime_type: 'image/png', data: b64(first) },
      { type: 'text', text: LABELS.last }, { type: 'image', mime_type: 'image/jpeg', data: b64(last) },
      { type: 'text', text: 'the fox runs to the river' },
    ]);
    expect(creates[0]!.generation_config).toEqual({ video_config: { task: 'image_to_video' }, seed: 7 });
    expect(done?.state).toBe('done');
  });

  it('references: task reference_to_video, the start frame then the references', async () => {
    const { creates, done } = await run(omni({ images: [first], referenceImages: [subject] }));
    expect(creates[0]!.input).toEqual([
      { type: 'text', text: LABELS.first }, { type: 'image', mime_type: 'image/png', data: b64(first) },
      { type: 'text', text: LABELS.references }, { type: 'image', mime_type: 'image/webp', data: b64(subject) },
      { type: 'text', text: 'the fox runs to the river' },
    ]);
    expect(creates[0]!.generation_config).toMatchObject({ video_config: { task: 'reference_to_video' } });
    expect(done?.state).toBe('done');
  });

  it('extend: an earlier interaction\'s output by uri (task extend, duration = what it adds); expired → data', async () => {
    const earlier = await run(omni());
    const ext = await run(omni({ images: [], seconds: 5, extend: source({ upstreamUri: earlier.url }) }));
    expect(ext.creates.map((c) => [c.input, c.generation_config, (c.response_format as { duration: string }).duration])).toEqual([[
      [{ type: 'video', mime_type: 'video/mp4', uri: earlier.url }, { type: 'text', text: 'the fox runs to the river' }], { video_config: { task: 'extend' }, seed: 7 }, '5s',
    ]]);
    expect(ext.done?.state).toBe('done');
    fake.files.delete(fileId(earlier.url));
    const src = source({ upstreamUri: earlier.url });
    const again = await run(omni({ images: [], seconds: 5, extend: src }));
    expect(again.r.ok).toBe(true);
    expect(again.creates.map((c) => (c.input as unknown[])[0])).toEqual([
      { type: 'video', mime_type: 'video/mp4', uri: earlier.url }, { type: 'video', mime_type: 'video/mp4', data: b64(src.video) },
    ]);
  });
});

describe('refused before any call', () => {
  it('a last frame with references, frames with an extension, on either surface', async () => {
    const before = fake.requests.length;
    for (const j of [job({ images: [first, last], referenceImages: [subject] }), job({ seconds: 7, extend: source() }), omni({ images: [first, last], referenceImages: [subject] }), omni({ extend: source() })]) {
      expect(await gemini.submit(j, never)).toMatchObject({ ok: false, failure: { code: 'upstream_rejected', fault: 'request', message: expect.stringMatching(/^Gemini API: .+\.$/) } });
    }
    expect(fake.requests.length).toBe(before);
  });
});
