import type { z } from 'zod';
import type { SubmitRequest, TaskList, TaskObject, TaskStatusSchema } from '../domain/task-schemas.ts';
import { abortError, ReelayTimeoutError } from './errors.ts';
import { sleep, type Transport } from './transport.ts';

export type Task = TaskObject;
export type TaskStatus = z.infer<typeof TaskStatusSchema>;
export type TaskListPage = z.infer<typeof TaskList>;

/** An image: bytes (Buffer, Uint8Array, Blob) are uploaded; a string is an https:// URL, a data: URI or bare base64. */
export type ImageInput = string | Uint8Array | Blob;

/** The submit fields of the API (from its zod schema), with images given as bytes or strings. */
export type VideoCreateParams = Omit<SubmitRequest, 'images' | 'reference_images' | 'extend_task_id'> & {
  /** Pictures of a subject to keep in the video (GET /v1/models says which models take how many). */
  reference_images?: ImageInput[];
} & (
  | {
    /** The first frame, or [first, last] (last frame: Veo 3.1, Vidu start-end models). */
    images: ImageInput | ImageInput[];
    extend_task_id?: undefined;
  }
  | {
    /** Continue this succeeded task's video (no images then); the result is the whole extended video. */
    extend_task_id: string;
    images?: undefined;
  }
);

export interface CallOptions {
  signal?: AbortSignal;
}

export interface WaitOptions extends CallOptions {
  /** Called after every poll with the task as it is now. */
  onProgress?: (task: Task) => void;
  /** Give up after this many milliseconds (a ReelayTimeoutError; the task keeps running). */
  timeout?: number;
  pollIntervalMs?: number;
}

export interface ListParams {
  /** Page size, 1–100 (default 20). */
  limit?: number;
  status?: TaskStatus;
  /** Start after this task id. */
  after?: string;
}

/** `for await (const task of videos.list())` walks every page; `.page()` fetches one. */
export interface TaskPager extends AsyncIterable<Task> {
  page(o?: { after?: string } & CallOptions): Promise<TaskListPage>;
}

const ENDED = new Set<TaskStatus>(['succeeded', 'failed', 'cancelled']);
export const isEnded = (status: TaskStatus): boolean => ENDED.has(status);

const isBytes = (i: ImageInput): i is Uint8Array | Blob => typeof i !== 'string';
const toBlob = (i: Uint8Array | Blob): Blob => (i instanceof Blob ? i : new Blob([new Uint8Array(i)]));
const toBase64 = async (i: Uint8Array | Blob): Promise<string> =>
  Buffer.from(i instanceof Blob ? new Uint8Array(await i.arrayBuffer()) : i).toString('base64');

const asStrings = (list: ImageInput[]) => Promise.all(list.map((i) => (isBytes(i) ? toBase64(i) : i)));

/** The server reads at most this many multipart file parts; more byte images go as base64 in JSON. */
const MULTIPART_FILES = 4;

/**
 * Bytes go up as multipart file parts named `images` and `reference_images`
 * (no base64 inflation). The server reads text image parts before file parts
 * (references keep their order either way), so when a string image follows a
 * byte image the order can only be kept in JSON: then bytes are sent as bare
 * base64, as they are when there are more files than multipart allows.
 */
async function submitBody(params: VideoCreateParams): Promise<{ json: unknown } | { form: FormData }> {
  const { images: raw, reference_images: references = [], ...fields } = params;
  const images = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const firstBytes = images.findIndex(isBytes);
  const stringAfterBytes = firstBytes >= 0 && images.slice(firstBytes).some((i) => typeof i === 'string');
  const files = [...images, ...references].filter(isBytes).length;
  if (files === 0 || files > MULTIPART_FILES || stringAfterBytes) {
    return {
      json: {
        ...fields, ...(raw !== undefined && { images: await asStrings(images) }),
        ...(references.length && { reference_images: await asStrings(references) }),
      },
    };
  }
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== null) form.append(k, String(v));
  const append = (field: string, list: ImageInput[]) => list.forEach((i, n) => {
    if (isBytes(i)) form.append(field, toBlob(i), `${field === 'images' ? 'image' : 'reference'}-${n}`);
    else form.append(field, i);
  });
  append('images', images);
  append('reference_images', references);
  return { form };
}

