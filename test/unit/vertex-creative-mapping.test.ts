// Last frame, reference images and extension → the Vertex Veo body, judged by
// the strict fake's checker (UPSTREAM.md §3, §1.1): every combination the
// rules allow is accepted, and what they forbid is refused with Vertex's words.
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/domain/catalog.ts';
import type { ExtendSource } from '../../src/providers/provider.ts';
import type { UpstreamJob } from '../../src/providers/upstream/upstream-provider.ts';
import { vertexInputProblem, vertexRequest } from '../../src/providers/vertex/request-mapping.ts';
import { checkBody, renderClip } from '../fakes/vertex.ts';
import { upstreamJob } from '../helpers/upstream-job.ts';

const catalog = loadCatalog();
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const JPEG = Buffer.from('ffd8ffe000104a464946', 'hex');
const WEBP = Buffer.from('524946460000000057454250', 'hex');
const b64 = (b: Buffer) => b.toString('base64');
const PUBLIC = catalog.models.find((m) => m.family === 'veo')!;
const GA = ['veo-3.1-generate-001', 'veo-3.1-fast-generate-001'];
const LITE = 'veo-3.1-lite-generate-001';

const job = (upstreamModel: string, over: Partial<UpstreamJob> & { resolution?: string } = {}): UpstreamJob =>
  upstreamJob(PUBLIC, upstreamModel, { images: [PNG], prompt: 'the same fox, now running', ...over });

const source = (video: Buffer, over: Partial<ExtendSource> = {}): ExtendSource => ({
  taskId: 'task_src', video, mimeType: 'video/mp4', duration: 1, width: 1280, height: 720, fps: 24, hasAudio: false, ...over,
});
const extension = (model: string, video = renderClip({ width: 1280, height: 720 }), over: Partial<UpstreamJob> = {}) =>
  job(model, { images: [], seconds: 7, extend: source(video), ...over });

describe('Vertex: last frame', () => {
  it('image + lastFrame on every live id, every duration/resolution the rules allow, both aspects', () => {
    let n = 0;
    for (const model of [...GA, LITE]) for (const aspectRatio of ['16:9', '9:16']) for (const [resolution, seconds] of [['720p', 4], ['720p', 6], ['720p', 8], ['1080p', 8], ['4k', 8]] as const) {
      if (model === LITE && resolution === '4k') continue;
      const body = vertexRequest(job(model, { images: [PNG, JPEG], aspectRatio, resolution, seconds }));
      expect(body.instances[0]).toEqual({
        prompt: 'the same fox, now running', image: { bytesBase64Encoded: b64(PNG), mimeType: 'image/png' }, lastFrame: { bytesBase64Encoded: b64(JPEG), mimeType: 'image/jpeg' },
      });
      expect([model, aspectRatio, resolution, seconds, checkBody(body, model)]).toEqual([model, aspectRatio, resolution, seconds, null]);
      n++;
    }
    expect(n).toBe(2 * 2 * 5 + 2 * 4);
  });
});

