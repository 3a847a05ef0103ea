// Our job → the Gemini API bodies (Veo predictLongRunning, Omni Interactions),
// judged by the strict fake's checkers (built from UPSTREAM.md §1, not from the
// adapter); how answers and errors of both surfaces are read and classified.
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/domain/catalog.ts';
import type { CallFailed } from '../../src/providers/upstream/http-call.ts';
import type { UpstreamJob } from '../../src/providers/upstream/upstream-provider.ts';
import { asContentBlock, classifyCall, classifyJobError, namesField } from '../../src/providers/gemini/errors.ts';
import { omniRequest, readInteraction } from '../../src/providers/gemini/interactions-mapping.ts';
import { readOperation, veoCreatePath, veoRequest } from '../../src/providers/gemini/veo-mapping.ts';
import { checkInteractionBody, checkVeoBody, OMNI, RETIRED_VEO } from '../fakes/gemini.ts';
import { upstreamJob } from '../helpers/upstream-job.ts';

const catalog = loadCatalog();
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const JPEG = Buffer.from('ffd8ffe000104a464946', 'hex');
const b64 = (b: Buffer) => b.toString('base64');
const KEY = 'AIza-unit-secret-key-123';
// The public model is one the Gemini API no longer serves: only upstreamModel may shape the body.
const PUBLIC = catalog.find('veo-3.0-generate-001') ?? catalog.models[0]!;

const job = (upstreamModel: string, over: Partial<UpstreamJob> & { resolution?: string } = {}): UpstreamJob =>
  upstreamJob(PUBLIC, upstreamModel, { images: [PNG], ...over });

/** UPSTREAM.md §1.1, written out here: what a Veo 3.1-class id renders on the Gemini API (8 s for 1080p and 4k). */
const VEO_RESOLUTIONS: Record<string, string[]> = {
  'veo-3.1-generate-001': ['720p', '1080p', '4k'],
  'veo-3.1-fast-generate-001': ['720p', '1080p', '4k'],
  'veo-3.1-lite-generate-001': ['720p', '1080p'],
};
const LIVE = Object.keys(VEO_RESOLUTIONS);

describe('Veo request mapping (predictLongRunning)', () => {
  it('images as {bytesBase64Encoded, mimeType}, durationSeconds a number, allow_adult, one sample, nothing Vertex-only', () => {
    const body = veoRequest(job('veo-3.1-generate-001', { images: [PNG, JPEG], seconds: 6, negativePrompt: 'text overlays', seed: 99, generateAudio: false }));
    expect(body).toEqual({
      instances: [{ prompt: 'a kite', image: { bytesBase64Encoded: b64(PNG), mimeType: 'image/png' }, lastFrame: { bytesBase64Encoded: b64(JPEG), mimeType: 'image/jpeg' } }],
      parameters: { aspectRatio: '16:9', durationSeconds: 6, resolution: '720p', negativePrompt: 'text overlays', personGeneration: 'allow_adult', sampleCount: 1 },
    });
    const text = JSON.stringify(body);
    for (const never of ['inlineData', 'seed', 'generateAudio', 'fps', 'storageUri', 'compressionQuality', 'resizeMode', 'mask', 'labels']) expect(text).not.toContain(never);
  });

  it('the path and the veo-2 rule follow the upstream id, not the public model', () => {
    expect(veoCreatePath('veo-3.1-fast-generate-001')).toBe('/v1beta/models/veo-3.1-fast-generate-001:predictLongRunning');
    const v2 = veoRequest(job('veo-2.0-generate-001', { seconds: 5 }));
    expect(v2.parameters).not.toHaveProperty('resolution');
    expect(checkVeoBody(v2, 'veo-2.0-generate-001', { live: ['veo-2.0-generate-001'] })).toBeNull();
  });

  it('every combination the catalog can ask of a Veo 3.1-class id is accepted by the fake', () => {
    let accepted = 0;
    for (const [id, sizes] of Object.entries(VEO_RESOLUTIONS)) {
      for (const seconds of [4, 6, 8]) {
        for (const resolution of sizes) {
          if (resolution !== '720p' && seconds !== 8) continue;
          for (const aspectRatio of ['16:9', '9:16']) {
            for (const images of [[PNG], [PNG, JPEG]]) {
              const body = veoRequest(job(id, { seconds, resolution, aspectRatio, images, negativePrompt: seconds === 6 ? 'blur' : null }));
              expect(checkVeoBody(body, id, { live: LIVE }), `${id} ${seconds}s ${resolution} ${aspectRatio}`).toBeNull();
              accepted += 1;
            }
          }
        }
      }
    }
    expect(accepted).toBe(2 * (3 + 2) * 2 * 2 + (3 + 1) * 2 * 2);
  });

  it('the fake refuses what the service refuses (so the grid above is not vacuous)', () => {
    const ok = veoRequest(job('veo-3.1-generate-001'));
    const live = { live: LIVE };
    const withImage = (image: unknown) => ({ ...ok, instances: [{ ...ok.instances[0], image }] });
    expect(checkVeoBody(withImage({ inlineData: { mimeType: 'image/png', data: b64(PNG) } }), 'veo-3.1-generate-001', live)?.message).toBe('`inlineData` isn\'t supported by this model.');
    for (const k of ['seed', 'generateAudio', 'fps', 'storageUri', 'compressionQuality', 'resizeMode', 'labels']) {
      expect(checkVeoBody({ ...ok, parameters: { ...ok.parameters, [k]: 1 } }, 'veo-3.1-generate-001', live)?.status, k).toBe(400);
    }
    expect(checkVeoBody(veoRequest(job('veo-3.1-generate-001', { seconds: 4, resolution: '1080p' })), 'veo-3.1-generate-001', live)?.message).toMatch(/must be 8/);
    expect(checkVeoBody(veoRequest(job('veo-3.1-lite-generate-001', { resolution: '4k' })), 'veo-3.1-lite-generate-001', live)?.status).toBe(400);
    for (const id of RETIRED_VEO) expect(checkVeoBody(ok, id, { live: [] })).toMatchObject({ status: 404, message: expect.stringContaining('is no longer available') });
    expect(checkVeoBody(ok, 'veo-3.1-generate-001', { live: [] })).toMatchObject({ status: 404, message: expect.stringContaining('is not found') });
  });
});

