// Our job → the Vertex body, judged by the strict fake's checker (built from
// UPSTREAM.md §3, not from the adapter), and the host rule of §3.
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/domain/catalog.ts';
import type { UpstreamJob } from '../../src/providers/upstream/upstream-provider.ts';
import { vertexBaseUrl } from '../../src/providers/vertex/endpoint.ts';
import { publisherModelPath, vertexModelPath, vertexRequest } from '../../src/providers/vertex/request-mapping.ts';
import { checkBody, renderClip } from '../fakes/vertex.ts';
import { upstreamJob } from '../helpers/upstream-job.ts';

const catalog = loadCatalog();
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const JPEG = Buffer.from('ffd8ffe000104a464946', 'hex');
const b64 = (b: Buffer) => b.toString('base64');
// Any public model: the body must depend on upstreamModel only.
const PUBLIC = catalog.models.find((m) => m.family === 'veo')!;

const job = (upstreamModel: string, over: Partial<UpstreamJob> & { resolution?: string } = {}): UpstreamJob =>
  upstreamJob(PUBLIC, upstreamModel, { images: [PNG], ...over });

/** The rules of UPSTREAM.md §3 (+ §1.1's "8 s for 1080p/4k"), written out here rather than read from the fake. */
const RESOLUTIONS: Record<string, string[]> = {
  'veo-3.1-generate-001': ['720p', '1080p', '4k'],
  'veo-3.1-fast-generate-001': ['720p', '1080p', '4k'],
  'veo-3.1-lite-generate-001': ['720p', '1080p'],
};
const grid = Object.keys(RESOLUTIONS).flatMap((m) => [4, 6, 8].flatMap((d) => ['720p', '1080p', '4k'].flatMap((r) => ['16:9', '9:16'].map((ar) => [m, d, r, ar] as const))));

describe('Vertex request mapping', () => {
  it('sends image and last frame as {bytesBase64Encoded, mimeType} and every parameter Vertex takes', () => {
    const body = vertexRequest(job('veo-3.1-generate-001', { images: [PNG, JPEG], seconds: 6, seed: 4294967295, generateAudio: false, negativePrompt: 'text overlays' }));
    expect(body).toEqual({
      instances: [{ prompt: 'a kite', image: { bytesBase64Encoded: b64(PNG), mimeType: 'image/png' }, lastFrame: { bytesBase64Encoded: b64(JPEG), mimeType: 'image/jpeg' } }],
      parameters: {
        aspectRatio: '16:9', durationSeconds: 6, sampleCount: 1, seed: 4294967295, personGeneration: 'allow_adult',
        resolution: '720p', generateAudio: false, negativePrompt: 'text overlays',
      },
    });
    expect(checkBody(body, 'veo-3.1-generate-001')).toBeNull();
    expect(Number.isInteger(body.parameters.durationSeconds)).toBe(true);
  });

  it('text-to-video has no image; negativePrompt and storageUri only when set', () => {
    const t2v = vertexRequest(job('veo-3.1-fast-generate-001', { images: [] }));
    expect(t2v.instances).toEqual([{ prompt: 'a kite' }]);
    expect(t2v.parameters).not.toHaveProperty('negativePrompt');
    expect(t2v.parameters).not.toHaveProperty('storageUri');
    expect(vertexRequest(job('veo-3.1-fast-generate-001'), { storageUri: undefined }).parameters).not.toHaveProperty('storageUri');
    expect(checkBody(t2v, 'veo-3.1-fast-generate-001')).toBeNull();
    const stored = vertexRequest(job('veo-3.1-fast-generate-001'), { storageUri: 'gs://reelay-out/veo/' });
    expect(stored.parameters.storageUri).toBe('gs://reelay-out/veo/');
    expect(checkBody(stored, 'veo-3.1-fast-generate-001')).toBeNull();
  });

  it('the model-dependent parts follow the upstream id, not the public model', () => {
    const veo2Public = catalog.find('veo-2.0-generate-001') ?? PUBLIC;
    const body = vertexRequest({ ...job('veo-3.1-generate-001'), model: veo2Public });
    expect(body.parameters).toMatchObject({ resolution: '720p', generateAudio: true });
    // Only an explicit veo-2 upstream id gets Veo 2's body (no resolution, no audio); Vertex itself 404s it.
    const veo2 = vertexRequest(job('veo-2.0-generate-001'));
    expect(veo2.parameters).not.toHaveProperty('resolution');
    expect(veo2.parameters).not.toHaveProperty('generateAudio');
    expect(checkBody(veo2, 'veo-2.0-generate-001')).toContain('was not found or your project does not have access to it');
  });

  it('paths carry the upstream id, percent-encoded', () => {
    expect(vertexModelPath('p1', 'us-central1', 'veo-3.1-generate-001')).toBe('/v1/projects/p1/locations/us-central1/publishers/google/models/veo-3.1-generate-001');
    expect(vertexModelPath('p/1', 'x', 'a:b')).toBe('/v1/projects/p%2F1/locations/x/publishers/google/models/a%3Ab');
    expect(publisherModelPath('veo-3.1-lite-generate-001')).toBe('/v1/publishers/google/models/veo-3.1-lite-generate-001');
  });

  it.each(grid)('%s, %i s, %s, %s: accepted exactly when the rules allow it', (model, seconds, resolution, aspectRatio) => {
    const body = vertexRequest(job(model, { seconds, resolution, aspectRatio, images: [PNG, JPEG] }));
    expect(body.parameters).toMatchObject({ durationSeconds: seconds, resolution, aspectRatio });
    const problem = checkBody(body, model);
    if (!RESOLUTIONS[model]!.includes(resolution)) expect(problem).toBe(`resolution "${resolution}" is not supported by ${model}; supported: ${RESOLUTIONS[model]!.join(', ')}.`);
    else if (resolution !== '720p' && seconds !== 8) expect(problem).toBe(`durationSeconds ${seconds} is not supported with resolution ${resolution}; it requires durationSeconds 8.`);
    else expect(problem).toBeNull();
  });
});

