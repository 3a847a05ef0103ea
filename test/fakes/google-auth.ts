// A strict stand-in for Google's OAuth 2.0 token endpoint as service accounts
// use it (the JWT-bearer grant): it checks the form body byte for byte and
// verifies the RS256 assertion with the key it handed out, so a client that
// signs wrongly, mislabels a claim or drifts its clock is refused exactly as
// oauth2.googleapis.com would refuse it.
import { generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sendJson, startFake, type FakeServer } from './http-fake.ts';

const GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

const RPC_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
};

/** Google's error envelope (UPSTREAM.md §1.2), as the Vertex and Cloud Storage fakes answer. */
export const googleError = (code: number, message: string) => ({ error: { code, message, status: RPC_STATUS[code] ?? 'UNKNOWN', details: [] } });

/** Who may call a fake Google API: one fixed token, or whatever a token fake issued and has not expired. */
export type BearerCheck = string | { isValid(token: string): boolean };

/** Google's 401 text for a missing or bad Bearer header, or null when the request may proceed. */
export function bearerProblem(req: IncomingMessage, check: BearerCheck): string | null {
  const auth = req.headers.authorization;
  if (auth === undefined) return 'Request is missing required authentication credential. Expected OAuth 2 access token.';
  const token = /^Bearer (\S+)$/.exec(auth)?.[1];
  const ok = token !== undefined && (typeof check === 'string' ? token === check : check.isValid(token));
  return ok ? null : 'Request had invalid authentication credentials. Expected OAuth 2 access token.';
}

export type TokenFailure = 'invalid_grant' | 503 | 'hang';

export interface GoogleAuthFake extends FakeServer {
  /** A service-account key file (as GOOGLE_APPLICATION_CREDENTIALS names) whose token_uri is this fake. */
  keyFile: string;
  /** Its JSON, for building variants (another key, a missing field). */
  keyJson: Record<string, string>;
  /** Lifetime of the tokens issued next, in seconds. */
  expiresIn: number;
  /** Answer slowly, so concurrent callers overlap. */
  delayMs: number;
  /** The fake's clock, for iat checks and token expiry; a test may share one with the client. */
  now: () => number;
  /** Failures to play on the next token requests, in order. */
  failNext: TokenFailure[];
  /** Token requests received (good or bad). */
  tokenRequests: number;
  /** Why requests were refused, for the test's diagnostics. */
  refusals: string[];
  /** Every assertion received, to prove none leaks into a message. */
  assertions: string[];
  /** Issued tokens → expiry (ms on `now`). */
  issued: Map<string, number>;
  isValid(token: string): boolean;
}

