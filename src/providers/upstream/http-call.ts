import { request } from 'undici';
import { failure, type UpstreamFailure } from '../../domain/failures.ts';

export interface CallOptions {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  /** Serialised as JSON with Content-Type: application/json. */
  json?: unknown;
  /** A prepared body (multipart) with its own content-type in `headers`. */
  body?: Buffer | string;
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

/**
 * The answer to one call, never an exception: a JSON object on 2xx, or what
 * went wrong — the HTTP status and parsed error body for the adapter to read
 * its own codes from, or a transport failure (status null).
 */
export type CallResult =
  | { ok: true; status: number; body: Record<string, unknown> }
  | CallFailed;

export interface CallFailed {
  ok: false;
  /** null: no HTTP answer (timeout, network) or an unreadable 2xx. */
  status: number | null;
  /** The parsed error body (undefined when it was not JSON). */
  body: unknown;
  /** The upstream's own message, redacted and cut to 500 characters ('' when none). */
  detail: string;
  /** A 429's Retry-After in ms (1 s when the upstream gave none); a 503's when it gave one. */
  retryAfterMs?: number;
  transport?: 'timeout' | 'network' | 'invalid_json' | 'too_large';
}

const MAX_MESSAGE = 500;
/** Error and JSON bodies are small; a bigger one is not a real answer. */
const MAX_JSON_BYTES = 8 * 1024 * 1024;

export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('[redacted]');
  return out.length > MAX_MESSAGE ? `${out.slice(0, MAX_MESSAGE)}…` : out;
}

class TooLarge extends Error {}

/** One JSON call to an upstream. Throws only when the caller's own signal aborted. */
export async function callJson(o: CallOptions): Promise<CallResult> {
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
      body: o.json !== undefined ? JSON.stringify(o.json) : o.body ?? null,
    });
    status = res.statusCode;
    retryAfter = res.headers['retry-after'];
    text = await readText(res.body, o.maxBytes ?? MAX_JSON_BYTES);
  } catch (e) {
    if (o.signal.aborted) throw o.signal.reason ?? e;
    if (e instanceof TooLarge) return { ok: false, status: null, body: undefined, detail: `${o.label} answered with more than ${Math.round((o.maxBytes ?? MAX_JSON_BYTES) / 1024 / 1024)} MB.`, transport: 'too_large' };
    if (timeout.aborted) return { ok: false, status: null, body: undefined, detail: `${o.label} did not answer within ${o.timeoutMs / 1000} s.`, transport: 'timeout' };
    const code = (e as { code?: unknown }).code;
    const suffix = typeof code === 'string' && /^[A-Z_]+$/.test(code) ? ` (${code})` : '';
    return { ok: false, status: null, body: undefined, detail: `${o.label} could not be reached${suffix}.`, transport: 'network' };
  }
  let body: unknown;
  let parsed = true;
  try {
    body = text === '' ? {} : JSON.parse(text);
  } catch {
    parsed = false;
  }
  if (status >= 200 && status < 300) {
    if (!parsed || body === null || typeof body !== 'object' || Array.isArray(body)) {
      return { ok: false, status: null, body: undefined, detail: `${o.label} answered HTTP ${status} with a body that is not a JSON object.`, transport: 'invalid_json' };
    }
    return { ok: true, status, body: body as Record<string, unknown> };
  }
  const upstreamMsg = parsed ? o.errorMessage(body) : undefined;
  return {
    ok: false, status, body: parsed ? body : undefined,
    detail: upstreamMsg ? redact(upstreamMsg, o.secrets) : '',
    ...(status === 429 ? { retryAfterMs: retryAfter === undefined ? 1000 : retryAfterMs(retryAfter) } : {}),
    // A busy server's 503 may say when to come back (a self-hosted GPU server running someone else's job).
    ...(status === 503 && retryAfter !== undefined ? { retryAfterMs: retryAfterMs(retryAfter) } : {}),
  };
}

/**
 * The class of a failed call by HTTP status alone, for what an adapter does
 * not recognise in the body: 401/403 the channel's credentials, 404 the model
 * not served there, 429 throttled, 408/5xx and transport failures transient,
 * any other 4xx the request.
 */
export function httpFailure(r: CallFailed, label: string): UpstreamFailure {
  const detail = r.detail ? `: ${r.detail}` : '';
  if (r.status === null) {
    if (r.transport === 'timeout') return failure('upstream_timeout', 'transient', r.detail);
    if (r.transport === 'network') return failure('upstream_unavailable', 'transient', r.detail);
    return failure('upstream_invalid_response', 'transient', r.detail);
  }
  if (r.status === 401 || r.status === 403) return failure('upstream_auth', 'channel', `${label} refused the channel's credentials (HTTP ${r.status})${detail}`);
  if (r.status === 404) return failure('model_unavailable', 'model', `${label} does not serve this model (HTTP 404)${detail}`);
  if (r.status === 429) return failure('upstream_unavailable', 'throttled', `${label} is throttling requests (HTTP 429)${detail}`, r.retryAfterMs ?? 1000);
  if (r.status >= 500 || r.status === 408) return failure('upstream_unavailable', 'transient', `${label} is unavailable (HTTP ${r.status})${detail}`);
  return failure('upstream_rejected', 'request', `${label} rejected the request (HTTP ${r.status})${detail}`);
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
    if (total > max) {
      body.destroy?.();
      throw new TooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

/** Google's error envelope: {"error":{"code","message","status"}}, sometimes wrapped in a one-element array. */
export function googleErrorMessage(body: unknown): string | undefined {
  const b = Array.isArray(body) ? body[0] : body;
  const m = (b as { error?: { message?: unknown } } | null)?.error?.message;
  return typeof m === 'string' ? m : undefined;
}

/** Vidu's error body: {"code","reason","message"}. */
export function viduErrorMessage(body: unknown): string | undefined {
  const b = body as { message?: unknown; reason?: unknown } | null;
  if (typeof b?.message === 'string') return typeof b.reason === 'string' ? `${b.reason}: ${b.message}` : b.message;
  return undefined;
}

export function invalidResponse(label: string, what: string): UpstreamFailure {
  return failure('upstream_invalid_response', 'transient', `${label} answered without ${what}.`);
}