describe('the fake refuses what Vertex refuses', () => {
  const base = () => vertexRequest(job('veo-3.1-generate-001')) as { instances: Record<string, unknown>[]; parameters: Record<string, unknown> };
  const withParams = (p: Record<string, unknown>) => { const b = base(); Object.assign(b.parameters, p); return b; };
  const withInstance = (i: Record<string, unknown>) => { const b = base(); Object.assign(b.instances[0]!, i); return b; };
  const ref = { image: { bytesBase64Encoded: b64(PNG), mimeType: 'image/png' }, referenceType: 'asset' };

  it.each(['veo-2.0-generate-001', 'veo-3.0-generate-001', 'veo-3.0-fast-generate-001', 'veo-3.1-generate-preview', 'veo-3.1-fast-generate-preview', 'veo-3.1-lite-generate-preview'])(
    'retired %s → not found', (id) => {
      expect(checkBody(base(), id)).toBe(`Publisher Model \`publishers/google/models/${id}\` was not found or your project does not have access to it. Please ensure you are using a valid model version. For more information, see: https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions`);
    });

  it('lite: no references, no extension input, no 4k, each refused naming the field', () => {
    const lite = (b: unknown) => checkBody(b, 'veo-3.1-lite-generate-001');
    expect(lite(withInstance({ referenceImages: [ref] }))).toBe('referenceImages is not supported by veo-3.1-lite-generate-001.');
    expect(lite(withInstance({ video: { bytesBase64Encoded: 'AAAA', mimeType: 'video/mp4' } }))).toBe('video (extension input) is not supported by veo-3.1-lite-generate-001.');
    expect(lite(withParams({ resolution: '4k' }))).toContain('resolution "4k" is not supported by veo-3.1-lite-generate-001');
  });

  it('references and extension need 8 s on the GA ids; up to 3 asset references', () => {
    const refsOnly = (refs: unknown[]) => { const b = base(); delete b.instances[0]!.image; b.instances[0]!.referenceImages = refs; return b; };
    expect(checkBody(refsOnly([ref, ref, ref]), 'veo-3.1-generate-001')).toBeNull();
    expect(checkBody(refsOnly([ref]), 'veo-3.1-fast-generate-001')).toBeNull();
    const short = refsOnly([ref]);
    short.parameters.durationSeconds = 6;
    expect(checkBody(short, 'veo-3.1-generate-001')).toBe('durationSeconds 6 is not supported with referenceImages; it requires durationSeconds 8.');
    expect(checkBody(refsOnly([ref, ref, ref, ref]), 'veo-3.1-generate-001')).toBe('instances[0].referenceImages takes 1 to 3 images.');
    expect(checkBody(refsOnly([{ ...ref, referenceType: 'style' }]), 'veo-3.1-generate-001')).toContain('referenceType "style" is not supported');
    const ext = base();
    delete ext.instances[0]!.image;
    ext.instances[0]!.video = { bytesBase64Encoded: b64(renderClip({ width: 1280, height: 720 })), mimeType: 'video/mp4' };
    expect(checkBody(ext, 'veo-3.1-generate-001')).toBeNull();
    ext.parameters.durationSeconds = 4;
    expect(checkBody(ext, 'veo-3.1-generate-001')).toBe('durationSeconds 4 is not supported with video extension; it requires durationSeconds 8.');
  });

  it.each([
    [{ durationSeconds: '8' }, 'durationSeconds must be an integer 4, 6 or 8 (got "8").'],
    [{ durationSeconds: 5 }, 'durationSeconds must be an integer 4, 6 or 8 (got 5).'],
    [{ durationSeconds: 8.5 }, 'durationSeconds must be an integer 4, 6 or 8 (got 8.5).'],
    [{ sampleCount: 0 }, 'sampleCount must be an integer from 1 to 4.'],
    [{ sampleCount: 5 }, 'sampleCount must be an integer from 1 to 4.'],
    [{ seed: -1 }, 'seed must be an unsigned 32-bit integer.'],
    [{ seed: 4294967296 }, 'seed must be an unsigned 32-bit integer.'],
    [{ aspectRatio: '1:1' }, 'aspectRatio "1:1" is not supported; use 16:9 or 9:16.'],
    [{ resolution: '2k' }, 'resolution "2k" is not supported by veo-3.1-generate-001; supported: 720p, 1080p, 4k.'],
    [{ personGeneration: 'allow_all' }, 'allow_all for personGeneration is currently not supported for this project.'],
    [{ generateAudio: 'yes' }, 'generateAudio must be a boolean.'],
    [{ storageUri: 's3://bucket/x' }, 'storageUri must be a gs://bucket/prefix URI.'],
    [{ numberOfVideos: 1 }, 'Invalid JSON payload received. Unknown name "numberOfVideos" at \'parameters\': Cannot find field.'],
  ])('parameters %j → %s', (p, message) => {
    expect(checkBody(withParams(p), 'veo-3.1-generate-001')).toBe(message);
  });

  it('accepts the documented ranges: 4 samples, seed 0, 9:16, allow_all when allowlisted', () => {
    expect(checkBody(withParams({ sampleCount: 4, seed: 0, aspectRatio: '9:16' }), 'veo-3.1-generate-001')).toBeNull();
    expect(checkBody(withParams({ personGeneration: 'allow_all' }), 'veo-3.1-generate-001', { allowAll: true })).toBeNull();
  });

  it('image objects: inlineData, two sources or no mimeType are refused; gcsUri is accepted', () => {
    expect(checkBody(withInstance({ image: { inlineData: { data: b64(PNG), mimeType: 'image/png' } } }), 'veo-3.1-generate-001')).toBe('`inlineData` isn\'t supported by this model.');
    expect(checkBody(withInstance({ image: { bytesBase64Encoded: b64(PNG), gcsUri: 'gs://b/x.png', mimeType: 'image/png' } }), 'veo-3.1-generate-001')).toContain('exactly one of');
    expect(checkBody(withInstance({ lastFrame: { bytesBase64Encoded: b64(PNG) } }), 'veo-3.1-generate-001')).toBe('instances[0].lastFrame.mimeType is required.');
    expect(checkBody(withInstance({ image: { gcsUri: 'gs://bucket/in.png', mimeType: 'image/png' } }), 'veo-3.1-generate-001')).toBeNull();
  });

  it('text-to-video needs a prompt; unknown instance and top-level fields are refused', () => {
    const b = base();
    delete b.instances[0]!.prompt;
    delete b.instances[0]!.image;
    expect(checkBody(b, 'veo-3.1-generate-001')).toBe('instances[0].prompt is required for text-to-video.');
    expect(checkBody(withInstance({ text: 'x' }), 'veo-3.1-generate-001')).toContain('Unknown name "text" at \'instances[0]\'');
    expect(checkBody({ ...base(), webhookConfig: {} }, 'veo-3.1-generate-001')).toContain('Unknown name "webhookConfig"');
  });
});

describe('vertexBaseUrl (UPSTREAM.md §3 host rule)', () => {
  it.each([
    ['us-central1', 'https://us-central1-aiplatform.googleapis.com'],
    ['europe-west4', 'https://europe-west4-aiplatform.googleapis.com'],
    ['asia-northeast1', 'https://asia-northeast1-aiplatform.googleapis.com'],
    ['global', 'https://aiplatform.googleapis.com'],
    ['us', 'https://aiplatform.us.rep.googleapis.com'],
    ['eu', 'https://aiplatform.eu.rep.googleapis.com'],
  ])('%s → %s', (location, host) => {
    expect(vertexBaseUrl(location)).toBe(host);
  });
});