export async function startGoogleAuthFake(o: { expiresIn?: number; now?: () => number } = {}): Promise<GoogleAuthFake> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyId = randomBytes(20).toString('hex');
  const fake: Partial<GoogleAuthFake> = {
    expiresIn: o.expiresIn ?? 3600, delayMs: 0, now: o.now ?? Date.now, failNext: [], tokenRequests: 0,
    refusals: [], assertions: [], issued: new Map(),
  };
  fake.isValid = (token) => { const exp = fake.issued!.get(token); return exp !== undefined && fake.now!() < exp; };
  const refuse = (res: ServerResponse, error: string, description: string) => {
    fake.refusals!.push(`${error}: ${description}`);
    sendJson(res, 400, { error, error_description: description });
  };
  const server = await startFake(async (req, res, rec, raw) => {
    if (rec.path !== '/token' || req.method !== 'POST') return sendJson(res, 404, { error: 'not_found' });
    fake.tokenRequests!++;
    const body = raw.toString('utf8');
    const form = new URLSearchParams(body);
    const assertion = form.get('assertion');
    if (assertion) fake.assertions!.push(assertion);
    if (fake.delayMs) await new Promise((r) => setTimeout(r, fake.delayMs));
    const failure = fake.failNext!.shift();
    if (failure === 'hang') return;
    if (failure === 503) return sendJson(res, 503, { error: 'temporarily_unavailable', error_description: 'The service is currently unavailable.' });
    if (failure === 'invalid_grant') return refuse(res, 'invalid_grant', 'Invalid grant: account not found');
    if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') return refuse(res, 'invalid_request', 'Invalid Content-Type; expected application/x-www-form-urlencoded.');
    if ([...form.keys()].join(',') !== 'grant_type,assertion') return refuse(res, 'invalid_request', `Expected exactly grant_type and assertion, got ${[...form.keys()].join(',')}.`);
    if (form.get('grant_type') !== GRANT) return refuse(res, 'unsupported_grant_type', 'Invalid grant_type.');
    // A JWT is base64url and dots, which form encoding leaves alone: the body has exactly one spelling.
    if (body !== `grant_type=${encodeURIComponent(GRANT)}&assertion=${assertion}`) return refuse(res, 'invalid_request', 'Malformed form body.');
    const problem = checkAssertion(assertion!, { publicKey, keyId, email: fake.keyJson!.client_email!, aud: fake.keyJson!.token_uri!, nowS: fake.now!() / 1000 });
    if (problem) return refuse(res, 'invalid_grant', problem);
    const token = `ya29.fake-${randomBytes(24).toString('base64url')}`;
    fake.issued!.set(token, fake.now!() + fake.expiresIn! * 1000);
    sendJson(res, 200, { access_token: token, expires_in: fake.expiresIn, token_type: 'Bearer' });
  });
  const dir = mkdtempSync(join(tmpdir(), 'reelay-sa-'));
  fake.keyJson = {
    type: 'service_account', project_id: 'reelay-test', private_key_id: keyId,
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: 'reelay-test@reelay-test.iam.gserviceaccount.com', client_id: '100000000000000000001',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth', token_uri: `${server.origin}/token`,
    auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs', universe_domain: 'googleapis.com',
  };
  fake.keyFile = join(dir, 'service-account.json');
  writeFileSync(fake.keyFile, JSON.stringify(fake.keyJson, null, 2));
  return Object.assign(fake, server, {
    close: async () => { await server.close(); rmSync(dir, { recursive: true, force: true }); },
  }) as GoogleAuthFake;
}

/** What Google checks in a service-account assertion; the returned text mimics its error_description. */
function checkAssertion(jwt: string, k: { publicKey: KeyObject; keyId: string; email: string; aud: string; nowS: number }): string | null {
  const parts = jwt.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) return 'Invalid JWT: not three base64url segments.';
  const [h, c, s] = parts as [string, string, string];
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as Record<string, unknown>;
    claims = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return 'Invalid JWT: header or claim set is not JSON.';
  }
  if (JSON.stringify(Object.keys(header).sort()) !== '["alg","kid","typ"]' || header.alg !== 'RS256' || header.typ !== 'JWT') return 'Invalid JWT header.';
  if (header.kid !== k.keyId) return 'Invalid JWT Signature.';
  if (!verify('RSA-SHA256', Buffer.from(`${h}.${c}`), k.publicKey, Buffer.from(s, 'base64url'))) return 'Invalid JWT Signature.';
  if (JSON.stringify(Object.keys(claims).sort()) !== '["aud","exp","iat","iss","scope"]') return `Invalid JWT claim set: ${Object.keys(claims).join(',')}.`;
  if (claims.iss !== k.email) return 'Invalid grant: account not found';
  if (claims.aud !== k.aud) return 'Invalid JWT: audience is not the token endpoint.';
  if (claims.scope !== SCOPE) return 'Invalid OAuth scope or ID token audience provided.';
  const { iat, exp } = claims;
  if (!Number.isInteger(iat) || !Number.isInteger(exp) || (exp as number) - (iat as number) !== 3600 || Math.abs((iat as number) - k.nowS) > 60) {
    return 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.';
  }
  return null;
}