describe('Vertex: reference images', () => {
  it('referenceImages [{image:{bytesBase64Encoded,mimeType}, referenceType:"asset"}], no image, 8 s', () => {
    const body = vertexRequest(job('veo-3.1-generate-001', { images: [], referenceImages: [PNG, WEBP] }));
    expect(body.instances[0]).toEqual({
      prompt: 'the same fox, now running',
      referenceImages: [
        { image: { bytesBase64Encoded: b64(PNG), mimeType: 'image/png' }, referenceType: 'asset' },
        { image: { bytesBase64Encoded: b64(WEBP), mimeType: 'image/webp' }, referenceType: 'asset' },
      ],
    });
    expect(body.parameters).toMatchObject({ durationSeconds: 8, resolution: '720p', personGeneration: 'allow_adult' });
    expect(checkBody(body, 'veo-3.1-generate-001')).toBeNull();
  });

  it('a start frame goes first among the assets (Veo has no instance holding both), never as `image`', () => {
    const body = vertexRequest(job('veo-3.1-fast-generate-001', { images: [JPEG], referenceImages: [PNG, PNG] }));
    const inst = body.instances[0] as Record<string, unknown>;
    expect(inst).not.toHaveProperty('image');
    expect((inst.referenceImages as { image: { mimeType: string } }[]).map((r) => r.image.mimeType)).toEqual(['image/jpeg', 'image/png', 'image/png']);
    expect(checkBody(body, 'veo-3.1-fast-generate-001')).toBeNull();
  });

  it('every allowed combination: GA ids × 1–3 assets (with or without a start frame) × both aspects × 720p/1080p/4k at 8 s', () => {
    let n = 0;
    for (const model of GA) for (const aspectRatio of ['16:9', '9:16']) for (const resolution of ['720p', '1080p', '4k']) for (const count of [1, 2, 3]) for (const start of [false, true]) {
      // `count` assets in all; with a start frame, it is one of them (and at least one reference comes with it).
      if (start && count === 1) continue;
      const j = job(model, { images: start ? [PNG] : [], referenceImages: Array.from({ length: start ? count - 1 : count }, () => JPEG), aspectRatio, resolution });
      expect(vertexInputProblem(j)).toBeNull();
      expect([model, aspectRatio, resolution, count, start, checkBody(vertexRequest(j), model)]).toEqual([model, aspectRatio, resolution, count, start, null]);
      n++;
    }
    expect(n).toBe(2 * 2 * 3 * (3 + 2));
  });

  it('refused: on lite, at 4 or 6 s, more than 3 in all, or with a last frame', () => {
    expect(checkBody(vertexRequest(job(LITE, { images: [], referenceImages: [PNG] })), LITE)).toBe(`referenceImages is not supported by ${LITE}.`);
    expect(checkBody(vertexRequest(job(GA[0]!, { images: [], referenceImages: [PNG], seconds: 6 })), GA[0]!))
      .toBe('durationSeconds 6 is not supported with referenceImages; it requires durationSeconds 8.');
    expect(vertexInputProblem(job(GA[0]!, { images: [PNG], referenceImages: [PNG, PNG, PNG] }))).toBe('Veo 3.1 takes at most 3 reference images, the start frame counted as one (got 4)');
    expect(vertexInputProblem(job(GA[0]!, { images: [], referenceImages: [PNG, PNG, PNG, PNG] }))).toBe('Veo 3.1 takes at most 3 reference images (got 4)');
    expect(vertexInputProblem(job(GA[0]!, { images: [PNG, JPEG], referenceImages: [PNG] }))).toBe('Veo cannot combine a last frame with reference images');
  });
});

