import { request } from 'undici';
import { ProviderError } from '../provider.ts';

export interface CallOptions {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  /** Serialised as JSON with Content-Type: application/json. */
  json?: unknown;
  /**
   * Whole exchange, headers and body. Upstream create/poll calls answer in
   * well under a second normally; a call that takes longer than this is hung.
   */
  timeoutMs: number;
  /** The task's signal: cancel/shutdown stop the call at once. */
  signal: AbortSignal;
  /** e.g. "Gemini API": names the upstream in messages users see. */
  label: string;
  /** Values (API keys, tokens) that must never appear in a message we record. */
  secrets: readonly string[];
  /** Reads the upstream's own error message from its error body. */
  errorMessage: (body: unknown) => string | undefined;
  /** Largest answer accepted (default 8 MB); a poll that may carry the video inline needs more. */
  maxBytes?: number;
}

const MAX_MESSAGE = 500;
/** Error and JSON bodies are small; a bigger one is not a real answer. */
const MAX_JSON_BYTES = 8 * 1024 * 1024;

export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('[redacted]');
  return out.length > MAX_MESSAGE ? `${out.slice(0, MAX_MESSAGE)}…` : out;
}

/**
 * One JSON call to an upstream API, with the error classes of the issue:
 * 400/404/409/422 → upstream_rejected, 401/403 → upstream_auth (both final),
 * 429/5xx/timeouts/network → retryable, non-JSON success → upstream_invalid_response.
 */
export async function callJson(o: CallOptions): Promise<unknown> {
  const timeout = AbortSignal.timeout(o.timeoutMs);
  const signal = AbortSignal.any([o.signal, timeout]);
  const headers: Record<string, string> = { accept: 'application/json', ...o.headers };
  if (o.json !== undefined) headers['content-type'] = 'application/json';
  let status: number;
  let text: string;
  let retryAfter: unknown;
  try {
    const res = await request(o.url, {
      method: o.method, headers, signal,
      body: o.json === undefined ? null : JSON.stringify(o.json),
    });
    status = res.statusCode;
    retryAfter = res.headers['retry-after'];
    text = await readText(res.body, o.maxBytes ?? MAX_JSON_BYTES);
  } catch (e) {
    if (o.signal.aborted || e instanceof ProviderError) throw e;
    if (timeout.aborted) {
      throw new ProviderError('upstream_timeout', `${o.label} did not answer within ${o.timeoutMs / 1000} s.`, { retryable: true, cause: e });
    }
    const code = (e as { code?: unknown }).code;
    const suffix = typeof code === 'string' && /^[A-Z_]+$/.test(code) ? ` (${code})` : '';
    throw new ProviderError('upstream_unavailable', `${o.label} could not be reached${suffix}.`, { retryable: true, cause: e });
  }
  let body: unknown;
  let parsed = true;
  try {
    body = text === '' ? {} : JSON.parse(text);
  } catch {
    parsed = false;
  }
  if (status >= 200 && status < 300) {
    if (!parsed || body === null || typeof body !== 'object') {
      throw new ProviderError('upstream_invalid_response', `${o.label} answered HTTP ${status} with a body that is not a JSON object.`);
    }
    return body;
  }
  const upstreamMsg = parsed ? o.errorMessage(body) : undefined;
  const detail = upstreamMsg ? `: ${redact(upstreamMsg, o.secrets)}` : '';
  if (status === 401 || status === 403) {
    throw new ProviderError('upstream_auth', `${o.label} refused Reelay's credentials (HTTP ${status})${detail}`);
  }
  if (status === 429 || status >= 500 || status === 408) {
    throw new ProviderError('upstream_unavailable', `${o.label} is unavailable (HTTP ${status})${detail}`,
      // A 429 pauses the channel: for its Retry-After, or a second when it gives none (Gemini usually does not).
      { retryable: true, ...(status === 429 ? { throttledMs: retryAfter === undefined ? 1000 : retryAfterMs(retryAfter) } : {}) });
  }
  throw new ProviderError('upstream_rejected', `${o.label} rejected the request (HTTP ${status})${detail}`);
}

/** Retry-After in seconds (or an HTTP date), bounded to 1 s–5 min; 10 s when unreadable. */
export function retryAfterMs(v: unknown, now = Date.now()): number {
  const s = typeof v === 'string' ? v.trim() : '';
  let ms = /^\d+$/.test(s) ? Number(s) * 1000 : s ? Date.parse(s) - now : NaN;
  if (!Number.isFinite(ms)) ms = 10_000;
  return Math.min(300_000, Math.max(1000, ms));
}

async function readText(body: AsyncIterable<Buffer> & { destroy?: () => void }, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > max) throw new ProviderError('upstream_invalid_response', 'The upstream answer is too large.');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

/** Google's error envelope: {"error":{"code","message","status"}}. */
export function googleErrorMessage(body: unknown): string | undefined {
  const m = (body as { error?: { message?: unknown } } | null)?.error?.message;
  return typeof m === 'string' ? m : undefined;
}

/** Vidu's error body: {"code","reason","message"}. */
export function viduErrorMessage(body: unknown): string | undefined {
  const b = body as { message?: unknown; reason?: unknown } | null;
  if (typeof b?.message === 'string') return typeof b.reason === 'string' ? `${b.reason}: ${b.message}` : b.message;
  return undefined;
}

export function invalidResponse(label: string, what: string): ProviderError {
  return new ProviderError('upstream_invalid_response', `${label} answered without ${what}.`);
}