describe('Omni request mapping (Interactions)', () => {
  it('image and text parts, background, video modality, duration as a string, seed in generation_config', () => {
    const body = omniRequest(job(OMNI, { seconds: 6, resolution: '1080p', aspectRatio: '9:16', seed: 4294967295 }));
    expect(body).toEqual({
      model: OMNI,
      input: [{ type: 'image', mime_type: 'image/png', data: b64(PNG) }, { type: 'text', text: 'a kite' }],
      background: true,
      response_modalities: ['video'],
      response_format: { type: 'video', aspect_ratio: '9:16', resolution: '1080p', duration: '6s', delivery: 'uri' },
      // Folded into int32, the field's range.
      generation_config: { video_config: { task: 'image_to_video' }, seed: 2147483647 },
    });
  });

  it('leaves out the uncertain fields the service refused, and carries the negative prompt in the text', () => {
    const body = omniRequest(job(OMNI, { negativePrompt: 'subtitles' }), { responseModalities: false, seed: false });
    expect(body).not.toHaveProperty('response_modalities');
    expect(body.generation_config).toEqual({ video_config: { task: 'image_to_video' } });
    expect(body.input.at(-1)).toEqual({ type: 'text', text: 'a kite\n\nAvoid: subtitles' });
  });

  it('every combination the catalog can ask (3–10 s, 360p–4k, both aspects, one or two images) is accepted by the fake', () => {
    const omni = catalog.find(OMNI);
    const seconds = omni?.seconds ?? [3, 4, 5, 6, 7, 8, 9, 10];
    const sizes = omni?.sizes ?? ['360p', '720p', '1080p', '4k'];
    expect(seconds).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    for (const s of seconds) for (const resolution of sizes) for (const aspectRatio of ['16:9', '9:16']) for (const images of [[PNG], [PNG, JPEG]]) {
      expect(checkInteractionBody(omniRequest(job(OMNI, { seconds: s, resolution, aspectRatio, images }))), `${s}s ${resolution} ${aspectRatio}`).toBeNull();
    }
  });

  it('the fake refuses a bare-number duration, one out of range, another model and inlineData-style parts', () => {
    const ok = omniRequest(job(OMNI));
    const fmt = (duration: unknown) => ({ ...ok, response_format: { ...ok.response_format, duration } });
    expect(checkInteractionBody(fmt(6))).toMatchObject({ status: 400, message: expect.stringContaining('google.protobuf.Duration') });
    expect(checkInteractionBody(fmt('11s'))?.status).toBe(400);
    expect(checkInteractionBody(fmt('2.5s'))?.status).toBe(400);
    expect(checkInteractionBody(fmt('3.5s'))).toBeNull();
    expect(checkInteractionBody({ ...ok, model: 'gemini-omni-flash-preview' })).toMatchObject({ status: 404, code: 'not_found', message: expect.stringContaining('is no longer available') });
    expect(checkInteractionBody({ ...ok, input: [{ type: 'image', inline_data: { data: b64(PNG) } }] })?.status).toBe(400);
    expect(checkInteractionBody(ok, ['response_modalities'])?.message).toContain('response_modalities');
  });
});

