import type { ApiError } from '../../domain/errors.ts';
import type { TaskObject } from '../../domain/task-schemas.ts';

/**
 * One Reelay task, seen through the official SDKs' wire formats: the OpenAI
 * video object, the Gemini API and Vertex AI long-running operations, and each
 * surface's error envelope (UPSTREAM.md §0–§3, §6). Pure functions only: the
 * plugins beside this file (gemini.ts, vertex.ts, openai.ts) fetch the task
 * and render what these return.
 */

// ---- OpenAI Videos -------------------------------------------------------

export type OpenAIStatus = 'queued' | 'in_progress' | 'completed' | 'failed';

/** OpenAI has no "cancelled": a cancelled task is a failed video whose error says why. */
export function openAIStatus(status: TaskObject['status']): OpenAIStatus {
  switch (status) {
    case 'queued': return 'queued';
    case 'processing': return 'in_progress';
    case 'succeeded': return 'completed';
    case 'failed':
    case 'cancelled': return 'failed';
  }
}

export interface OpenAIVideo {
  id: string;
  object: 'video';
  model: string;
  status: OpenAIStatus;
  progress: number;
  created_at: number;
  completed_at: number | null;
  expires_at: number | null;
  prompt: string | null;
  seconds: string;
  size: string;
  remixed_from_video_id: null;
  error: { code: string; message: string } | null;
}

/** Output pixels of a task as `WxH`; `dimensions` resolves a resolution name (720p) for an aspect ratio. */
export type Dimensions = (size: string, aspectRatio: string) => { width: number; height: number } | undefined;

export function taskPixels(t: TaskObject, dimensions: Dimensions): string {
  if (t.metadata) return `${t.metadata.width}x${t.metadata.height}`;
  if (/^\d+x\d+$/.test(t.size)) return t.size;
  const d = dimensions(t.size, t.aspect_ratio);
  return d ? `${d.width}x${d.height}` : t.size;
}

export function toOpenAIVideo(t: TaskObject, dimensions: Dimensions): OpenAIVideo {
  return {
    id: t.id,
    object: 'video',
    model: t.model,
    status: openAIStatus(t.status),
    progress: Math.max(0, Math.min(100, Math.round(t.progress))),
    created_at: t.created_at,
    completed_at: t.completed_at,
    expires_at: t.expires_at,
    prompt: t.prompt,
    seconds: t.seconds,
    size: taskPixels(t, dimensions),
    remixed_from_video_id: null,
    error: t.error,
  };
}

export interface OpenAIList {
  object: 'list';
  data: OpenAIVideo[];
  has_more: boolean;
  first_id: string | null;
  last_id: string | null;
}

export function openAIErrorBody(e: ApiError) {
  return { error: { message: e.message, type: e.type, param: e.param, code: e.code } };
}

// ---- google.rpc (both Google surfaces) -----------------------------------

/** google.rpc.Code numbers used in an operation's `error`. */
export const RPC_CODE = {
  CANCELLED: 1, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14,
} as const;

/** A task's error code → google.rpc.Code; unlisted codes are INTERNAL (CANCELLED for a cancelled task). */
const TASK_ERROR_RPC: Record<string, number> = {
  off_peak_expired: RPC_CODE.DEADLINE_EXCEEDED,
  content_filtered: RPC_CODE.INVALID_ARGUMENT,
  upstream_rejected: RPC_CODE.INVALID_ARGUMENT,
  unsupported: RPC_CODE.UNIMPLEMENTED,
  upstream_timeout: RPC_CODE.DEADLINE_EXCEEDED,
  upstream_unavailable: RPC_CODE.UNAVAILABLE,
  storage_full: RPC_CODE.RESOURCE_EXHAUSTED,
};

export interface RpcStatus {
  code: number;
  message: string;
}

/** The google.rpc.Status of an ended, unsuccessful task; undefined otherwise. */
export function taskRpcError(t: Pick<TaskObject, 'status' | 'error'>): RpcStatus | undefined {
  if (t.status !== 'failed' && t.status !== 'cancelled') return undefined;
  const code = t.error?.code ?? (t.status === 'cancelled' ? 'cancelled' : 'internal_error');
  const message = t.error?.message || (t.status === 'cancelled' ? 'The task was cancelled.' : 'The video could not be produced.');
  const rpc = TASK_ERROR_RPC[code] ?? (t.status === 'cancelled' ? RPC_CODE.CANCELLED : RPC_CODE.INTERNAL);
  return { code: rpc, message: `${message} (${code})` };
}

