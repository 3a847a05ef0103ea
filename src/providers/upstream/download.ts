import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import { safeFetch, FetchFailedError, UnsafeUrlError, type LookupFn } from '../../infra/net/safe-fetch.ts';
import { ProviderError } from '../provider.ts';

/** Outbound policy for URLs an upstream hands back (they are not the upstream we configured). */
export interface OutboundPolicy {
  allowPrivate: boolean;
  lookup?: LookupFn;
  isAllowedAddress?: (ip: string) => boolean;
}

/** Lets an adapter say what an HTTP status means for its own storage (e.g. 404 = the object is gone); undefined keeps the default. */
export type StatusErrorHook = (status: number) => ProviderError | undefined;

export interface DownloadLimits {
  /** A generated clip is tens of MB; anything past this is not a clip we want. */
  maxBytes: number;
  /** Whole transfer; a multi-MB file from Google/Vidu CDNs takes seconds, not minutes. */
  timeoutMs: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * GET a result from the configured upstream's own origin with its credential
 * header, following redirects (the Gemini docs use `curl -L`). A redirect to
 * another origin continues through safeFetch without the credential, so it is
 * SSRF-checked and the key never leaves the upstream. Streams to `path`.
 */
export async function downloadFromUpstream(url: string, o: DownloadLimits & {
  path: string; headers: Record<string, string>; trustedOrigin: string; policy: OutboundPolicy; signal: AbortSignal; label: string;
  statusError?: StatusErrorHook;
}): Promise<void> {
  const timeout = AbortSignal.timeout(o.timeoutMs);
  const signal = AbortSignal.any([o.signal, timeout]);
  let current = new URL(url);
  for (let hop = 0; hop <= 5; hop++) {
    if (current.origin !== o.trustedOrigin) {
      return downloadUntrusted(current.href, { ...o, timeoutMs: o.timeoutMs });
    }
    let res;
    try {
      res = await request(current, { method: 'GET', headers: o.headers, signal });
    } catch (e) {
      throw mapTransferError(e, o, timeout);
    }
    const location = res.headers.location;
    if (REDIRECTS.has(res.statusCode) && typeof location === 'string') {
      res.body.on('error', () => {}).destroy();
      current = new URL(location, current);
      continue;
    }
    if (res.statusCode < 200 || res.statusCode > 299) {
      res.body.on('error', () => {}).destroy();
      throw o.statusError?.(res.statusCode) ?? statusError(res.statusCode, o.label);
    }
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > o.maxBytes) {
      res.body.on('error', () => {}).destroy();
      throw tooLarge(o);
    }
    let total = 0;
    const cap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        total += chunk.length;
        cb(total > o.maxBytes ? tooLarge(o) : null, chunk);
      },
    });
    try {
      await pipeline(res.body, cap, createWriteStream(o.path));
    } catch (e) {
      throw mapTransferError(e, o, timeout);
    }
    return;
  }
  throw new ProviderError('upstream_invalid_response', `${o.label} redirected the download too many times.`);
}

/** A URL the upstream returned for anyone to fetch (Vidu CDN, a public https GCS link): SSRF-guarded, capped. */
export async function downloadUntrusted(url: string, o: DownloadLimits & {
  path: string; policy: OutboundPolicy; signal: AbortSignal; label: string; statusError?: StatusErrorHook;
}): Promise<void> {
  if (o.signal.aborted) throw o.signal.reason;
  try {
    const res = await safeFetch(url, {
      allowPrivate: o.policy.allowPrivate, timeoutMs: o.timeoutMs, maxBytes: o.maxBytes, label: `${o.label} result URL`,
      ...(o.policy.lookup ? { lookup: o.policy.lookup } : {}),
      ...(o.policy.isAllowedAddress ? { isAllowedAddress: o.policy.isAllowedAddress } : {}),
    });
    if (o.signal.aborted) throw o.signal.reason;
    await writeFile(o.path, res.body);
  } catch (e) {
    if (o.signal.aborted || e instanceof ProviderError) throw e;
    if (e instanceof FetchFailedError) {
      if (e.reason === 'too_large') throw tooLarge(o);
      if (e.reason === 'http_status' && e.status !== undefined) throw o.statusError?.(e.status) ?? statusError(e.status, o.label);
      throw new ProviderError(e.reason === 'timeout' ? 'upstream_timeout' : 'upstream_unavailable', `${o.label}: the result could not be downloaded (${e.message}).`, { retryable: true, cause: e });
    }
    if (e instanceof UnsafeUrlError) {
      throw new ProviderError('upstream_invalid_response', `${o.label} returned a result URL Reelay refuses to fetch (${e.message}).`, { cause: e });
    }
    throw e;
  }
}

function statusError(status: number, label: string): ProviderError {
  if (status === 401 || status === 403) return new ProviderError('upstream_auth', `${label} refused the result download (HTTP ${status}).`);
  return new ProviderError('upstream_unavailable', `${label}: the result download failed (HTTP ${status}).`, { retryable: status === 429 || status >= 500 });
}

function tooLarge(o: DownloadLimits & { label: string }): ProviderError {
  return new ProviderError('upstream_invalid_response', `${o.label} returned a video larger than ${Math.round(o.maxBytes / 1024 / 1024)} MB.`);
}

function mapTransferError(e: unknown, o: { signal: AbortSignal; label: string; timeoutMs: number }, timeout: AbortSignal): unknown {
  if (o.signal.aborted || e instanceof ProviderError) return e;
  if (timeout.aborted) return new ProviderError('upstream_timeout', `${o.label}: the result download took longer than ${o.timeoutMs / 1000} s.`, { retryable: true, cause: e });
  return new ProviderError('upstream_unavailable', `${o.label}: the result download failed.`, { retryable: true, cause: e });
}