const path = (id: string, suffix = '') => `/v1/video/generations/${encodeURIComponent(id)}${suffix}`;

export function videosResource(t: Transport) {
  const get = (id: string, o: CallOptions = {}) => t.json<Task>(path(id), { signal: o.signal });

  async function content(id: string, o: { variant?: 'video' | 'thumbnail' } & CallOptions): Promise<Response> {
    return t.request(path(id, '/content'), { query: { variant: o.variant }, signal: o.signal, headers: { accept: '*/*' } });
  }

  return {
    /** Submit a task. An Idempotency-Key is generated unless given, so retries never create a second task. */
    async create(params: VideoCreateParams, o: { idempotencyKey?: string } & CallOptions = {}): Promise<Task> {
      const body = await submitBody(params);
      const headers = { 'idempotency-key': o.idempotencyKey ?? crypto.randomUUID() };
      return t.json<Task>('/v1/video/generations', { method: 'POST', headers, signal: o.signal, ...body });
    },

    get,

    /** Cancel a queued or processing task (a ReelayError 409 once it has ended). */
    cancel: (id: string, o: CallOptions = {}) => t.json<Task>(path(id, '/cancel'), { method: 'POST', signal: o.signal }),

    list(params: ListParams = {}): TaskPager {
      const page = (o: { after?: string } & CallOptions = {}) => t.json<TaskListPage>('/v1/video/generations', {
        query: { limit: params.limit, status: params.status, after: o.after ?? params.after }, signal: o.signal,
      });
      return {
        page,
        async *[Symbol.asyncIterator]() {
          let after = params.after;
          for (;;) {
            const p = await page(after === undefined ? {} : { after });
            yield* p.data;
            if (!p.has_more || !p.last_id) return;
            after = p.last_id;
          }
        },
      };
    },

    /**
     * Poll until the task has ended and resolve with it (succeeded, failed or
     * cancelled: check `status`). Rejects with an AbortError when `signal`
     * aborts, and with a ReelayTimeoutError after `timeout` ms.
     */
    async waitUntilDone(id: string, o: WaitOptions = {}): Promise<Task> {
      const timer = o.timeout === undefined ? undefined : AbortSignal.timeout(o.timeout);
      const signals = [o.signal, timer].filter((s): s is AbortSignal => s !== undefined);
      const signal = signals.length ? AbortSignal.any(signals) : undefined;
      let last: Task | undefined;
      try {
        for (;;) {
          last = await get(id, signal ? { signal } : {});
          o.onProgress?.(last);
          if (isEnded(last.status)) return last;
          await sleep(o.pollIntervalMs ?? 1000, signal);
        }
      } catch (e) {
        if (o.signal?.aborted) throw abortError(o.signal);
        if (timer?.aborted) {
          throw new ReelayTimeoutError(`Task ${id} did not end within ${o.timeout} ms (last status: ${last?.status ?? 'unknown'}).`, last);
        }
        throw e;
      }
    },

    /** The MP4 (or `variant: 'thumbnail'`, a JPEG) in memory. */
    async download(id: string, o: { variant?: 'video' | 'thumbnail' } & CallOptions = {}): Promise<Buffer> {
      return Buffer.from(await (await content(id, o)).arrayBuffer());
    },

    /** The same as a web stream, for large files: `Readable.fromWeb(stream).pipe(file)`. */
    async downloadStream(id: string, o: { variant?: 'video' | 'thumbnail' } & CallOptions = {}): Promise<ReadableStream<Uint8Array>> {
      const res = await content(id, o);
      if (!res.body) throw new Error(`Task ${id}: the content response has no body.`);
      return res.body;
    },
  };
}

export type Videos = ReturnType<typeof videosResource>;
