import { generateKeyPairSync, verify } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  parseServiceAccountKey, readServiceAccountKeyFile, ServiceAccountKeyError, signAssertion, staticTokenSource,
} from '../../src/providers/vertex/service-account.ts';
import { cachingTokenSource, TokenError, type FetchedToken } from '../../src/providers/vertex/token-source.ts';
import { gcsMediaUrl, isGsFolder, parseGsUri } from '../../src/providers/vertex/cloud-storage.ts';
import { failure } from '../../src/domain/failures.ts';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
// A line from the middle of the key: if any of it shows up in a message, the key leaked.
const PEM_LINE = PEM.split('\n')[5]!;
const KEY = {
  type: 'service_account', project_id: 'p', private_key_id: 'abc123', private_key: PEM,
  client_email: 'sa@p.iam.gserviceaccount.com', token_uri: 'https://oauth2.googleapis.com/token',
};
const signal = new AbortController().signal;

function keyError(json: unknown): string {
  try {
    parseServiceAccountKey(json);
  } catch (e) {
    expect(e).toBeInstanceOf(ServiceAccountKeyError);
    return (e as Error).message;
  }
  throw new Error('expected the key to be refused');
}

describe('service-account key file', () => {
  it('parses a Google key file and never prints the private key', () => {
    const k = parseServiceAccountKey(KEY);
    expect(k).toMatchObject({ clientEmail: KEY.client_email, privateKeyId: 'abc123', tokenUri: KEY.token_uri });
    expect(JSON.stringify(k)).not.toContain(PEM_LINE);
    expect(inspect(k, { depth: 5 })).not.toContain(PEM_LINE);
  });

  it.each([
    ['client_email'], ['private_key'], ['private_key_id'], ['token_uri'],
  ])('names a missing %s', (field) => {
    const msg = keyError({ ...KEY, [field]: undefined });
    expect(msg).toContain(`"${field}"`);
    expect(msg).not.toContain(PEM_LINE);
  });

  it('refuses other credential kinds, a broken PEM, a plain-http token_uri and non-objects without echoing the key', () => {
    expect(keyError({ ...KEY, type: 'authorized_user' })).toContain('"type" must be "service_account" (got "authorized_user")');
    const truncated = `${PEM.split('\n').slice(0, 10).join('\n')}\n-----END PRIVATE KEY-----\n`;
    const broken = keyError({ ...KEY, private_key: truncated });
    expect(broken).toContain('"private_key" is not a PEM private key');
    expect(broken).not.toContain(PEM_LINE);
    expect(keyError({ ...KEY, token_uri: 'http://oauth2.example.com/token' })).toContain('"token_uri" must be an https URL');
    expect(() => parseServiceAccountKey({ ...KEY, token_uri: 'http://127.0.0.1:9/token' })).not.toThrow();
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(keyError({ ...KEY, private_key: ec })).toContain('"private_key" is not an RSA key');
    expect(keyError([KEY])).toContain('expected a JSON object');
  });

  it('a file that is not JSON is named, its content is not quoted', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'reelay-sa-unit-'));
    try {
      const file = join(dir, 'key.json');
      await writeFile(file, `{"private_key": "${PEM_LINE}" oops`);
      expect(() => readServiceAccountKeyFile(file)).toThrow(`${file} is not valid JSON`);
      try { readServiceAccountKeyFile(file); } catch (e) { expect((e as Error).message).not.toContain(PEM_LINE); }
      expect(() => readServiceAccountKeyFile(join(dir, 'missing.json'))).toThrow('(ENOENT)');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('JWT assertion', () => {
  it('is RS256 over header.claims with the key id, cloud-platform scope and a one-hour life', () => {
    const now = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    const jwt = signAssertion(parseServiceAccountKey(KEY), now);
    const [h, c, s] = jwt.split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'abc123' });
    const iat = Math.floor(now / 1000);
    expect(JSON.parse(Buffer.from(c, 'base64url').toString())).toEqual({
      iss: KEY.client_email, scope: 'https://www.googleapis.com/auth/cloud-platform', aud: KEY.token_uri, iat, exp: iat + 3600,
    });
    expect(verify('RSA-SHA256', Buffer.from(`${h}.${c}`), publicKey, Buffer.from(s, 'base64url'))).toBe(true);
    expect(verify('RSA-SHA256', Buffer.from(`${h}.${c}x`), publicKey, Buffer.from(s, 'base64url'))).toBe(false);
  });
});

