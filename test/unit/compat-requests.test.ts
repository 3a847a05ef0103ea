import { describe, expect, it } from 'vitest';
import { ApiError, errors } from '../../src/domain/errors.ts';
import {
  aspectRatioForSize, fromGoogleRequest, fromOpenAIRequest, GOOGLE_FIELDS, googleVideoBytes, OPENAI_FIELDS, renameFields,
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
    [{ instances: [{ prompt: 'p', video: { uri: 'x' } }] }, 'unknown_video', 'instances[0].video.uri'],
    [{ instances: [{ prompt: 'p', video: { gcsUri: 'gs://b/v.mp4' } }] }, 'unsupported_field', 'instances[0].video.gcsUri'],
    [{ instances: [{ prompt: 'p', video: { mimeType: 'video/mp4' } }] }, 'invalid_instances[0].video', 'instances[0].video'],
    [{ instances: [{ prompt: 'p', referenceImages: {} }] }, 'invalid_instances[0].referenceImages', 'instances[0].referenceImages'],
    [{ instances: [{ prompt: 'p', referenceImages: [{ image: { bytesBase64Encoded: B64 }, referenceType: 'STYLE' }] }] }, 'unsupported_field', 'instances[0].referenceImages[0].referenceType'],
    [{ instances: [{ prompt: 'p', referenceImages: [{ image: { gcsUri: 'gs://b/r.png' } }] }] }, 'unsupported_field', 'instances[0].referenceImages[0].image.gcsUri'],
    [{ instances: [{ prompt: 'p', mask: { image: {} } }] }, 'unsupported_field', 'instances[0].mask'],
    [{ instances: [{ prompt: 'p', referenceImages: [{ image: { bytesBase64Encoded: B64 } }] }] }, 'missing_images', 'instances[0].image'],
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

describe('Google creative inputs → reference_images and extend_task_id', () => {
  const fileUri = (id: string) => `https://gw.example/v1beta/files/${Buffer.from(id).toString('hex')}:download?alt=media`;

  it('maps asset referenceImages (ASSET as the SDK sends it, asset as the docs, or no type) in order', () => {
    const body = fromGoogleRequest('veo-3.1-generate-001', {
      instances: [{
        prompt: 'p', image: { bytesBase64Encoded: B64, mimeType: 'image/png' },
        referenceImages: [
          { image: { bytesBase64Encoded: 'AAAA', mimeType: 'image/jpeg' }, referenceType: 'ASSET' },
          { image: { inlineData: { data: 'BBBB', mimeType: 'image/webp' } }, referenceType: 'asset' },
          { image: { bytesBase64Encoded: 'CCCC' } },
        ],
      }],
    });
    expect(body.reference_images).toEqual(['data:image/jpeg;base64,AAAA', 'data:image/webp;base64,BBBB', 'data:;base64,CCCC']);
    expect(body.images).toEqual([`data:image/png;base64,${B64}`]);
  });

  it('a video uri this gateway issued (Gemini file uri, either scheme, or the operation name; gcsUri too) → extend_task_id, aspect left to the source', () => {
    const id = 'task_AbCdEfGhIjKlMnOpQrStUvWxYz012345';
    for (const video of [
      { uri: fileUri(id), encodedVideo: 'AAAA', encoding: 'video/mp4' },
      { uri: `http://127.0.0.1:8080/v1beta/files/${Buffer.from(id).toString('hex')}:download?alt=media` },
      { gcsUri: `publishers/google/models/veo-3.1-generate-001/operations/${id}` },
      { uri: `models/veo-3.1-generate-001/operations/${id}` },
    ]) {
      const body = fromGoogleRequest('veo-3.1-generate-001', { instances: [{ prompt: 'on', video }], parameters: { durationSeconds: 8 } });
      expect(body).toEqual({ model: 'veo-3.1-generate-001', prompt: 'on', seconds: 8, extend_task_id: id });
      expect(googleVideoBytes({ instances: [{ prompt: 'on', video }] })).toBeUndefined();
    }
    // An explicit aspect ratio is passed on (the task service checks it against the source's).
    expect(fromGoogleRequest('m', { instances: [{ prompt: 'p', video: { uri: fileUri(id) } }], parameters: { aspectRatio: '9:16' } }).aspect_ratio).toBe('9:16');
  });

  it('a video given by its bytes (either spelling) is left for the key-scoped lookup', () => {
    expect(googleVideoBytes({ instances: [{ prompt: 'p', video: { encodedVideo: 'AAAA', encoding: 'video/mp4' } }] })).toBe('AAAA');
    expect(googleVideoBytes({ instances: [{ prompt: 'p', video: { bytesBase64Encoded: 'BBBB', mimeType: 'video/mp4' } }] })).toBe('BBBB');
    expect(fromGoogleRequest('m', { instances: [{ prompt: 'p', video: { bytesBase64Encoded: 'BBBB' } }] })).toEqual({ model: 'm', prompt: 'p' });
  });

  it('renames the task service\'s creative-input errors, 404/409 on extend_task_id included', () => {
    const refs = renameFields(errors.invalidField('reference_images', '"reference_images[1]" is neither an https:// URL nor valid base64 image data.'), GOOGLE_FIELDS) as ApiError;
    expect(refs.message).toBe('"instances[0].referenceImages[1].image" is neither an https:// URL nor valid base64 image data.');
    expect(refs.param).toBe('instances[0].referenceImages');
    const omit = renameFields(errors.invalidField('images', 'Omit "images" with "extend_task_id": …'), GOOGLE_FIELDS) as ApiError;
    expect(omit.message).toBe('Omit "instances[0].image" with "instances[0].video": …');
    const gone = renameFields(errors.notFound('task', 'task_x', 'extend_task_id'), GOOGLE_FIELDS) as ApiError;
    expect([gone.status, gone.param]).toEqual([404, 'instances[0].video']);
    const busy = renameFields(errors.extendSourceNotReady('task_x', 'it is "queued".'), GOOGLE_FIELDS) as ApiError;
    expect([busy.status, busy.param]).toEqual([409, 'instances[0].video']);
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
    // Reelay's creative fields are refused here, never dropped (that would render a different video than asked).
    expect(thrown(() => fromOpenAIRequest({ prompt: 'p', reference_images: ['https://x/r.png'] })).code).toBe('unsupported_field');
    expect(thrown(() => fromOpenAIRequest({ prompt: 'p', extend_task_id: 'task_x' })).param).toBe('extend_task_id');
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