describe('reading a Veo operation', () => {
  const uri = 'https://generativelanguage.googleapis.com/v1beta/files/abc:download?alt=media';
  it('running, a uri, inline bytes, and the generatedVideos spelling', () => {
    expect(readOperation({ name: 'x' }, [KEY])).toEqual({ state: 'running' });
    expect(readOperation({ done: true, response: { generateVideoResponse: { generatedSamples: [{ video: { uri } }] } } }, [KEY])).toEqual({ state: 'done', video: { kind: 'url', url: uri } });
    expect(readOperation({ done: true, response: { generateVideoResponse: { generatedVideos: [{ video: { uri } }] } } }, [KEY])).toEqual({ state: 'done', video: { kind: 'url', url: uri } });
    const bytes = readOperation({ done: true, response: { generateVideoResponse: { generatedSamples: [{ video: { encodedVideo: b64(JPEG), encoding: 'video/mp4' } }] } } }, [KEY]);
    expect(bytes).toEqual({ state: 'done', video: { kind: 'bytes', data: JPEG } });
  });

  it('filtered → content; error object or bare string → classified; done with nothing → a transient read', () => {
    const filtered = readOperation({ done: true, response: { generateVideoResponse: { raiMediaFilteredCount: 1, raiMediaFilteredReasons: ['blocked'] } } }, [KEY]);
    expect(filtered).toMatchObject({ state: 'failed', failure: { code: 'content_filtered', fault: 'content' } });
    expect(readOperation({ done: true, error: { code: 3, message: 'bad prompt' } }, [KEY])).toMatchObject({ state: 'failed', failure: { code: 'upstream_rejected', fault: 'request', message: expect.stringContaining('bad prompt') } });
    expect(readOperation({ done: true, error: 'backend fell over' }, [KEY])).toMatchObject({ state: 'failed', failure: { fault: 'transient', message: expect.stringContaining('backend fell over') } });
    expect(readOperation({ done: true, error: { code: 9, message: 'allow_adult for personGeneration is currently not supported' } }, [KEY])).toMatchObject({ failure: { code: 'upstream_rejected', fault: 'request' } });
    expect(readOperation({ done: true, error: { code: 13, message: 'Internal' } }, [KEY])).toMatchObject({ failure: { fault: 'transient' } });
    expect(readOperation({ done: true, response: {} }, [KEY])).toMatchObject({ failure: { code: 'upstream_invalid_response', fault: 'transient' } });
  });
});