describe('cachingTokenSource', () => {
  /** A fetch the test resolves by hand, counting calls. */
  function manualFetch() {
    const pending: { resolve: (t: FetchedToken) => void; reject: (e: unknown) => void }[] = [];
    const fetch = () => new Promise<FetchedToken>((resolve, reject) => { pending.push({ resolve, reject }); });
    return { fetch, pending };
  }

  it('shares one refresh among concurrent callers and caches until the margin', async () => {
    let now = 1_000_000;
    const f = manualFetch();
    const src = cachingTokenSource(f.fetch, { marginMs: 300_000, now: () => now });
    const waiting = Array.from({ length: 50 }, () => src.token(signal));
    await Promise.resolve();
    expect(f.pending.length).toBe(1);
    f.pending[0]!.resolve({ token: 'a', lifetimeMs: 3_600_000 });
    expect(new Set(await Promise.all(waiting))).toEqual(new Set(['a']));
    now += 3_300_000 - 1;
    expect(await src.token(signal)).toBe('a');
    expect(f.pending.length).toBe(1);
    now += 1;
    const next = src.token(signal);
    expect(f.pending.length).toBe(2);
    f.pending[1]!.resolve({ token: 'b', lifetimeMs: 3_600_000 });
    expect(await next).toBe('b');
  });

  it('does not remember a failed refresh', async () => {
    const f = manualFetch();
    const src = cachingTokenSource(f.fetch, { marginMs: 300_000 });
    const first = [src.token(signal), src.token(signal)];
    f.pending[0]!.reject(new TokenError(failure('upstream_unavailable', 'transient', 'HTTP 503')));
    for (const p of first) await expect(p).rejects.toMatchObject({ failure: { code: 'upstream_unavailable', fault: 'transient' } });
    const again = src.token(signal);
    expect(f.pending.length).toBe(2);
    f.pending[1]!.resolve({ token: 'ok', lifetimeMs: 3_600_000 });
    expect(await again).toBe('ok');
  });

  it('a caller that gives up leaves the shared refresh running for the others', async () => {
    const f = manualFetch();
    const src = cachingTokenSource(f.fetch, { marginMs: 300_000 });
    const quitter = new AbortController();
    const a = src.token(quitter.signal);
    const b = src.token(signal);
    quitter.abort(new Error('cancelled'));
    await expect(a).rejects.toThrow('cancelled');
    f.pending[0]!.resolve({ token: 't', lifetimeMs: 3_600_000 });
    expect(await b).toBe('t');
    expect(f.pending.length).toBe(1);
  });

  it('staticTokenSource hands back its token', async () => {
    expect(await staticTokenSource('ya29.x').token(signal)).toBe('ya29.x');
  });
});

describe('gs:// URIs', () => {
  it('splits bucket and object and encodes the object as one segment', () => {
    const gs = parseGsUri('gs://reelay-out/veo/1234/sample_0.mp4')!;
    expect(gs).toEqual({ bucket: 'reelay-out', object: 'veo/1234/sample_0.mp4' });
    expect(gcsMediaUrl('https://storage.googleapis.com/', gs)).toBe('https://storage.googleapis.com/storage/v1/b/reelay-out/o/veo%2F1234%2Fsample_0.mp4?alt=media');
    expect(gcsMediaUrl('https://storage.googleapis.com', parseGsUri('gs://b.example/../../x?y#z')!))
      .toBe('https://storage.googleapis.com/storage/v1/b/b.example/o/..%2F..%2Fx%3Fy%23z?alt=media');
  });

  it.each([
    'gs://', 'gs://bucket', 'gs://bucket/', 'gs://Bucket/x', 'gs://a/x', 'gs://-bucket/x', 'gs://bucket-/x',
    'gs://bucket/..', 'gs://bucket/.', 'gs://bucket/a\nb', `gs://bucket/${'x'.repeat(1025)}`, `gs://${'b'.repeat(223)}/x`, 'https://bucket/x',
  ])('refuses %j', (uri) => {
    expect(parseGsUri(uri)).toBeNull();
  });

  it('recognises a storage folder for VERTEX_STORAGE_URI', () => {
    expect(isGsFolder('gs://reelay-out/veo/')).toBe(true);
    expect(isGsFolder('gs://reelay-out')).toBe(true);
    expect(isGsFolder('gs://Reelay/veo/')).toBe(false);
    expect(isGsFolder('s3://reelay/veo/')).toBe(false);
  });
});
