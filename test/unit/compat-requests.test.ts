import { describe, expect, it } from 'vitest';
import { ApiError, errors } from '../../src/domain/errors.ts';
import {
  aspectRatioForSize, fromGoogleRequest, fromOpenAIRequest, GOOGLE_FIELDS, OPENAI_FIELDS, renameFields,
} from '../../src/http/compat/requests.ts';

const B64 = 'iVBORw0KGgo=';
const thrown = (fn: () => unknown): ApiError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected an ApiError');
};

describe('Google predictLongRunning → Reelay submit body', () => {
  it('maps the SDK spelling (bytesBase64Encoded) and every supported parameter', () => {
    expect(fromGoogleRequest('veo-3.0-generate-001', {
      instances: [{ prompt: 'p', image: { bytesBase64Encoded: B64, mimeType: 'image/png' } }],
      parameters: { aspectRatio: '9:16', durationSeconds: 4, resolution: '1080p', negativePrompt: 'n', seed: 7, generateAudio: false, sampleCount: 1, personGeneration: 'allow_adult' },
    })).toEqual({
      model: 'veo-3.0-generate-001', prompt: 'p', images: [`data:image/png;base64,${B64}`], aspect_ratio: '9:16', seconds: 4,
      size: '1080p', negative_prompt: 'n', seed: 7, generate_audio: false,
    });
  });

  it('maps the REST docs spelling (inlineData), durationSeconds as a string, numberOfVideos 1, and lastFrame', () => {
    expect(fromGoogleRequest('veo-3.1-generate-preview', {
      instances: [{
        prompt: 'p', image: { inlineData: { mimeType: 'image/jpeg', data: B64 } }, lastFrame: { inlineData: { mimeType: 'image/webp', data: 'AAAA' } },
      }],
      parameters: { durationSeconds: '8', numberOfVideos: '1' },
    })).toEqual({
      model: 'veo-3.1-generate-preview', prompt: 'p', aspect_ratio: '16:9', seconds: '8',
      images: [`data:image/jpeg;base64,${B64}`, 'data:image/webp;base64,AAAA'],
    });
  });

  it('defaults aspectRatio to 16:9, passes an image without a usable mimeType as an untyped data URI, leaves rules to the task service', () => {
    expect(fromGoogleRequest('m', { instances: [{ prompt: 'p', image: { bytesBase64Encoded: B64 } }] }))
      .toEqual({ model: 'm', prompt: 'p', aspect_ratio: '16:9', images: [`data:;base64,${B64}`] });
    expect(fromGoogleRequest('m', { instances: [{ prompt: 'p', image: { bytesBase64Encoded: B64, mimeType: 'text/html' } }] }).images)
      .toEqual([`data:;base64,${B64}`]);
    // Bytes are bytes: a URL in bytesBase64Encoded stays inside a data: URI (invalid base64), never an image URL to fetch.
    expect(fromGoogleRequest('m', { instances: [{ prompt: 'p', image: { bytesBase64Encoded: 'https://169.254.169.254/latest/meta-data' } }] }).images)
      .toEqual(['data:;base64,https://169.254.169.254/latest/meta-data']);
    // No image: the task service reports it (as "images", renamed below).
    expect(fromGoogleRequest('m', { instances: [{ prompt: 'p' }] })).toEqual({ model: 'm', prompt: 'p', aspect_ratio: '16:9' });
  });

  it.each([
    [{}, 'missing_instances', 'instances'],
    [{ instances: [{}, {}] }, 'invalid_instances', 'instances'],
    [{ instances: [{ prompt: 'p', image: { gcsUri: 'gs://b/x.png' } }] }, 'unsupported_field', 'instances[0].image.gcsUri'],
    [{ instances: [{ prompt: 'p', video: { uri: 'x' } }] }, 'unsupported_field', 'instances[0].video'],
    [{ instances: [{ prompt: 'p', referenceImages: [] }] }, 'unsupported_field', 'instances[0].referenceImages'],
    [{ instances: [{ prompt: 'p', lastFrame: { bytesBase64Encoded: B64 } }] }, 'invalid_instances[0].lastFrame', 'instances[0].lastFrame'],
    [{ instances: [{ prompt: 'p', image: { mimeType: 'image/png' } }] }, 'invalid_image', 'instances[0].image'],
    [{ instances: [{ prompt: 'p' }], parameters: { sampleCount: 2 } }, 'invalid_parameters.sampleCount', 'parameters.sampleCount'],
    [{ instances: [{ prompt: 'p' }], parameters: { numberOfVideos: 4 } }, 'invalid_parameters.numberOfVideos', 'parameters.numberOfVideos'],
    [{ instances: [{ prompt: 'p' }], parameters: { storageUri: 'gs://b/' } }, 'unsupported_field', 'parameters.storageUri'],
    [{ instances: [{ prompt: 'p' }], parameters: 'x' }, 'invalid_parameters', 'parameters'],
  ])('refuses %j with %s on %s', (body, code, param) => {
    const e = thrown(() => fromGoogleRequest('m', body));
    expect(e.status).toBe(400);
    expect(e.code).toBe(code);
    expect(e.param).toBe(param);
    expect(e.message).toContain(param);
  });
});