describe('reading an interaction', () => {
  const done = (content: unknown[], extra: Record<string, unknown> = {}) =>
    ({ id: 'v1_x', status: 'completed', steps: [{ type: 'user_input', content: [{ type: 'image', mime_type: 'image/png', data: b64(PNG) }] }, { type: 'model_output', content }], ...extra });

  it('every non-terminal status, known or not, is still running', () => {
    for (const status of ['queued', 'in_progress', 'requires_action', 'requires_continuation', 'some_new_state', undefined]) {
      expect(readInteraction({ id: 'v1_x', status }, [KEY])).toEqual({ state: 'running' });
    }
  });

  it('completed: the model_output video part (uri or data); never the input image', () => {
    expect(readInteraction(done([{ type: 'video', mime_type: 'video/mp4', uri: 'https://g/v1beta/files/a:download?alt=media' }]), [KEY]))
      .toEqual({ state: 'done', video: { kind: 'url', url: 'https://g/v1beta/files/a:download?alt=media' } });
    expect(readInteraction(done([{ type: 'video', data: b64(JPEG) }]), [KEY])).toEqual({ state: 'done', video: { kind: 'bytes', data: JPEG } });
  });

  it('text only → content_filtered quoting ≤ 300 chars (key redacted); nothing at all → a transient read', () => {
    const text = `No. ${KEY} ${'x'.repeat(400)}`;
    const refused = readInteraction(done([{ type: 'text', text }]), [KEY]);
    expect(refused).toMatchObject({ state: 'failed', failure: { code: 'content_filtered', fault: 'content' } });
    const msg = (refused as { failure: { message: string } }).failure.message;
    expect(msg).not.toContain(KEY);
    expect(msg.length).toBeLessThan(400);
    expect(readInteraction(done([]), [KEY])).toMatchObject({ failure: { code: 'upstream_invalid_response', fault: 'transient' } });
    expect(readInteraction({ id: 'v1_x', status: 'completed' }, [KEY])).toMatchObject({ failure: { fault: 'transient' } });
  });

  it('failed (string codes in errors[] or error), budget_exceeded, cancelled, incomplete', () => {
    const failed = (e: unknown) => readInteraction({ id: 'v1_x', status: 'failed', ...(e as object) }, [KEY]);
    expect(failed({ errors: [{ code: 'invalid_request', message: 'bad image' }] })).toMatchObject({ failure: { code: 'upstream_rejected', fault: 'request' } });
    expect(failed({ error: { code: 'unavailable', message: 'try later' } })).toMatchObject({ failure: { fault: 'transient' } });
    expect(failed({ errors: [{ code: 'resource_exhausted', message: 'busy' }] })).toMatchObject({ failure: { fault: 'throttled' } });
    expect(failed({ errors: [{ code: 'permission_denied', message: 'no' }] })).toMatchObject({ failure: { code: 'upstream_auth', fault: 'channel' } });
    expect(failed({})).toMatchObject({ failure: { fault: 'transient' } });
    expect(readInteraction({ id: 'v1_x', status: 'budget_exceeded' }, [KEY])).toMatchObject({ failure: { code: 'upstream_quota', fault: 'channel' } });
    expect(readInteraction({ id: 'v1_x', status: 'cancelled' }, [KEY])).toMatchObject({ failure: { code: 'upstream_lost_job', fault: 'transient' } });
    expect(readInteraction({ id: 'v1_x', status: 'incomplete' }, [KEY])).toMatchObject({ failure: { code: 'upstream_unavailable', fault: 'transient' } });
  });
});

