import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/domain/catalog.ts';
import type { GenerationJob } from '../../src/providers/provider.ts';
import { geminiCreatePath, geminiRequest } from '../../src/providers/gemini/request-mapping.ts';
import { vertexModelPath, vertexRequest } from '../../src/providers/vertex/request-mapping.ts';
import { viduRequest } from '../../src/providers/vidu/request-mapping.ts';
import { imageMime, resolutionName } from '../../src/providers/upstream/job-facts.ts';
import { checkBody as geminiAccepts } from '../fakes/gemini.ts';
import { checkBody as vertexAccepts } from '../fakes/vertex.ts';
import { checkBody as viduAccepts } from '../fakes/vidu.ts';

const catalog = loadCatalog();
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const JPEG = Buffer.from('ffd8ffe000104a464946', 'hex');
const WEBP = Buffer.concat([Buffer.from('RIFF'), Buffer.from([0, 0, 0, 0]), Buffer.from('WEBPVP8 ')]);
const b64 = (b: Buffer) => b.toString('base64');

function job(modelId: string, over: Partial<GenerationJob> = {}): GenerationJob {
  const model = catalog.find(modelId)!;
  return {
    taskId: 'task_x', model, prompt: 'a cat surfing', negativePrompt: null, aspectRatio: '16:9',
    seconds: model.default_seconds, width: 1280, height: 720, fps: 24, seed: 42, generateAudio: model.audio,
    images: [PNG], options: {}, ...over,
  };
}

describe('job facts', () => {
  it('detects image MIME types from magic bytes', () => {
    expect([imageMime(PNG), imageMime(JPEG), imageMime(WEBP)]).toEqual(['image/png', 'image/jpeg', 'image/webp']);
  });
  it('names resolutions by the short side', () => {
    expect(resolutionName({ width: 960, height: 540 })).toBe('540p');
    expect(resolutionName({ width: 720, height: 1280 })).toBe('720p');
    expect(resolutionName({ width: 1920, height: 1080 })).toBe('1080p');
    expect(resolutionName({ width: 2160, height: 3840 })).toBe('4k');
  });
});

describe('Gemini API request body', () => {
  it('Veo 3 image-to-video: inlineData image, seed, resolution, allow_adult, no generateAudio', () => {
    const j = job('veo-3.0-fast-generate-001', { seconds: 4, negativePrompt: 'blur' });
    expect(geminiCreatePath(j.model.id)).toBe('/v1beta/models/veo-3.0-fast-generate-001:predictLongRunning');
    expect(geminiRequest(j)).toEqual({
      instances: [{ prompt: 'a cat surfing', image: { inlineData: { mimeType: 'image/png', data: b64(PNG) } } }],
      parameters: { aspectRatio: '16:9', durationSeconds: 4, resolution: '720p', negativePrompt: 'blur', seed: 42, personGeneration: 'allow_adult' },
    });
  });
  it('Veo 2: no resolution and no seed; JPEG detected', () => {
    const j = job('veo-2.0-generate-001', { seconds: 5, aspectRatio: '9:16', width: 720, height: 1280, images: [JPEG] });
    expect(geminiRequest(j)).toEqual({
      instances: [{ prompt: 'a cat surfing', image: { inlineData: { mimeType: 'image/jpeg', data: b64(JPEG) } } }],
      parameters: { aspectRatio: '9:16', durationSeconds: 5, personGeneration: 'allow_adult' },
    });
  });
  it('Veo 3.1 with a last frame at 1080p', () => {
    const j = job('veo-3.1-generate-preview', { seconds: 8, width: 1920, height: 1080, images: [PNG, WEBP] });
    expect(geminiRequest(j)).toEqual({
      instances: [{
        prompt: 'a cat surfing',
        image: { inlineData: { mimeType: 'image/png', data: b64(PNG) } },
        lastFrame: { inlineData: { mimeType: 'image/webp', data: b64(WEBP) } },
      }],
      parameters: { aspectRatio: '16:9', durationSeconds: 8, resolution: '1080p', seed: 42, personGeneration: 'allow_adult' },
    });
  });
  it('every catalog Veo model/duration maps to a body the strict fake accepts', () => {
    for (const m of catalog.models.filter((x) => x.family === 'veo')) {
      for (const seconds of m.seconds) {
        const limits = { durations: m.id.startsWith('veo-2') ? [5, 6, 7, 8] : [4, 6, 8], resolutions: m.id.startsWith('veo-2') ? null : ['720p', '1080p', '4k'], seed: !m.id.startsWith('veo-2') };
        expect(geminiAccepts(geminiRequest(job(m.id, { seconds })), limits), `${m.id} ${seconds}s`).toBeNull();
      }
    }
  });
});

