import { createPrivateKey, createSign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { failure } from '../../domain/failures.ts';
import { redact, retryAfterMs } from '../upstream/http-call.ts';
import { cachingTokenSource, TokenError, type TokenSource } from './token-source.ts';

export { staticTokenSource, TokenError, type TokenSource } from './token-source.ts';

/** The parts of a Google service-account key file Reelay uses. */
export interface ServiceAccountKey {
  readonly clientEmail: string;
  readonly privateKeyId: string;
  readonly tokenUri: string;
  /** A KeyObject rather than the PEM text, so logging or serialising the key never prints it. */
  readonly privateKey: KeyObject;
}

/** A key file Reelay cannot use. The message names the field, never the key material. */
export class ServiceAccountKeyError extends Error {
  constructor(message: string) {
    super(`service-account key: ${message}`);
    this.name = 'ServiceAccountKeyError';
  }
}

const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Google caps a service-account assertion at one hour. */
const ASSERTION_LIFETIME_S = 3600;
/** Google's tokens live an hour; refreshing 5 minutes early keeps slow calls (a long download) from outliving their token. */
const REFRESH_MARGIN_MS = 5 * 60_000;
/** A token answer is a few hundred bytes; more is not a token answer. */
const MAX_ANSWER_BYTES = 64 * 1024;
const LABEL = "Google's token endpoint";

/** Reads the file GOOGLE_APPLICATION_CREDENTIALS names (at boot, so a bad file stops startup). */
export function readServiceAccountKeyFile(path: string): ServiceAccountKey {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new ServiceAccountKeyError(`cannot read ${path}${typeof code === 'string' ? ` (${code})` : ''}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // JSON.parse's own message quotes the text around the error, which may be key material.
    throw new ServiceAccountKeyError(`${path} is not valid JSON`);
  }
  return parseServiceAccountKey(json);
}

export function parseServiceAccountKey(json: unknown): ServiceAccountKey {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ServiceAccountKeyError('expected a JSON object');
  const k = json as Record<string, unknown>;
  const text = (field: string): string => {
    const v = k[field];
    if (typeof v !== 'string' || v.trim() === '') throw new ServiceAccountKeyError(`"${field}" is missing or empty`);
    return v;
  };
  if (k.type !== 'service_account') {
    // gcloud's own login (type "authorized_user") is the usual mix-up.
    const shown = typeof k.type === 'string' && /^[a-z_]{1,40}$/.test(k.type) ? ` (got "${k.type}")` : '';
    throw new ServiceAccountKeyError(`"type" must be "service_account"${shown}; user credentials and other key kinds are not supported`);
  }
  const clientEmail = text('client_email');
  const privateKeyId = text('private_key_id');
  const tokenUri = text('token_uri');
  assertTokenUri(tokenUri);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: text('private_key'), format: 'pem' });
  } catch (e) {
    if (e instanceof ServiceAccountKeyError) throw e;
    throw new ServiceAccountKeyError('"private_key" is not a PEM private key');
  }
  if (privateKey.asymmetricKeyType !== 'rsa') throw new ServiceAccountKeyError('"private_key" is not an RSA key');
  return { clientEmail, privateKeyId, tokenUri, privateKey };
}

/** The signed assertion goes to token_uri; plain http is only acceptable when it never leaves the machine. */
function assertTokenUri(uri: string): void {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    throw new ServiceAccountKeyError('"token_uri" is not a URL');
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
  if (!(u.protocol === 'https:' || (u.protocol === 'http:' && loopback))) throw new ServiceAccountKeyError('"token_uri" must be an https URL');
}

const b64url = (v: string | Buffer) => Buffer.from(v).toString('base64url');

/** The RS256 JWT Google's OAuth 2.0 server-to-server flow exchanges for an access token. */
export function signAssertion(key: ServiceAccountKey, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000);
  const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: key.privateKeyId }));
  const claims = b64url(JSON.stringify({ iss: key.clientEmail, scope: SCOPE, aud: key.tokenUri, iat, exp: iat + ASSERTION_LIFETIME_S }));
  const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(key.privateKey);
  return `${header}.${claims}.${b64url(signature)}`;
}

/**
 * Access tokens for a service account, cached until 5 minutes before they
 * expire and refreshed by one request however many calls are waiting.
 */
export function serviceAccountTokenSource(key: ServiceAccountKey, opts: { timeoutMs: number; now?: () => number }): TokenSource {
  const now = opts.now ?? Date.now;
  return cachingTokenSource(async (signal) => exchange(key, signAssertion(key, now()), opts.timeoutMs, signal), {
    marginMs: REFRESH_MARGIN_MS, now,
  });
}

async function exchange(key: ServiceAccountKey, assertion: string, timeoutMs: number, parent: AbortSignal) {
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([parent, timeout]);
  let status: number;
  let text: string;
  let retryAfter: unknown;
  try {
    const res = await request(key.tokenUri, {
      method: 'POST', signal,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: `grant_type=${encodeURIComponent(GRANT_TYPE)}&assertion=${encodeURIComponent(assertion)}`,
    });
    status = res.statusCode;
    retryAfter = res.headers['retry-after'];
    text = await readCapped(res.body);
  } catch (e) {
    if (parent.aborted || e instanceof TokenError) throw e;
    if (timeout.aborted) throw new TokenError(failure('upstream_timeout', 'transient', `${LABEL} did not answer within ${timeoutMs / 1000} s.`));
    const code = (e as { code?: unknown }).code;
    const suffix = typeof code === 'string' && /^[A-Z_]+$/.test(code) ? ` (${code})` : '';
    throw new TokenError(failure('upstream_unavailable', 'transient', `${LABEL} could not be reached${suffix}.`));
  }
  let body: unknown = null;
  try { body = JSON.parse(text); } catch { /* an HTML error page, say */ }
  if (status >= 200 && status < 300) return tokenFrom(body);
  const detail = oauthError(body);
  const said = detail ? `: ${redact(detail, [assertion])}` : '';
  if (status === 429) throw new TokenError(failure('upstream_unavailable', 'throttled', `${LABEL} is throttling (HTTP 429)${said}`, retryAfterMs(retryAfter)));
  if (status === 408 || status >= 500) throw new TokenError(failure('upstream_unavailable', 'transient', `${LABEL} is unavailable (HTTP ${status})${said}`));
  // invalid_grant (bad signature, deleted key, clock skew), unauthorized_client, a wrong token_uri:
  // nothing a retry fixes; the operator must fix the key.
  throw new TokenError(failure('upstream_auth', 'channel', `${LABEL} refused the service account ${key.clientEmail} (HTTP ${status})${said}`));
}

function tokenFrom(body: unknown): { token: string; lifetimeMs: number } {
  const b = body as { access_token?: unknown; expires_in?: unknown; token_type?: unknown } | null;
  const expiresIn = Number(b?.expires_in);
  if (typeof b?.access_token !== 'string' || !b.access_token || !(expiresIn > 0)
    || typeof b.token_type !== 'string' || b.token_type.toLowerCase() !== 'bearer') {
    throw new TokenError(failure('upstream_invalid_response', 'transient', `${LABEL} answered without a Bearer access_token and expires_in.`));
  }
  return { token: b.access_token, lifetimeMs: expiresIn * 1000 };
}

/** RFC 6749 §5.2: {"error":"invalid_grant","error_description":"Invalid JWT Signature."}. */
function oauthError(body: unknown): string | undefined {
  const b = body as { error?: unknown; error_description?: unknown } | null;
  if (typeof b?.error !== 'string') return undefined;
  return typeof b.error_description === 'string' ? `${b.error}: ${b.error_description}` : b.error;
}

async function readCapped(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > MAX_ANSWER_BYTES) throw new TokenError(failure('upstream_invalid_response', 'transient', `${LABEL} sent an answer too large to be a token.`));
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}
