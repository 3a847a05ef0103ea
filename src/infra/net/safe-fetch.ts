// SSRF-guarded fetcher for user-supplied URLs (image URLs, later webhook callbacks).
// The address check runs inside the socket's own DNS lookup, so the address we
// validate is the address we connect to: no DNS-rebinding window between the two.
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { isPublicAddress, parseHostLiteral } from './ip-policy.ts';

export type LookupFn = (hostname: string) => Promise<{ address: string; family: 4 | 6 }[]>;

export interface SafeFetchOptions {
  /** REELAY_ALLOW_PRIVATE_URLS (dev/test): allows loopback/private targets AND plain http. */
  allowPrivate: boolean;
  /** Whole request, redirects and body included. */
  timeoutMs: number;
  /** Body cap; the transfer is aborted as soon as it is exceeded. */
  maxBytes: number;
  maxRedirects?: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Injectable DNS (tests). Defaults to the OS resolver. */
  lookup?: LookupFn;
  /** Noun used in error messages, e.g. "image URL". Defaults to "URL". */
  label?: string;
  /** Don't read a successful response's body, just release it (webhook receivers' answers are irrelevant). */
  discardBody?: boolean;
  /**
   * TEST SEAM ONLY, never set in production code: replaces the address policy
   * (even when allowPrivate is true) so loopback servers can play "public" hosts.
   */
  isAllowedAddress?: (ip: string) => boolean;
}

export interface SafeFetchResult { status: number; headers: Record<string, string>; body: Buffer; finalUrl: string }

type UnsafeReason = 'scheme' | 'private_address' | 'dns' | 'invalid_url' | 'too_many_redirects';
type FailedReason = 'timeout' | 'too_large' | 'network' | 'http_status';

// Messages are shown to API users: they never carry response bodies, credentials or the full URL.
export class UnsafeUrlError extends Error {
  readonly reason: UnsafeReason;
  constructor(reason: UnsafeReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnsafeUrlError';
    this.reason = reason;
  }
}

export class FetchFailedError extends Error {
  readonly reason: FailedReason;
  readonly status?: number;
  constructor(reason: FailedReason, message: string, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = 'FetchFailedError';
    this.reason = reason;
    if (status !== undefined) this.status = status;
  }
}

interface Policy { label: string; allowHttp: boolean; allowed: (ip: string) => boolean }

function policyOf(allowPrivate: boolean, label = 'URL', isAllowedAddress?: (ip: string) => boolean): Policy {
  return { label, allowHttp: allowPrivate, allowed: isAllowedAddress ?? (allowPrivate ? () => true : isPublicAddress) };
}

function checkUrl(u: URL, p: Policy): URL {
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && p.allowHttp)) {
    const msg = u.protocol === 'http:' ? 'must use https' : `scheme "${u.protocol.slice(0, 16)}" is not supported; use https`;
    throw new UnsafeUrlError('scheme', `${p.label} ${msg}`);
  }
  if (u.username !== '' || u.password !== '') {
    throw new UnsafeUrlError('invalid_url', `${p.label} must not contain a username or password`);
  }
  // net.connect skips the lookup hook for IP literals, so they must be judged here.
  const ip = parseHostLiteral(u.hostname);
  if (ip !== null && !p.allowed(ip)) {
    throw new UnsafeUrlError('private_address', `${p.label} points to a private address (${ip})`);
  }
  return u;
}

/** Scheme, credentials and literal-IP checks only (no DNS). Cheap enough for request validation. */
export function assertSafeUrlSyntax(url: string, allowPrivate: boolean, label = 'URL'): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UnsafeUrlError('invalid_url', `${label} is not a valid URL`);
  }
  return checkUrl(u, policyOf(allowPrivate, label));
}