describe('classifying failed calls (UPSTREAM.md §1.2, §1.3)', () => {
  const failed = (status: number | null, body: unknown, over: Partial<CallFailed> = {}): CallFailed => {
    const b = Array.isArray(body) ? body[0] : body;
    const message = (b as { error?: { message?: string } })?.error?.message ?? '';
    return { ok: false, status, body, detail: message, ...(status === 429 ? { retryAfterMs: 1000 } : {}), ...over };
  };
  const rpc = (code: number, status: string, message: string, details: unknown[] = []) => ({ error: { code, status, message, details } });
  const str = (code: string, message: string) => ({ error: { code, message } });
  const keyInvalid = rpc(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }]);

  it.each([
    ['API_KEY_INVALID 400 → channel auth', failed(400, keyInvalid), 'create', 'upstream_auth', 'channel'],
    ['"API Key not found" → channel auth', failed(400, rpc(400, 'INVALID_ARGUMENT', 'API Key not found. Please pass a valid API key.')), 'create', 'upstream_auth', 'channel'],
    ['array-wrapped API_KEY_INVALID', failed(400, [keyInvalid]), 'poll', 'upstream_auth', 'channel'],
    ['FAILED_PRECONDITION → channel quota', failed(400, rpc(400, 'FAILED_PRECONDITION', 'User location is not supported for the API use.')), 'create', 'upstream_quota', 'channel'],
    ['403 → channel auth', failed(403, rpc(403, 'PERMISSION_DENIED', 'denied')), 'create', 'upstream_auth', 'channel'],
    ['404 on create → model', failed(404, rpc(404, 'NOT_FOUND', 'models/x is not found')), 'create', 'model_unavailable', 'model'],
    ['"is no longer available" on create → model', failed(404, rpc(404, 'NOT_FOUND', 'models/veo-3.1-generate-preview is no longer available.')), 'create', 'model_unavailable', 'model'],
    ['404 on poll → lost job', failed(404, rpc(404, 'NOT_FOUND', 'Operation not found.')), 'poll', 'upstream_lost_job', 'transient'],
    ['400 "Invalid interaction name" on poll → lost job', failed(400, str('invalid_request', 'Invalid interaction name')), 'poll', 'upstream_lost_job', 'transient'],
    ['503 → transient', failed(503, rpc(503, 'UNAVAILABLE', 'overloaded')), 'create', 'upstream_unavailable', 'transient'],
    ['other 400 → request', failed(400, rpc(400, 'INVALID_ARGUMENT', 'prompt too long')), 'create', 'upstream_rejected', 'request'],
    ['400 naming personGeneration (even with "not found") → request', failed(400, rpc(400, 'INVALID_ARGUMENT', 'personGeneration value is not found')), 'create', 'upstream_rejected', 'request'],
    ['string not_found on create → model', failed(404, str('not_found', 'model gone')), 'create', 'model_unavailable', 'model'],
    ['string permission_denied → auth', failed(403, str('permission_denied', 'no')), 'create', 'upstream_auth', 'channel'],
    ['string unauthenticated → auth', failed(401, str('unauthenticated', 'who')), 'poll', 'upstream_auth', 'channel'],
    ['string failed_precondition → quota', failed(400, str('failed_precondition', 'billing')), 'create', 'upstream_quota', 'channel'],
    ['string internal → transient', failed(500, str('internal', 'oops')), 'create', 'upstream_unavailable', 'transient'],
    ['string invalid_request → request', failed(400, str('invalid_request', 'bad duration')), 'create', 'upstream_rejected', 'request'],
    ['no answer → transient', failed(null, undefined, { transport: 'timeout', detail: 'Gemini API did not answer within 1 s.' }), 'create', 'upstream_timeout', 'transient'],
  ] as const)('%s', (_name, r, stage, code, fault) => {
    expect(classifyCall(r, stage, 'Gemini API')).toMatchObject({ code, fault });
  });

  it('429 → throttled with Retry-After, or Google\'s RetryInfo when longer', () => {
    expect(classifyCall(failed(429, rpc(429, 'RESOURCE_EXHAUSTED', 'quota'), { retryAfterMs: 7000 }), 'create', 'G')).toMatchObject({ fault: 'throttled', retryAfterMs: 7000 });
    const withInfo = rpc(429, 'RESOURCE_EXHAUSTED', 'quota', [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '31.5s' }]);
    expect(classifyCall(failed(429, withInfo), 'create', 'G')).toMatchObject({ fault: 'throttled', retryAfterMs: 32_000 });
    expect(classifyCall(failed(429, str('resource_exhausted', 'slow down')), 'poll', 'G')).toMatchObject({ fault: 'throttled', retryAfterMs: 1000 });
  });

  it('quotes Google\'s message; a create-time safety 400 on Interactions is content; uncertain fields are recognised by name', () => {
    const f = classifyCall(failed(400, rpc(400, 'INVALID_ARGUMENT', 'durationSeconds must be 8')), 'create', 'Gemini API');
    expect(f.message).toContain('durationSeconds must be 8');
    expect(asContentBlock(classifyCall(failed(400, str('invalid_request', 'The input was blocked by safety filters.')), 'create', 'G'))).toMatchObject({ code: 'content_filtered', fault: 'content' });
    expect(asContentBlock(f)).toBe(f);
    expect(namesField(failed(400, str('invalid_request', 'response_modalities is not supported')), 'response_modalities')).toBe(true);
    expect(namesField(failed(400, str('invalid_request', 'a seedling prompt')), 'seed')).toBe(false);
    expect(namesField(failed(400, keyInvalid), 'seed')).toBe(false);
  });

  it('job errors: gRPC numbers, bare strings, the key never quoted', () => {
    expect(classifyJobError({ code: 8, message: 'busy' }, 'G', [KEY])).toMatchObject({ fault: 'throttled' });
    expect(classifyJobError({ code: 5, message: 'gone' }, 'G', [KEY])).toMatchObject({ code: 'upstream_lost_job' });
    expect(classifyJobError(`bad key ${KEY}`, 'G', [KEY]).message).not.toContain(KEY);
  });
});
