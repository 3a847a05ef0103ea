import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import { safeFetch, FetchFailedError, UnsafeUrlError, type LookupFn } from '../../infra/net/safe-fetch.ts';
import { failure, type UpstreamFailure } from '../../domain/failures.ts';
import type { DownloadOutcome } from './upstream-provider.ts';

/** Outbound policy for URLs an upstream hands back (they are not the upstream we configured). */
export interface OutboundPolicy {
  allowPrivate: boolean;
  lookup?: LookupFn;
  isAllowedAddress?: (ip: string) => boolean;
}

/** Lets an adapter say what an HTTP status means for its own storage (e.g. 404 = the object is gone); undefined keeps the default. */
export type StatusErrorHook = (status: number) => UpstreamFailure | undefined;

/** Carries a failure out of a stream pipeline; turned back into an outcome at the edge. */
class Failed extends Error {
  readonly failure: UpstreamFailure;
  constructor(f: UpstreamFailure) {
    super(f.message);
    this.failure = f;
  }
}

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
  /** Widens trustedOrigin (a self-hosted server's other ports on the host the operator configured). */
  trusts?: (url: URL) => boolean;
}): Promise<DownloadOutcome> {
  try {
    return await downloadTrusted(url, o);
  } catch (e) {
    if (e instanceof Failed && !o.signal.aborted) return { ok: false, failure: e.failure };
    throw e;
  }
}

async function downloadTrusted(url: string, o: Parameters<typeof downloadFromUpstream>[1]): Promise<DownloadOutcome> {
  const timeout = AbortSignal.timeout(o.timeoutMs);
  const signal = AbortSignal.any([o.signal, timeout]);
  let current = new URL(url);
  for (let hop = 0; hop <= 5; hop++) {
    if (current.origin !== o.trustedOrigin && !o.trusts?.(current)) {
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
      throw new Failed(o.statusError?.(res.statusCode) ?? statusError(res.statusCode, o.label));
    }
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > o.maxBytes) {
      res.body.on('error', () => {}).destroy();
      throw new Failed(tooLarge(o));
    }
    let total = 0;
    const cap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        total += chunk.length;
        cb(total > o.maxBytes ? new Failed(tooLarge(o)) : null, chunk);
      },
    });
    try {
      await pipeline(res.body, cap, createWriteStream(o.path));
    } catch (e) {
      throw mapTransferError(e, o, timeout);
    }
    return { ok: true };
  }
  throw new Failed(failure('upstream_invalid_response', 'transient', `${o.label} redirected the download too many times.`));
}

/** A URL the upstream returned for anyone to fetch (Vidu CDN, a public https GCS link): SSRF-guarded, capped. */
export async function downloadUntrusted(url: string, o: DownloadLimits & {
  path: string; policy: OutboundPolicy; signal: AbortSignal; label: string; statusError?: StatusErrorHook;
}): Promise<DownloadOutcome> {
  if (o.signal.aborted) throw o.signal.reason;
  try {
    const res = await safeFetch(url, {
      allowPrivate: o.policy.allowPrivate, timeoutMs: o.timeoutMs, maxBytes: o.maxBytes, label: `${o.label} result URL`,
      ...(o.policy.lookup ? { lookup: o.policy.lookup } : {}),
      ...(o.policy.isAllowedAddress ? { isAllowedAddress: o.policy.isAllowedAddress } : {}),
    });
    if (o.signal.aborted) throw o.signal.reason;
    await writeFile(o.path, res.body);
    return { ok: true };
  } catch (e) {
    if (o.signal.aborted) throw e;
    if (e instanceof FetchFailedError) {
      if (e.reason === 'too_large') return { ok: false, failure: tooLarge(o) };
      if (e.reason === 'http_status' && e.status !== undefined) return { ok: false, failure: o.statusError?.(e.status) ?? statusError(e.status, o.label) };
      return { ok: false, failure: failure(e.reason === 'timeout' ? 'upstream_timeout' : 'upstream_unavailable', 'transient', `${o.label}: the result could not be downloaded (${e.message}).`) };
    }
    if (e instanceof UnsafeUrlError) {
      // Not transient: the same URL will be refused again.
      return { ok: false, failure: failure('upstream_invalid_response', 'request', `${o.label} returned a result URL Reelay refuses to fetch (${e.message}).`) };
    }
    throw e;
  }
}

/** A result link that fails can be re-fetched after a fresh poll (expired link, CDN hiccup): transient, except a refused credential. */
function statusError(status: number, label: string): UpstreamFailure {
  if (status === 401 || status === 403) return failure('upstream_auth', 'channel', `${label} refused the result download (HTTP ${status}).`);
  return failure('upstream_unavailable', 'transient', `${label}: the result download failed (HTTP ${status}).`);
}

/** Refused for good: the next poll would hand out the same oversized video. */
function tooLarge(o: DownloadLimits & { label: string }): UpstreamFailure {
  return failure('upstream_invalid_response', 'request', `${o.label} returned a video larger than ${Math.round(o.maxBytes / 1024 / 1024)} MB.`);
}

function mapTransferError(e: unknown, o: { signal: AbortSignal; label: string; timeoutMs: number }, timeout: AbortSignal): unknown {
  if (o.signal.aborted || e instanceof Failed) return e;
  if (timeout.aborted) return new Failed(failure('upstream_timeout', 'transient', `${o.label}: the result download took longer than ${o.timeoutMs / 1000} s.`));
  return new Failed(failure('upstream_unavailable', 'transient', `${o.label}: the result download failed.`));
}