describe('Vertex: extension', () => {
  it('video {bytesBase64Encoded, mimeType: video/mp4} alone; durationSeconds 8 (Veo adds its own 7 s), 720p', () => {
    const clip = renderClip({ width: 1280, height: 720 });
    const body = vertexRequest(extension('veo-3.1-generate-001', clip));
    expect(body.instances[0]).toEqual({ prompt: 'the same fox, now running', video: { bytesBase64Encoded: b64(clip), mimeType: 'video/mp4' } });
    expect(body.parameters).toMatchObject({ durationSeconds: 8, resolution: '720p', aspectRatio: '16:9' });
    expect(checkBody(body, 'veo-3.1-generate-001')).toBeNull();
  });

  it('by gs:// URI when asked (the adapter asks only for its own bucket)', () => {
    const j = extension('veo-3.1-fast-generate-001', undefined, {});
    j.extend = { ...j.extend!, upstreamUri: 'gs://reelay-out/veo/1/sample_0.mp4' };
    expect(vertexRequest(j, { videoGcsUri: true }).instances[0]).toMatchObject({ video: { gcsUri: 'gs://reelay-out/veo/1/sample_0.mp4', mimeType: 'video/mp4' } });
    expect(vertexRequest(j).instances[0]).toMatchObject({ video: { mimeType: 'video/mp4', bytesBase64Encoded: expect.any(String) } });
    expect(checkBody(vertexRequest(j, { videoGcsUri: true }), 'veo-3.1-fast-generate-001', { readGcs: () => undefined }))
      .toBe('Unable to read the input video gs://reelay-out/veo/1/sample_0.mp4: the object does not exist or the service agent cannot read it.');
  });

  it('every input size §3 allows, both orientations, on both GA ids, from 1 s to 30 s', () => {
    for (const model of GA) for (const [width, height] of [[1280, 720], [720, 1280], [1920, 1080], [1080, 1920]] as const) {
      const body = vertexRequest(extension(model, renderClip({ width, height }), { aspectRatio: width > height ? '16:9' : '9:16' }));
      expect([model, width, height, checkBody(body, model)]).toEqual([model, width, height, null]);
    }
    expect(checkBody(vertexRequest(extension(GA[0]!, renderClip({ width: 1280, height: 720, seconds: 30, fps: 24 }))), GA[0]!)).toBeNull();
  });

  it('the fake refuses what §3 refuses: too long, not 24 fps, an unlisted size, not MP4, on lite', () => {
    const at = (clip: Buffer) => checkBody(vertexRequest(extension(GA[0]!, clip)), GA[0]!);
    expect(at(renderClip({ width: 1280, height: 720, seconds: 31 }))).toMatch(/^The input video must be 1 to 30 seconds long for extension \(got 31\.\d+ s\)\.$/);
    expect(at(renderClip({ width: 1280, height: 720, fps: 30 }))).toBe('The input video must be 24 fps for extension (got 30).');
    expect(at(renderClip({ width: 320, height: 180 }))).toBe('The input video must be 720p, 1080p or 4k in 16:9 or 9:16 for extension (got 320x180).');
    expect(at(Buffer.from('not a video at all'))).toBe('instances[0].video could not be decoded as an MP4 video.');
    const webm = vertexRequest(extension(GA[0]!));
    (webm.instances[0] as { video: { mimeType: string } }).video.mimeType = 'video/webm';
    expect(checkBody(webm, GA[0]!)).toBe('instances[0].video.mimeType must be video/mp4 (got "video/webm").');
    expect(checkBody(vertexRequest(extension(LITE)), LITE)).toBe(`video (extension input) is not supported by ${LITE}.`);
  });

  it('an extension takes the video alone; the adapter refuses frames or references with it before any call', () => {
    const e = extension(GA[0]!);
    expect(vertexInputProblem({ ...e, images: [PNG] })).toBe('a Veo extension continues the video alone: it takes no start frame, last frame or reference images');
    expect(vertexInputProblem({ ...e, referenceImages: [PNG] })).toBe('a Veo extension continues the video alone: it takes no start frame, last frame or reference images');
    // The fake refuses the same bodies, whatever sent them.
    const body = vertexRequest(e) as { instances: Record<string, unknown>[] };
    body.instances[0]!.image = { bytesBase64Encoded: b64(PNG), mimeType: 'image/png' };
    expect(checkBody(body, GA[0]!)).toBe('video (extension input) cannot be combined with image, lastFrame or referenceImages.');
  });
});

describe('the fake refuses what no Veo mode takes', () => {
  it('a start frame with references (stricter [U] reading), a last frame without a first', () => {
    const refs = vertexRequest(job(GA[0]!, { images: [], referenceImages: [PNG] })) as { instances: Record<string, unknown>[] };
    refs.instances[0]!.image = { bytesBase64Encoded: b64(PNG), mimeType: 'image/png' };
    expect(checkBody(refs, GA[0]!)).toBe('image and referenceImages cannot be both set.');
    const last = vertexRequest(job(GA[0]!, { images: [PNG, JPEG] })) as { instances: Record<string, unknown>[] };
    delete last.instances[0]!.image;
    expect(checkBody(last, GA[0]!)).toBe('lastFrame requires image (the first frame).');
  });
});