const defaultLookup: LookupFn = async (hostname) =>
  (await dnsLookup(hostname, { all: true, order: 'verbatim' })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

// Hook for net.connect: resolves, refuses the whole host if ANY address is disallowed
// (attackers can mix a public and a private record), then hands net exactly those addresses.
function guardedLookup(resolve: LookupFn, p: Policy): LookupFunction {
  return (hostname, options, callback) => {
    // Promise.resolve().then: a resolver that throws synchronously still ends up as a refusal.
    const checked = Promise.resolve().then(() => resolve(hostname)).then(
      (addrs) => {
        if (addrs.length === 0) throw new UnsafeUrlError('dns', `${p.label} host could not be resolved`);
        const bad = addrs.find((a) => !p.allowed(a.address));
        if (bad) throw new UnsafeUrlError('private_address', `${p.label} resolves to a private address (${bad.address})`);
        const wanted = options.family === 4 || options.family === 6 ? addrs.filter((a) => a.family === options.family) : addrs;
        if (wanted.length === 0) throw new UnsafeUrlError('dns', `${p.label} host has no usable address`);
        return wanted;
      },
      (err: unknown) => {
        throw new UnsafeUrlError('dns', `${p.label} host could not be resolved`, { cause: err });
      },
    );
    // nextTick: run net's callback outside the promise chain so its throws aren't swallowed.
    checked.then(
      (addrs) => process.nextTick(() => {
        if (options.all) callback(null, addrs);
        else callback(null, addrs[0]!.address, addrs[0]!.family);
      }),
      (err: Error) => process.nextTick(() => callback(err as NodeJS.ErrnoException, '', 4)),
    );
  };
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
// Dropped when a redirect changes origin, as browsers do, so credentials meant for
// the caller-chosen host don't leak to wherever it points us.
const CROSS_ORIGIN_STRIP = ['authorization', 'cookie', 'proxy-authorization'];

export async function safeFetch(url: string, opts: SafeFetchOptions): Promise<SafeFetchResult> {
  const p = policyOf(opts.allowPrivate, opts.label, opts.isAllowedAddress);
  const maxRedirects = opts.maxRedirects ?? 5;
  let current = checkUrl(assertParsable(url, p.label), p);
  let method = opts.method ?? 'GET';
  let body = opts.body;
  let headers: Record<string, string> = { ...opts.headers };

  const controller = new AbortController();
  const timeoutError = new FetchFailedError('timeout', `${p.label} did not answer within ${seconds(opts.timeoutMs)}`);
  const timer = setTimeout(() => controller.abort(timeoutError), opts.timeoutMs);
  // One agent per call: the lookup hook carries this call's policy, and no pooled
  // socket can be reused by a caller with a laxer policy.
  const agent = new Agent({ connect: { lookup: guardedLookup(opts.lookup ?? defaultLookup, p) } });
  try {
    for (let hop = 0; ; hop++) {
      let res: Dispatcher.ResponseData;
      try {
        res = await request(current, { dispatcher: agent, method, headers, body: body ?? null, signal: controller.signal });
      } catch (err) {
        throw mapError(err, controller.signal, p.label);
      }
      const location = res.headers.location;
      if (REDIRECTS.has(res.statusCode) && typeof location === 'string') {
        discard(res);
        if (hop >= maxRedirects) throw new UnsafeUrlError('too_many_redirects', `${p.label} redirected more than ${maxRedirects} times`);
        const next = checkUrl(assertParsable(location, `${p.label} redirect target`, current), p);
        // 303 always, and 301/302 for POST by long-standing client convention, turn into a body-less GET.
        if (res.statusCode === 303 || (method === 'POST' && res.statusCode <= 302)) {
          method = 'GET';
          body = undefined;
          headers = omit(headers, ['content-type', 'content-length']);
        }
        if (next.origin !== current.origin) headers = omit(headers, CROSS_ORIGIN_STRIP);
        current = next;
        continue;
      }
      if (res.statusCode < 200 || res.statusCode > 299) {
        discard(res);
        throw new FetchFailedError('http_status', `${p.label} answered with HTTP ${res.statusCode}`, res.statusCode);
      }
      if (opts.discardBody) {
        discard(res);
        return { status: res.statusCode, headers: flatten(res.headers), body: Buffer.alloc(0), finalUrl: current.href };
      }
      const buf = await readCapped(res, opts.maxBytes, p.label, controller.signal);
      return { status: res.statusCode, headers: flatten(res.headers), body: buf, finalUrl: current.href };
    }
  } finally {
    clearTimeout(timer);
    await agent.destroy().catch(() => {});
  }
}

// undici turns destroy() of an unfinished body into an 'error' event; without a
// listener that would crash the process, and we have nothing left to say to it.
function discard(res: Dispatcher.ResponseData): void {
  res.body.on('error', () => {});
  res.body.destroy();
}

function assertParsable(url: string, label: string, base?: URL): URL {
  try {
    return new URL(url, base);
  } catch {
    throw new UnsafeUrlError('invalid_url', `${label} is not a valid URL`);
  }
}

async function readCapped(res: Dispatcher.ResponseData, maxBytes: number, label: string, signal: AbortSignal): Promise<Buffer> {
  const tooLarge = () => new FetchFailedError('too_large', `${label} is larger than ${formatBytes(maxBytes)}`);
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    discard(res);
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      total += chunk.length;
      // Throwing out of for-await destroys the stream, which stops the download.
      if (total > maxBytes) throw tooLarge();
      chunks.push(chunk);
    }
  } catch (err) {
    throw err instanceof FetchFailedError ? err : mapError(err, signal, label);
  }
  return Buffer.concat(chunks, total);
}

function mapError(err: unknown, signal: AbortSignal, label: string): Error {
  if (signal.aborted && signal.reason instanceof FetchFailedError) return signal.reason;
  if (err instanceof UnsafeUrlError || err instanceof FetchFailedError) return err;
  // undici may wrap the lookup error; surface our own refusal rather than "network".
  const cause = (err as { cause?: unknown } | null)?.cause;
  if (cause instanceof UnsafeUrlError) return cause;
  const code = (err as { code?: unknown } | null)?.code;
  const suffix = typeof code === 'string' && /^[A-Z_]+$/.test(code) ? ` (${code})` : '';
  return new FetchFailedError('network', `${label} could not be fetched${suffix}`, undefined, { cause: err });
}

function flatten(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function omit(h: Record<string, string>, names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(h).filter(([k]) => !names.includes(k.toLowerCase())));
}

const seconds = (ms: number) => `${Number((ms / 1000).toFixed(1))} s`;

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Number((n / 1024 / 1024).toFixed(1))} MB`;
  if (n >= 1024) return `${Number((n / 1024).toFixed(1))} KB`;
  return `${n} bytes`;
}