describe('Vertex AI request body', () => {
  it('Veo 3: bytesBase64Encoded image, generateAudio, seed, sampleCount 1', () => {
    const j = job('veo-3.0-generate-001', { seconds: 6, generateAudio: false, negativePrompt: 'text' });
    expect(vertexModelPath('p1', 'us-central1', j.model.id)).toBe('/v1/projects/p1/locations/us-central1/publishers/google/models/veo-3.0-generate-001');
    expect(vertexRequest(j)).toEqual({
      instances: [{ prompt: 'a cat surfing', image: { bytesBase64Encoded: b64(PNG), mimeType: 'image/png' } }],
      parameters: { aspectRatio: '16:9', durationSeconds: 6, sampleCount: 1, seed: 42, personGeneration: 'allow_adult', resolution: '720p', generateAudio: false, negativePrompt: 'text' },
    });
  });
  it('Veo 2: no resolution, no generateAudio', () => {
    const j = job('veo-2.0-generate-001', { seconds: 7 });
    expect(vertexRequest(j)).toEqual({
      instances: [{ prompt: 'a cat surfing', image: { bytesBase64Encoded: b64(PNG), mimeType: 'image/png' } }],
      parameters: { aspectRatio: '16:9', durationSeconds: 7, sampleCount: 1, seed: 42, personGeneration: 'allow_adult' },
    });
    expect(vertexAccepts(vertexRequest(j), { durations: [5, 6, 7, 8], veo3: false })).toBeNull();
  });
  it('storageUri goes in parameters exactly when configured, and the strict fake accepts it', () => {
    const j = job('veo-3.0-generate-001', { seconds: 8 });
    expect(vertexRequest(j).parameters).not.toHaveProperty('storageUri');
    expect(vertexRequest(j, {}).parameters).not.toHaveProperty('storageUri');
    expect(vertexRequest(j, { storageUri: undefined }).parameters).not.toHaveProperty('storageUri');
    const body = vertexRequest(j, { storageUri: 'gs://reelay-out/veo/' });
    expect(body).toEqual({ ...vertexRequest(j), parameters: { ...vertexRequest(j).parameters, storageUri: 'gs://reelay-out/veo/' } });
    expect(vertexAccepts(body, { durations: [4, 6, 8], veo3: true })).toBeNull();
    expect(vertexAccepts(vertexRequest(j, { storageUri: 's3://reelay-out/' }), { durations: [4, 6, 8], veo3: true })).toContain('storageUri');
  });
  it('last frame goes as lastFrame', () => {
    const body = vertexRequest(job('veo-3.1-fast-generate-preview', { images: [PNG, JPEG] }));
    expect(body.instances[0]).toMatchObject({ lastFrame: { bytesBase64Encoded: b64(JPEG), mimeType: 'image/jpeg' } });
  });
});

describe('Vidu request body', () => {
  it('viduq2-turbo with Vidu audio options and is_rec', () => {
    const j = job('viduq2-turbo', { seconds: 3, width: 960, height: 540, options: { audio: true, audio_type: 'speech_only', voice_id: 'v1' }, isRec: true });
    expect(viduRequest(j)).toEqual({
      model: 'viduq2-turbo', images: [`data:image/png;base64,${b64(PNG)}`], prompt: 'a cat surfing', duration: 3, resolution: '540p', seed: 42,
      audio: true, audio_type: 'speech_only', voice_id: 'v1', is_rec: true,
    });
  });
  it('viduq1 at 1080p, audio follows generate_audio when no Vidu option is given', () => {
    const j = job('viduq1', { width: 1920, height: 1080, generateAudio: false, images: [JPEG] });
    expect(viduRequest(j)).toEqual({
      model: 'viduq1', images: [`data:image/jpeg;base64,${b64(JPEG)}`], prompt: 'a cat surfing', duration: 5, resolution: '1080p', seed: 42, audio: false,
    });
  });
  it('every catalog Vidu model/duration/size maps to a body the strict fake accepts', () => {
    for (const m of catalog.models.filter((x) => x.family === 'vidu')) {
      for (const seconds of m.seconds) {
        for (const size of m.sizes) {
          const d = catalog.dimensions(size, '16:9');
          expect(viduAccepts(viduRequest(job(m.id, { seconds, ...d }))), `${m.id} ${seconds}s ${size}`).toBeNull();
        }
      }
    }
  });
});
