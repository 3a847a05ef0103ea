/**
 * Issue #10, part 4: the SSRF matrix for image URLs (and callback URLs) in
 * production mode (REELAY_ALLOW_PRIVATE_URLS=0), extending image-url.test.ts.
 * Every private/loopback/link-local/... target, in every spelling, directly,
 * through DNS and through redirects, is refused with a 400 and without a
 * connection: loopback targets point at listeners that count connections;
 * for the others (unroutable here) the process records every connection
 * attempt, and there must be none.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage } from '../helpers/images.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { countTasks, expectErrorEnvelope, inputFiles, recordConnectionAttempts } from '../helpers/hostile.ts';
import type { LookupFn } from '../../src/infra/net/safe-fetch.ts';

const S = '/v1/video/generations';
const FETCH_TIMEOUT_MS = 5000;
const body = (image: string, extra: Record<string, unknown> = {}) =>
  ({ model: 'veo-2.0-generate-001', prompt: 'ssrf', aspect_ratio: '16:9', images: [image], ...extra });

/** A listener that answers an image and counts every TCP connection it ever gets. */
interface Trap { port: number; connections: number; server: http.Server }
async function trap(host: string, port = 0, handler?: http.RequestListener): Promise<Trap> {
  let png: Buffer | undefined;
  const server = http.createServer(handler ?? (async (_req, res) => {
    png ??= await makeImage(64, 36);
    res.writeHead(200, { 'content-type': 'image/png' }).end(png);
  }));
  const t: Trap = { port: 0, connections: 0, server };
  server.on('connection', () => { t.connections++; });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen({ host, port, ipv6Only: false }, resolve); });
  t.port = (server.address() as AddressInfo).port;
  return t;
}
const closeTrap = async (t?: Trap) => {
  if (!t) return;
  t.server.closeAllConnections();
  await new Promise<void>((r) => t.server.close(() => r()));
};