describe('OpenAI create → Reelay submit body', () => {
  it('derives the aspect ratio from size and passes Reelay model ids through', () => {
    expect(fromOpenAIRequest({ model: 'veo-3.0-generate-001', prompt: 'p', seconds: '8', size: '1280x720', input_reference: 'https://x/i.png' }))
      .toEqual({ model: 'veo-3.0-generate-001', prompt: 'p', seconds: '8', size: '1280x720', aspect_ratio: '16:9', images: ['https://x/i.png'] });
    expect(aspectRatioForSize('720x1280')).toBe('9:16');
    expect(aspectRatioForSize('1792x1024')).toBe('16:9');
    expect(aspectRatioForSize('720p')).toBe('9:16');
  });

  it('maps OpenAI model names (and none) with OpenAI\'s defaults: 720x1280, 4 s', () => {
    expect(fromOpenAIRequest({ prompt: 'p' })).toEqual({ model: 'veo-3.0-fast-generate-001', prompt: 'p', size: '720x1280', aspect_ratio: '9:16', seconds: '4' });
    expect(fromOpenAIRequest({ model: 'sora-2-pro', prompt: 'p' }).model).toBe('veo-3.0-generate-001');
    expect(fromOpenAIRequest({ model: 'sora-2-pro-2025-10-06', prompt: 'p' }).model).toBe('veo-3.0-generate-001');
    expect(fromOpenAIRequest({ model: 'sora-2-2025-12-08', prompt: 'p', seconds: '12' })).toMatchObject({ model: 'veo-3.0-fast-generate-001', seconds: '12' });
    // A Reelay model keeps Reelay's own default duration.
    expect(fromOpenAIRequest({ model: 'veo-2.0-generate-001', prompt: 'p' }).seconds).toBeUndefined();
  });

  it('reads input_reference as {image_url}, as the SDK\'s bracketed multipart field, or as a data URI; file_id is refused', () => {
    expect(fromOpenAIRequest({ prompt: 'p', input_reference: { image_url: 'data:image/png;base64,AA==' } }).images).toEqual(['data:image/png;base64,AA==']);
    expect(fromOpenAIRequest({ prompt: 'p', 'input_reference[image_url]': 'https://x/i.png' }).images).toEqual(['https://x/i.png']);
    expect(fromOpenAIRequest({ prompt: 'p' }).images).toBeUndefined();
    expect(thrown(() => fromOpenAIRequest({ prompt: 'p', input_reference: { file_id: 'file_1' } })).param).toBe('input_reference.file_id');
    expect(thrown(() => fromOpenAIRequest({ prompt: 'p', 'input_reference[file_id]': 'file_1' })).code).toBe('unsupported_field');
    expect(thrown(() => fromOpenAIRequest({ prompt: 'p', input_reference: 5 })).param).toBe('input_reference');
  });

  it('passes Reelay\'s own extras through and nothing else', () => {
    expect(fromOpenAIRequest({ prompt: 'p', model: 'm', seed: 3, negative_prompt: 'n', callback_url: 'https://h/cb', remix_video_id: 'x' }))
      .toEqual({ model: 'm', prompt: 'p', size: '720x1280', aspect_ratio: '9:16', seed: 3, negative_prompt: 'n', callback_url: 'https://h/cb' });
  });
});

describe('renameFields', () => {
  it('rewrites quoted Reelay field names and param into the surface\'s names', () => {
    const e = renameFields(errors.invalidField('seconds', '"seconds" must be one of 4, 6, 8 for m (got 5).', 'invalid_seconds'), GOOGLE_FIELDS) as ApiError;
    expect(e).toBeInstanceOf(ApiError);
    expect(e.message).toBe('"parameters.durationSeconds" must be one of 4, 6, 8 for m (got 5).');
    expect(e.param).toBe('parameters.durationSeconds');
    expect(e.code).toBe('invalid_seconds');
    const img = renameFields(errors.invalidField('images', '"images[1]" is neither an https:// URL nor valid base64 image data.'), GOOGLE_FIELDS) as ApiError;
    expect(img.message).toBe('"instances[0].lastFrame" is neither an https:// URL nor valid base64 image data.');
    expect((renameFields(errors.missingField('images'), OPENAI_FIELDS) as ApiError).message).toBe('"input_reference" is required.');
  });

  it('leaves other errors alone', () => {
    const notFound = errors.notFound('task', 'x');
    expect(renameFields(notFound, GOOGLE_FIELDS)).toBe(notFound);
    const plain = new Error('x');
    expect(renameFields(plain, GOOGLE_FIELDS)).toBe(plain);
    const untouched = errors.invalidField('model', 'Unknown model "x".');
    expect(renameFields(untouched, OPENAI_FIELDS)).toBe(untouched);
  });
});