/** HTTP status → the google.rpc status name Google's APIs put next to it. */
export function googleStatusName(httpStatus: number, reelayCode: string): string {
  switch (httpStatus) {
    case 400: case 413: case 414: case 415: case 431: return 'INVALID_ARGUMENT';
    case 401: return 'UNAUTHENTICATED';
    case 402: return 'FAILED_PRECONDITION';
    case 403: return 'PERMISSION_DENIED';
    case 404: return 'NOT_FOUND';
    case 408: case 504: return 'DEADLINE_EXCEEDED';
    case 409: return reelayCode === 'idempotency_key_reused' ? 'ALREADY_EXISTS' : 'FAILED_PRECONDITION';
    case 416: return 'OUT_OF_RANGE';
    case 429: return 'RESOURCE_EXHAUSTED';
    case 501: return 'UNIMPLEMENTED';
    case 503: return 'UNAVAILABLE';
  }
  return httpStatus >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION';
}

/** `{"error":{code,message,status,details}}`; Reelay's code and param travel in a google.rpc.ErrorInfo. */
export function googleErrorBody(e: ApiError) {
  return {
    error: {
      code: e.status,
      message: e.message,
      status: googleStatusName(e.status, e.code),
      details: [{
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: e.code,
        domain: 'reelay',
        metadata: e.param ? { param: e.param } : {},
      }],
    },
  };
}

// ---- Gemini API ----------------------------------------------------------

export interface GoogleOperation {
  name: string;
  done: boolean;
  response?: Record<string, unknown>;
  error?: RpcStatus;
}

const ended = (s: TaskObject['status']) => s === 'succeeded' || s === 'failed' || s === 'cancelled';

export const geminiOperationName = (model: string, taskId: string) => `models/${model}/operations/${taskId}`;

/**
 * Gemini file ids: the SDK keeps only the leading `[a-z0-9]+` run after
 * `files/`, so the task id travels as lowercase hex of its bytes (reversible,
 * nothing stored).
 */
export const geminiFileId = (taskId: string) => Buffer.from(taskId, 'utf8').toString('hex');

export function taskIdFromGeminiFileId(fileId: string): string | undefined {
  if (!/^(?:[0-9a-f]{2}){1,100}$/.test(fileId)) return undefined;
  const id = Buffer.from(fileId, 'hex').toString('utf8');
  return /^[A-Za-z0-9_-]{1,100}$/.test(id) ? id : undefined;
}

/**
 * The file id in a download path. Besides `files/<id>:download`, accept what
 * the SDK requests when the video uri is not https://: it then appends the
 * whole uri, giving `files/http://host/v1beta/files/<id>:download`.
 */
export function geminiFileIdFromPath(path: string): string | undefined {
  const at = path.lastIndexOf('files/');
  const m = /^([a-z0-9]+):download$/.exec(at >= 0 ? path.slice(at + 'files/'.length) : path);
  return m?.[1];
}

export const geminiDownloadUri = (publicBase: string, taskId: string) =>
  `${publicBase.replace(/\/+$/, '')}/v1beta/files/${geminiFileId(taskId)}:download?alt=media`;

export function toGeminiOperation(t: TaskObject, publicBase: string): GoogleOperation {
  const op: GoogleOperation = { name: geminiOperationName(t.model, t.id), done: ended(t.status) };
  if (t.status === 'succeeded') {
    op.response = {
      '@type': 'type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse',
      generateVideoResponse: {
        generatedSamples: [{ video: { uri: geminiDownloadUri(publicBase, t.id) } }],
      },
    };
  }
  const error = taskRpcError(t);
  if (error) op.error = error;
  return op;
}

// ---- Vertex AI -----------------------------------------------------------

/** `projects/P/locations/L` when the request path had it, else null (express mode). */
export const vertexOperationName = (scope: string | null, model: string, taskId: string) =>
  `${scope ? `${scope}/` : ''}publishers/google/models/${model}/operations/${taskId}`;

/** The task id at the end of any operation name (`…/operations/<id>`). */
export function taskIdFromOperationName(name: string): string | undefined {
  return /(?:^|\/)operations\/([A-Za-z0-9_-]{1,100})$/.exec(name)?.[1];
}

/**
 * A done Vertex operation carries the MP4 inline (no storageUri). `videoBase64` is the base64 text, or
 * INLINE_VIDEO (inline-video.ts), which streamVertexOperation replaces with the bytes as it writes them.
 */
export function toVertexOperation(t: TaskObject, name: string, videoBase64: string | null): GoogleOperation {
  const op: GoogleOperation = { name, done: ended(t.status) };
  if (t.status === 'succeeded') {
    op.response = {
      '@type': 'type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse',
      raiMediaFilteredCount: 0,
      videos: videoBase64 === null ? [] : [{ bytesBase64Encoded: videoBase64, mimeType: 'video/mp4' }],
    };
  }
  const error = taskRpcError(t);
  if (error) op.error = error;
  return op;
}