/** Names for the lookup override; anything else does not resolve. */
const DNS: Record<string, string[]> = {
  'loopback.test': ['127.0.0.1'], 'loopback2.test': ['127.0.0.2'], 'v6loopback.test': ['::1'], 'mapped.test': ['::ffff:127.0.0.1'],
  'unspecified.test': ['0.0.0.0'], 'mixed.test': ['93.184.215.14', '127.0.0.1'], 'mixed6.test': ['2606:2800:220:1::1', '::1'],
  'ten.test': ['10.1.2.3'], 'oneseventwo.test': ['172.16.5.4'], 'oneninetwo.test': ['192.168.1.1'], 'cgnat.test': ['100.64.0.1'],
  'metadata.google.internal': ['169.254.169.254'], 'linklocal.test': ['169.254.1.1'], 'ula.test': ['fd00::1'], 'fe80.test': ['fe80::1'],
  'nat64.test': ['64:ff9b::a01:203'], 'sixtofour.test': ['2002:7f00:1::1'], 'teredo.test': ['2001:0:4136:e378:8000:63bf:3fff:fdd2'],
  'broadcast.test': ['255.255.255.255'], 'multicast.test': ['224.0.0.1'], 'docs.test': ['192.0.2.10'], 'public.test': ['93.184.215.14'],
};
const lookup: LookupFn = async (host) => {
  const addrs = DNS[host.toLowerCase()];
  if (!addrs) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return addrs.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

describe('SSRF matrix in production mode (no private targets)', () => {
  let s: TestServer;
  let any: Trap; // dual-stack on '::': catches 127.0.0.0/8, ::1, 0.0.0.0, :: and IPv4-mapped connections to its port
  beforeAll(async () => {
    any = await trap('::');
    s = await startServer({ REELAY_ROLE: 'api', REELAY_ALLOW_PRIVATE_URLS: '0', REELAY_IMAGE_FETCH_TIMEOUT_MS: String(FETCH_TIMEOUT_MS) }, { lookup });
  });
  afterAll(async () => { await s?.close(); await closeTrap(any); });

  const P = () => (any ? String(any.port) : 'PORT'); // 'PORT' while the test names are collected
  // [url, expected code]; loopback targets carry the trap's port, the rest are unroutable here.
  const loopbackUrls: (() => string)[] = [
    () => `https://127.0.0.1:${P()}/a.png`, () => `https://127.0.0.2:${P()}/a.png`, () => `https://127.255.255.254:${P()}/a.png`,
    () => `https://[::1]:${P()}/a.png`, () => `https://[0:0:0:0:0:0:0:1]:${P()}/a.png`,
    () => `https://0.0.0.0:${P()}/a.png`, () => `https://0:${P()}/a.png`, () => `https://[::]:${P()}/a.png`,
    // IPv4 spellings the WHATWG parser normalises: decimal, octal, hex, short forms, trailing dot
    () => `https://2130706433:${P()}/a.png`, () => `https://017700000001:${P()}/a.png`, () => `https://0x7f000001:${P()}/a.png`,
    () => `https://0x7f.0.0.1:${P()}/a.png`, () => `https://0177.0.0.1:${P()}/a.png`, () => `https://0177.1:${P()}/a.png`,
    () => `https://127.1:${P()}/a.png`, () => `https://127.0.1:${P()}/a.png`, () => `https://127.0.0.1.:${P()}/a.png`,
    () => `https://0x7F.0x0.0x0.0x1:${P()}/a.png`, () => `https://１２７.０.０.１:${P()}/a.png`, () => `HTTPS://127.0.0.1:${P()}/a.png`,
    // IPv4-mapped and -compatible IPv6
    () => `https://[::ffff:127.0.0.1]:${P()}/a.png`, () => `https://[::ffff:7f00:1]:${P()}/a.png`, () => `https://[0:0:0:0:0:ffff:7f00:1]:${P()}/a.png`,
    () => `https://[::127.0.0.1]:${P()}/a.png`, () => `https://[::ffff:0:7f00:1]:${P()}/a.png`,
    // names that resolve to loopback
    () => `https://loopback.test:${P()}/a.png`, () => `https://LOOPBACK.test:${P()}/a.png`, () => `https://loopback2.test:${P()}/a.png`,
    () => `https://v6loopback.test:${P()}/a.png`, () => `https://mapped.test:${P()}/a.png`, () => `https://unspecified.test:${P()}/a.png`,
    () => `https://mixed.test:${P()}/a.png`, () => `https://mixed6.test:${P()}/a.png`,
  ];
  for (const url of loopbackUrls) {
    it(`refuses ${url().replace(/:\d+\//, ':PORT/')} without connecting`, async () => {
      const before = any.connections;
      const res = await s.api(S, { method: 'POST', json: body(url()) });
      await expectErrorEnvelope(res, { status: 400, code: 'image_url_not_allowed', label: url() });
      expect(any.connections - before).toBe(0);
    });
  }

  const unroutable = [
    'https://10.0.0.1/a.png', 'https://10.255.255.254/a.png', 'https://172.16.0.1/a.png', 'https://172.31.255.254/a.png',
    'https://192.168.0.1/a.png', 'https://192.168.255.254/a.png', 'https://100.64.0.1/a.png', 'https://100.127.255.254/a.png',
    'https://169.254.169.254/latest/meta-data/iam/security-credentials/', 'https://169.254.0.1/a.png', 'https://0xa9fea9fe/latest/meta-data/',
    'https://2852039166/latest/meta-data/', 'https://[::ffff:169.254.169.254]/latest/meta-data/', 'https://[::ffff:a9fe:a9fe]/latest/meta-data/',
    'https://[fd00::1]/a.png', 'https://[fd12:3456:789a::1]/a.png', 'https://[fc00::1]/a.png', 'https://[fe80::1]/a.png', 'https://[fe80::1%25eth0]/a.png',
    'https://[ff02::1]/a.png', 'https://224.0.0.1/a.png', 'https://255.255.255.255/a.png', 'https://192.0.2.1/a.png', 'https://198.18.0.1/a.png',
    'https://240.0.0.1/a.png', 'https://[64:ff9b::a00:1]/a.png', 'https://[2002:a00:1::1]/a.png', 'https://[2001:db8::1]/a.png', 'https://[100::1]/a.png',
    'https://ten.test/a.png', 'https://oneseventwo.test/a.png', 'https://oneninetwo.test/a.png', 'https://cgnat.test/a.png',
    'https://metadata.google.internal/computeMetadata/v1/', 'https://linklocal.test/a.png', 'https://ula.test/a.png', 'https://fe80.test/a.png',
    'https://nat64.test/a.png', 'https://sixtofour.test/a.png', 'https://teredo.test/a.png', 'https://broadcast.test/a.png',
    'https://multicast.test/a.png', 'https://docs.test/a.png', 'https://does-not-resolve.test/a.png',
  ];
  for (const url of unroutable) {
    it(`refuses ${url} before any connection attempt`, async () => {
      const ours = `127.0.0.1:${new URL(s.base).port}`;
      const rec = recordConnectionAttempts();
      let res: Response;
      try {
        res = await s.api(S, { method: 'POST', json: body(url) });
      } finally {
        rec.stop();
      }
      // image_url_not_allowed, not image_fetch_failed: the policy refused it, no socket timed out or failed.
      await expectErrorEnvelope(res, { status: 400, code: 'image_url_not_allowed', label: url });
      // Not a single connection attempt but the test's own request to the server.
      expect(rec.attempts.filter((a) => a !== ours), url).toEqual([]);
    });
  }

  const schemes = [
    () => 'file:///etc/passwd', () => 'file://localhost/etc/passwd', () => `ftp://127.0.0.1:${P()}/a.png`, () => `gopher://127.0.0.1:${P()}/_GET%20/`,
    () => `dict://127.0.0.1:${P()}/info`, () => `ldap://127.0.0.1:${P()}/`, () => `ws://127.0.0.1:${P()}/`, () => `wss://127.0.0.1:${P()}/`,
    () => `http://127.0.0.1:${P()}/a.png`, () => `http://public.test:${P()}/a.png`, () => 'javascript:alert(document.domain)',
    () => 'data:text/html,<script>alert(1)</script>', () => `jar:https://127.0.0.1:${P()}/a.zip!/a.png`, () => `//127.0.0.1:${P()}/a.png`,
    () => `https:/127.0.0.1:${P()}/a.png`, () => `https:\\\\127.0.0.1:${P()}\\a.png`, () => `\thttps://127.0.0.1:${P()}/a.png`,
  ];
  for (const url of schemes) {
    it(`refuses the scheme of ${JSON.stringify(url().replace(/:\d+\//, ':PORT/'))} without connecting`, async () => {
      const before = any.connections;
      const res = await s.api(S, { method: 'POST', json: body(url()) });
      await expectErrorEnvelope(res, { status: 400, code: ['invalid_image', 'image_url_not_allowed'], label: url() });
      expect(any.connections - before).toBe(0);
    });
  }

  it('refuses credentials in the URL, even towards a public name', async () => {
    for (const url of [`https://user:pass@public.test/a.png`, `https://public.test@127.0.0.1:${P()}/a.png`, `https://127.0.0.1:${P()}@public.test/a.png`]) {
      await expectErrorEnvelope(await s.api(S, { method: 'POST', json: body(url) }), { status: 400, code: 'image_url_not_allowed', label: url });
    }
  });

  const callbacks = [
    'https://127.0.0.1/hook', 'https://[::1]/hook', 'https://169.254.169.254/hook', 'https://10.0.0.1/hook', 'https://[fd00::1]/hook',
    'https://2130706433/hook', 'https://[::ffff:7f00:1]/hook', 'https://loopback.test/hook', 'https://metadata.google.internal/hook',
    'https://mixed.test/hook', 'http://public.test/hook', 'file:///etc/passwd', 'https://does-not-resolve.test/hook',
  ];
  for (const url of callbacks) {
    it(`refuses callback_url ${url}`, async () => {
      const png = (await makeImage(64, 36)).toString('base64');
      await expectErrorEnvelope(await s.api(S, { method: 'POST', json: body(png, { callback_url: url }) }), { status: 400, code: 'invalid_callback_url', label: url });
    });
  }

  it('made no connection, created no task and stored no file', async () => {
    expect(any.connections).toBe(0);
    expect(await countTasks(s)).toBe(0);
    expect(await inputFiles(s.dataDir)).toEqual([]);
  });
});

/**
 * Redirects into private space. Loopback must play a public host here, which
 * only the isAllowedAddress test seam allows (with REELAY_ALLOW_PRIVATE_URLS=1
 * for plain http): 127.0.0.1 is "public", everything else keeps the real policy.
 */
describe('SSRF through redirects (isAllowedAddress seam: only 127.0.0.1 is public)', () => {
  let s: TestServer;
  let inner: Trap; // on 127.0.0.2 and ::1 (dual-stack '::' would also catch 127.0.0.1, the "public" host)
  let inner6: Trap;
  let outer: Trap;
  let seamWired = false;
  const isPublic = (ip: string) => ip === '127.0.0.1';

  beforeAll(async () => {
    inner = await trap('127.0.0.2');
    inner6 = await trap('::1', inner.port).catch(() => trap('::1'));
    outer = await trap('127.0.0.1', 0, (req, res) => {
      const to = new URL(req.url ?? '/', 'http://x').searchParams.get('to') ?? '/';
      const hops = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('hops') ?? 0);
      if (hops > 0) { res.writeHead(302, { location: `/?hops=${hops - 1}&to=${encodeURIComponent(to)}` }).end(); return; }
      res.writeHead(Number(new URL(req.url ?? '/', 'http://x').searchParams.get('status') ?? 302), { location: to }).end();
    });
    s = await startServer({ REELAY_ROLE: 'api', REELAY_ALLOW_PRIVATE_URLS: '1', REELAY_IMAGE_FETCH_TIMEOUT_MS: String(FETCH_TIMEOUT_MS) }, {
      isAllowedAddress: isPublic,
      lookup: async (host) => (host === 'public.test' ? [{ address: '127.0.0.1', family: 4 }] : lookup(host)),
    });
    // The seam reaches image fetches only if the composition root passes it to the image fetcher.
    const probe = await trap('127.0.0.2');
    const res = await s.api(S, { method: 'POST', json: body(`http://127.0.0.2:${probe.port}/a.png`) });
    seamWired = res.status === 400 && ((await res.json()) as { error: { code: string } }).error.code === 'image_url_not_allowed';
    await closeTrap(probe);
  });
  afterAll(async () => { await s?.close(); await Promise.all([closeTrap(outer), closeTrap(inner), closeTrap(inner6)]); });

  const redirectTo = (target: string, extra = '') => `http://public.test:${outer.port}/?to=${encodeURIComponent(target)}${extra}`;
  const targets: [string, () => string][] = [
    ['127.0.0.2', () => `http://127.0.0.2:${inner.port}/a.png`], ['[::1]', () => `http://[::1]:${inner6.port}/a.png`],
    ['decimal 2130706434', () => `http://2130706434:${inner.port}/a.png`], ['hex 0x7f.0.0.2', () => `http://0x7f.0.0.2:${inner.port}/a.png`],
    ['[::ffff:127.0.0.2]', () => `http://[::ffff:127.0.0.2]:${inner.port}/a.png`], ['[::ffff:7f00:2]', () => `http://[::ffff:7f00:2]:${inner.port}/a.png`],
    ['a name resolving to 127.0.0.2', () => `http://loopback2.test:${inner.port}/a.png`], ['a name resolving to ::1', () => `http://v6loopback.test:${inner6.port}/a.png`],
    ['scheme-relative //127.0.0.2', () => `//127.0.0.2:${inner.port}/a.png`], ['169.254.169.254', () => 'http://169.254.169.254/latest/meta-data/'],
    ['10.0.0.1', () => 'http://10.0.0.1/a.png'], ['[fd00::1]', () => 'http://[fd00::1]/a.png'], ['metadata.google.internal', () => 'http://metadata.google.internal/'],
    ['file:///etc/passwd', () => 'file:///etc/passwd'], ['gopher://', () => `gopher://127.0.0.2:${inner.port}/_x`], ['ftp://', () => `ftp://127.0.0.2:${inner.port}/a.png`],
  ];
  for (const [name, target] of targets) {
    for (const [how, extra] of [['302', ''], ['307 after 2 hops', '&status=307&hops=2'], ['301', '&status=301'], ['308', '&status=308']] as const) {
      it(`refuses a ${how} redirect to ${name}`, async (ctx) => {
        if (!seamWired) ctx.skip('overrides.isAllowedAddress is not passed to imageFetcher in src/app.ts (see the hardening report)');
        const before = inner.connections + inner6.connections;
        const res = await s.api(S, { method: 'POST', json: body(redirectTo(target(), extra)) });
        await expectErrorEnvelope(res, { status: 400, code: 'image_url_not_allowed', label: `${how} → ${target()}` });
        expect(inner.connections + inner6.connections - before).toBe(0);
      });
    }
  }

  it('refuses more than 5 redirects', async (ctx) => {
    if (!seamWired) ctx.skip('seam not wired for image fetches');
    await expectErrorEnvelope(await s.api(S, { method: 'POST', json: body(redirectTo(`http://127.0.0.1:${outer.port}/`, '&hops=6')) }), { status: 400, code: 'image_url_not_allowed' });
  });

  it('still follows a redirect between public hosts (the seam is not a blanket refusal)', async (ctx) => {
    if (!seamWired) ctx.skip('seam not wired for image fetches');
    const img = await trap('127.0.0.1');
    try {
      const res = await s.api(S, { method: 'POST', json: body(redirectTo(`http://public.test:${img.port}/a.png`)) });
      expect(res.status, await res.clone().text()).toBe(200);
      const t = (await res.json()) as { id: string };
      expect((await s.api(`${S}/${t.id}/cancel`, { method: 'POST' })).status).toBe(200);
    } finally {
      await closeTrap(img);
    }
  });

  it('the private listeners never saw a connection', () => {
    expect(inner.connections + inner6.connections).toBe(0);
  });
});
