import { describe, expect, it } from 'vitest';
import { ApiError, errors } from '../../src/domain/errors.ts';
import type { TaskObject } from '../../src/domain/task-schemas.ts';
import {
  geminiDownloadUri, geminiFileId, geminiFileIdFromPath, googleErrorBody, googleStatusName, openAIErrorBody, openAIStatus,
  taskIdFromGeminiFileId, taskIdFromOperationName, taskRpcError, toGeminiOperation, toOpenAIVideo, toVertexOperation,
  vertexOperationName, type Dimensions,
} from '../../src/http/compat/views.ts';

const ID = 'task_MQKsdsosLYRreob4Z4NzTFxZKtSoVRWZ';
const dims: Dimensions = (size, aspect) => (size === '720p' ? (aspect === '9:16' ? { width: 720, height: 1280 } : { width: 1280, height: 720 }) : undefined);

function task(over: Partial<TaskObject> = {}): TaskObject {
  return {
    id: ID, task_id: ID, object: 'video', model: 'veo-3.0-fast-generate-001', provider: 'local', status: 'queued', progress: 0,
    prompt: 'p', optimized_prompt: null, negative_prompt: null, aspect_ratio: '16:9', seconds: '4', size: '720p', seed: null,
    generate_audio: true, off_peak: false, is_rec: false, created_at: 100, started_at: null, completed_at: null, expires_at: null,
    url: null, thumbnail_url: null, format: 'mp4', metadata: null, credits: { reserved: 1, charged: 0, refunded: 0 }, error: null,
    ...over,
  };
}
const succeeded = (over: Partial<TaskObject> = {}) => task({
  status: 'succeeded', progress: 100, completed_at: 110, expires_at: 200, url: 'https://x/v.mp4',
  metadata: { duration: 4, fps: 24, width: 1280, height: 720, seed: 1, has_audio: true }, ...over,
});

describe('status mapping', () => {
  it.each([
    ['queued', 'queued', false, undefined],
    ['processing', 'in_progress', false, undefined],
    ['succeeded', 'completed', true, undefined],
    ['failed', 'failed', true, 13],
    ['cancelled', 'failed', true, 1],
  ] as const)('%s → OpenAI %s, Google done=%s, rpc code %s', (status, oai, done, rpc) => {
    const error = status === 'failed' ? { code: 'internal_error', message: 'boom' } : status === 'cancelled' ? { code: 'cancelled', message: 'The task was cancelled by the user.' } : null;
    const t = status === 'succeeded' ? succeeded() : task({ status, error });
    expect(openAIStatus(status)).toBe(oai);
    expect(toOpenAIVideo(t, dims).status).toBe(oai);
    expect(toGeminiOperation(t, 'http://gw').done).toBe(done);
    expect(toVertexOperation(t, 'n', null).done).toBe(done);
    expect(taskRpcError(t)?.code).toBe(rpc);
  });

  it('maps task error codes to google.rpc codes, keeping the message and naming the Reelay code', () => {
    expect(taskRpcError(task({ status: 'failed', error: { code: 'upstream_unavailable', message: 'Down.' } }))).toEqual({ code: 14, message: 'Down. (upstream_unavailable)' });
    expect(taskRpcError(task({ status: 'cancelled', error: { code: 'off_peak_expired', message: 'Late.' } }))?.code).toBe(4);
    expect(taskRpcError(task({ status: 'failed', error: { code: 'content_filtered', message: 'No.' } }))?.code).toBe(3);
    expect(taskRpcError(task({ status: 'failed', error: { code: 'storage_full', message: 'Full.' } }))?.code).toBe(8);
    expect(taskRpcError(task({ status: 'processing' }))).toBeUndefined();
  });
});

describe('OpenAI video object', () => {
  it('has the OpenAI fields, pixel sizes and the Reelay model', () => {
    expect(toOpenAIVideo(task({ progress: 37 }), dims)).toEqual({
      id: ID, object: 'video', model: 'veo-3.0-fast-generate-001', status: 'queued', progress: 37, created_at: 100,
      completed_at: null, expires_at: null, prompt: 'p', seconds: '4', size: '1280x720', remixed_from_video_id: null, error: null,
    });
    expect(toOpenAIVideo(task({ aspect_ratio: '9:16' }), dims).size).toBe('720x1280');
    expect(toOpenAIVideo(task({ size: '1920x1080' }), dims).size).toBe('1920x1080');
    // Once rendered, the measured size wins.
    expect(toOpenAIVideo(succeeded({ metadata: { duration: 4, fps: 24, width: 720, height: 1280, seed: 1, has_audio: true } }), dims).size).toBe('720x1280');
    const failed = toOpenAIVideo(task({ status: 'cancelled', completed_at: 120, error: { code: 'cancelled', message: 'm' } }), dims);
    expect(failed).toMatchObject({ status: 'failed', completed_at: 120, error: { code: 'cancelled', message: 'm' } });
  });
});

