import { abortError, ReelayConnectionError, ReelayError } from './errors.ts';

export interface TransportOptions {
  baseUrl: string;
  apiKey: string;
  fetch: typeof fetch;
  /** Extra attempts after the first on 429, 5xx and network errors. */
  maxRetries: number;
  /** Per attempt, until the response headers arrive (a long download is not cut off). */
  timeoutMs: number;
}

export interface RequestOptions {
  method?: 'GET' | 'POST';
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  form?: FormData;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
}

/** Backoff between attempts: 0.5 s, 1 s, 2 s, … (±25 % jitter so clients do not retry in step), at most 8 s. */
const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 8_000;
/** A server asking for more than this is treated as "not now": the error is thrown instead of sleeping. */
const MAX_RETRY_AFTER_MS = 60_000;

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => { clearTimeout(timer); reject(abortError(signal!)); };
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `Retry-After` as seconds or an HTTP date → milliseconds; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

async function errorFrom(res: Response): Promise<ReelayError> {
  const requestId = res.headers.get('x-request-id');
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
  const retryAfter = retryAfterMs === null ? null : retryAfterMs / 1000;
  const text = await res.text().catch(() => '');
  try {
    const e = (JSON.parse(text) as { error?: { type?: string; code?: string; message?: string; param?: string | null } }).error;
    if (e && typeof e.message === 'string') {
      return new ReelayError(e.message, {
        status: res.status, type: e.type ?? 'api_error', code: e.code ?? `http_${res.status}`, param: e.param ?? null, requestId, retryAfter,
      });
    }
  } catch { /* not our error JSON (a proxy's page, …): fall through */ }
  const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200);
  return new ReelayError(`HTTP ${res.status}${snippet ? `: ${snippet}` : ''}`, {
    status: res.status, type: 'api_error', code: `http_${res.status}`, requestId, retryAfter,
  });
}

/**
 * One HTTP client for every SDK call: auth, JSON errors → ReelayError, and
 * retries. A request is replayed after an ambiguous failure (network error,
 * 5xx) only when replaying cannot do something twice: GET, or a request with
 * an Idempotency-Key. Anything else is retried only on 429/503, which the
 * server answers before acting.
 */
export function createTransport(o: TransportOptions) {
  const base = o.baseUrl.replace(/\/+$/, '');

  async function request(path: string, r: RequestOptions = {}): Promise<Response> {
    const method = r.method ?? 'GET';
    const url = new URL(base + path);
    for (const [k, v] of Object.entries(r.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { authorization: `Bearer ${o.apiKey}`, accept: 'application/json', ...r.headers };
    let body: string | FormData | undefined;
    if (r.form) body = r.form;
    else if (r.json !== undefined) {
      body = JSON.stringify(r.json);
      headers['content-type'] = 'application/json';
    }
    const replaySafe = method === 'GET' || Object.keys(headers).some((h) => h.toLowerCase() === 'idempotency-key');

    for (let attempt = 0; ; attempt++) {
      if (r.signal?.aborted) throw abortError(r.signal);
      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(), o.timeoutMs);
      const signal = r.signal ? AbortSignal.any([r.signal, timeout.signal]) : timeout.signal;
      let failure: ReelayError;
      let retryAfterMs: number | null = null;
      try {
        const res = await o.fetch(url, { method, headers, body, signal });
        if (res.ok) return res;
        failure = await errorFrom(res);
        retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
        const retryable = res.status === 429 || res.status === 503 || (replaySafe && res.status >= 500);
        if (!retryable) throw failure;
      } catch (e) {
        if (r.signal?.aborted) throw abortError(r.signal);
        if (e instanceof ReelayError) throw e;
        const why = timeout.signal.aborted ? `no answer within ${o.timeoutMs} ms` : ((e as Error).cause as Error | undefined)?.message ?? (e as Error).message;
        failure = new ReelayConnectionError(`Could not reach Reelay at ${base} (${why}).`, { cause: e });
        if (!replaySafe) throw failure;
      } finally {
        clearTimeout(timer);
      }
      if (attempt >= o.maxRetries || (retryAfterMs !== null && retryAfterMs > MAX_RETRY_AFTER_MS)) throw failure;
      const backoff = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt) * (0.75 + Math.random() * 0.5);
      await sleep(retryAfterMs ?? backoff, r.signal);
    }
  }

  return {
    request,
    async json<T>(path: string, r: RequestOptions = {}): Promise<T> {
      const res = await request(path, r);
      return (await res.json()) as T;
    },
  };
}

export type Transport = ReturnType<typeof createTransport>;
