/**
 * The Reelay TypeScript SDK:
 *
 *   import { Reelay } from 'reelay/client';
 *   const reelay = new Reelay({ baseUrl: 'http://127.0.0.1:8080', apiKey: process.env.REELAY_API_KEY! });
 *   const task = await reelay.videos.create({
 *     model: 'veo-3.1-fast-generate-001', prompt: 'slow push in', aspect_ratio: '16:9', seconds: 4,
 *     images: await readFile('start.png'),
 *   });
 *   const done = await reelay.videos.waitUntilDone(task.id, { onProgress: (t) => console.log(t.progress) });
 *   if (done.status === 'succeeded') await writeFile('video.mp4', await reelay.videos.download(done.id));
 *
 * Types come from the server's own zod schemas. Errors are ReelayError (API
 * errors, with status/code/param/type/requestId) and ReelayConnectionError;
 * 429, 5xx and network errors are retried with backoff, honouring Retry-After.
 */
import type { z } from 'zod';
import type { CreditBalance as CreditBalanceSchema } from '../http/routes/credits.ts';
import type { ModelList as ModelListSchema } from '../http/routes/models.ts';
import { verifyWebhook } from './webhooks.ts';
import { createTransport, type Transport } from './transport.ts';
import { videosResource, type CallOptions, type Videos } from './videos.ts';

export { ReelayConnectionError, ReelayError, ReelayTimeoutError, isReelayError } from './errors.ts';
export { WebhookSignatureError, type ReelayWebhookEvent } from './webhooks.ts';
export type {
  CallOptions, ImageInput, ListParams, Task, TaskListPage, TaskPager, TaskStatus, VideoCreateParams, WaitOptions,
} from './videos.ts';
export { isEnded } from './videos.ts';

export type CreditBalance = z.infer<typeof CreditBalanceSchema>;
export type ModelList = z.infer<typeof ModelListSchema>;
export type Model = ModelList['data'][number];

export interface ReelayOptions {
  /** Default http://127.0.0.1:8080. */
  baseUrl?: string;
  apiKey: string;
  /** A fetch of your own (tests, proxies, instrumentation). */
  fetch?: typeof fetch;
  /** Retries after the first attempt on 429, 5xx and network errors (default 3). */
  maxRetries?: number;
  /** Per attempt, until the response headers arrive (default 60 s: submits upload images). */
  timeoutMs?: number;
}

export const DEFAULT_BASE_URL = 'http://127.0.0.1:8080';

export class Reelay {
  readonly videos: Videos;
  readonly credits: { get(o?: { limit?: number } & CallOptions): Promise<CreditBalance> };
  readonly models: { list(o?: CallOptions): Promise<ModelList> };
  /** Verify a webhook Reelay sent you: `webhooks.verify(rawBody, headers, secret)` → the event. */
  readonly webhooks = { verify: verifyWebhook };
  readonly baseUrl: string;

  constructor(o: ReelayOptions) {
    if (!o?.apiKey) throw new TypeError('Reelay: apiKey is required (create one with `reelay keys create`).');
    this.baseUrl = (o.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    const t: Transport = createTransport({
      baseUrl: this.baseUrl, apiKey: o.apiKey, fetch: o.fetch ?? globalThis.fetch,
      maxRetries: o.maxRetries ?? 3, timeoutMs: o.timeoutMs ?? 60_000,
    });
    this.videos = videosResource(t);
    this.credits = { get: (q = {}) => t.json<CreditBalance>('/v1/credits', { query: { limit: q.limit }, signal: q.signal }) };
    this.models = { list: (q = {}) => t.json<ModelList>('/v1/models', { signal: q.signal }) };
  }
}