describe('Gemini and Vertex operations', () => {
  it('a done Gemini operation points at the download uri on the public base', () => {
    expect(toGeminiOperation(task(), 'http://gw:8080')).toEqual({ name: `models/veo-3.0-fast-generate-001/operations/${ID}`, done: false });
    const op = toGeminiOperation(succeeded(), 'https://gw.example/');
    const hex = Buffer.from(ID).toString('hex');
    expect(op.response).toMatchObject({ generateVideoResponse: { generatedSamples: [{ video: { uri: `https://gw.example/v1beta/files/${hex}:download?alt=media` } }] } });
    expect(op.error).toBeUndefined();
    const failed = toGeminiOperation(task({ status: 'failed', error: { code: 'render_failed', message: 'No.' } }), 'http://gw');
    expect(failed).toEqual({ name: `models/veo-3.0-fast-generate-001/operations/${ID}`, done: true, error: { code: 13, message: 'No. (render_failed)' } });
  });

  it('a done Vertex operation carries the bytes inline under the given name', () => {
    const name = vertexOperationName('projects/p/locations/l', 'veo-3.0-fast-generate-001', ID);
    expect(name).toBe(`projects/p/locations/l/publishers/google/models/veo-3.0-fast-generate-001/operations/${ID}`);
    expect(vertexOperationName(null, 'm', ID)).toBe(`publishers/google/models/m/operations/${ID}`);
    expect(toVertexOperation(succeeded(), name, 'AAAA')).toEqual({
      name, done: true,
      response: { '@type': 'type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse', raiMediaFilteredCount: 0, videos: [{ bytesBase64Encoded: 'AAAA', mimeType: 'video/mp4' }] },
    });
    expect(taskIdFromOperationName(name)).toBe(ID);
    expect(taskIdFromOperationName(`models/m/operations/${ID}`)).toBe(ID);
    expect(taskIdFromOperationName('operations/')).toBeUndefined();
    expect(taskIdFromOperationName('projects/p/operations/a/b')).toBeUndefined();
  });
});

describe('Gemini file ids', () => {
  it('are lowercase hex of the task id, and reversible', () => {
    const f = geminiFileId(ID);
    expect(f).toMatch(/^[0-9a-f]+$/);
    expect(taskIdFromGeminiFileId(f)).toBe(ID);
    expect(geminiDownloadUri('http://gw/', ID)).toBe(`http://gw/v1beta/files/${f}:download?alt=media`);
    expect(taskIdFromGeminiFileId('abc')).toBeUndefined(); // odd length
    expect(taskIdFromGeminiFileId(Buffer.from('../x').toString('hex'))).toBeUndefined();
  });

  it('are found in the plain path and in the one the SDK builds from an http:// uri', () => {
    expect(geminiFileIdFromPath('abc123:download')).toBe('abc123');
    expect(geminiFileIdFromPath('http://127.0.0.1:8080/v1beta/files/abc123:download')).toBe('abc123');
    expect(geminiFileIdFromPath('http://h/v1beta/files/ABC:download')).toBeUndefined();
    expect(geminiFileIdFromPath('abc123')).toBeUndefined();
  });
});

describe('error envelopes', () => {
  it.each([
    [400, 'invalid_seconds', 'INVALID_ARGUMENT'], [401, 'invalid_api_key', 'UNAUTHENTICATED'], [402, 'insufficient_credits', 'FAILED_PRECONDITION'],
    [404, 'task_not_found', 'NOT_FOUND'], [409, 'idempotency_key_reused', 'ALREADY_EXISTS'], [409, 'task_not_cancellable', 'FAILED_PRECONDITION'],
    [413, 'body_too_large', 'INVALID_ARGUMENT'], [415, 'unsupported_media_type', 'INVALID_ARGUMENT'], [429, 'rate_limited', 'RESOURCE_EXHAUSTED'],
    [500, 'internal_error', 'INTERNAL'], [503, 'service_unavailable', 'UNAVAILABLE'],
  ] as const)('HTTP %s (%s) → %s', (status, code, name) => {
    expect(googleStatusName(status, code)).toBe(name);
  });

  it('Google: {code,message,status} plus the Reelay code and param as ErrorInfo', () => {
    const e = errors.invalidField('seconds', '"seconds" must be one of 4, 6, 8.');
    expect(googleErrorBody(e)).toEqual({
      error: {
        code: 400, message: '"seconds" must be one of 4, 6, 8.', status: 'INVALID_ARGUMENT',
        details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'invalid_seconds', domain: 'reelay', metadata: { param: 'seconds' } }],
      },
    });
  });

  it('OpenAI: {message,type,param,code}', () => {
    expect(openAIErrorBody(new ApiError(404, 'not_found_error', 'task_not_found', 'No task.', { param: 'task_id' })))
      .toEqual({ error: { message: 'No task.', type: 'not_found_error', param: 'task_id', code: 'task_not_found' } });
  });
});
