import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { ProviderError, type GenerationContext, type GenerationJob, type GenerationResult, type VideoProvider } from '../provider.ts';

export type UpstreamName = 'gemini' | 'vertex' | 'vidu';

/** Where the finished video is: bytes in the answer, or a URL the adapter knows how to fetch. */
export type ResultVideo = { kind: 'bytes'; data: Buffer } | { kind: 'url'; url: string };

export type PollOutcome = { done: false } | { done: true; video: ResultVideo };

/**
 * One upstream's wire format, nothing else: the loop, failover, progress,
 * cancel-on-abort and writing the file are shared (upstreamProvider below).
 */
export interface UpstreamAdapter {
  readonly name: UpstreamName;
  /** Create the upstream job; returns its id (operation name, task id). */
  submit(job: GenerationJob, signal: AbortSignal): Promise<string>;
  poll(id: string, signal: AbortSignal): Promise<PollOutcome>;
  /** Best effort, where the upstream has it. */
  cancel?(id: string): Promise<void>;
  /** Fetch a `url` result into `path` (streamed, capped). */
  download(url: string, path: string, signal: AbortSignal): Promise<void>;
}

export interface UpstreamTiming {
  /** First poll interval; it grows ×1.5 per poll up to 5× this (2 s → 10 s by default). */
  pollMs: number;
  /** Give up on an upstream job that has not finished after this long. */
  maxWaitMs: number;
  /** What a typical job takes, for the time-based progress estimate. */
  expectedMs?: number;
  /** Consecutive retryable poll failures tolerated before the task fails. */
  maxPollFailures?: number;
}

const PROGRESS_CAP = 90;

/**
 * The VideoProvider for a task routed to `first`: submit there, and if that
 * submit fails retryably (429, 5xx, timeout, network) try the next configured
 * upstream in the model's `providers` list. The task then stays with whichever
 * channel accepted it until it ends.
 */
export function upstreamProvider(first: UpstreamName, adapters: Partial<Record<UpstreamName, UpstreamAdapter>>, timing: UpstreamTiming): VideoProvider {
  return {
    name: first,
    async generate(job: GenerationJob, ctx: GenerationContext): Promise<GenerationResult> {
      const chain = [first, ...job.model.providers.filter((p) => p !== first)]
        .map((p) => adapters[p as UpstreamName])
        .filter((a): a is UpstreamAdapter => a !== undefined);
      const { adapter, id, tried } = await submitWithFailover(chain, job, ctx.signal);
      const video = await waitForResult(adapter, id, ctx, timing);
      const videoPath = join(ctx.workDir, 'video.mp4');
      if (video.kind === 'bytes') await writeFile(videoPath, video.data);
      else await withCancel(adapter, id, ctx.signal, () => adapter.download(video.url, videoPath, ctx.signal));
      return {
        videoPath,
        details: { provider: adapter.name, upstream: { provider: adapter.name, id }, ...(tried.length ? { failover_from: tried } : {}) },
      };
    },
  };
}

async function submitWithFailover(chain: UpstreamAdapter[], job: GenerationJob, signal: AbortSignal) {
  const tried: string[] = [];
  const reasons: string[] = [];
  for (const adapter of chain) {
    try {
      const id = await adapter.submit(job, signal);
      return { adapter, id, tried };
    } catch (e) {
      if (signal.aborted || !(e instanceof ProviderError) || !e.retryable) throw e;
      tried.push(adapter.name);
      reasons.push(e.message);
    }
  }
  throw new ProviderError('upstream_unavailable',
    chain.length === 0 ? `No upstream is configured for ${job.model.id}.` : `No upstream accepted the task. ${reasons.join(' ')}`,
    { retryable: true });
}

async function waitForResult(adapter: UpstreamAdapter, id: string, ctx: GenerationContext, t: UpstreamTiming) {
  return withCancel(adapter, id, ctx.signal, async () => {
    const started = Date.now();
    const expected = t.expectedMs ?? 60_000;
    const maxFailures = t.maxPollFailures ?? 3;
    let interval = t.pollMs;
    let failures = 0;
    for (;;) {
      await sleep(interval, ctx.signal);
      interval = Math.min(interval * 1.5, t.pollMs * 5);
      let out: PollOutcome;
      try {
        out = await adapter.poll(id, ctx.signal);
        failures = 0;
      } catch (e) {
        if (ctx.signal.aborted || !(e instanceof ProviderError) || !e.retryable || ++failures >= maxFailures) throw e;
        out = { done: false };
      }
      if (out.done) return out.video;
      const elapsed = Date.now() - started;
      if (elapsed > t.maxWaitMs) {
        throw new ProviderError('upstream_timeout', `The ${adapter.name} job did not finish within ${Math.round(t.maxWaitMs / 1000)} s.`, { retryable: true });
      }
      // Upstreams report no progress: an estimate that approaches, never reaches, the cap.
      ctx.onProgress(PROGRESS_CAP * (1 - Math.exp(-elapsed / expected)));
    }
  });
}

/** Runs `fn`; if the task's signal fired meanwhile, cancels the upstream job (where it can) before rethrowing. */
async function withCancel<T>(adapter: UpstreamAdapter, id: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (signal.aborted && adapter.cancel) await adapter.cancel(id).catch(() => {});
    throw e;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => { clearTimeout(timer); reject(signal.reason); };
    const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
