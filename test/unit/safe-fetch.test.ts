import { describe, it, expect, afterEach } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  safeFetch, assertSafeUrlSyntax, UnsafeUrlError, FetchFailedError,
} from '../../src/infra/net/safe-fetch.ts';
import type { SafeFetchOptions, LookupFn } from '../../src/infra/net/safe-fetch.ts';

interface TestServer { port: number; connections: number; requests: http.IncomingMessage[] }
const open: http.Server[] = [];

async function serve(handler: http.RequestListener, host = '127.0.0.1'): Promise<TestServer> {
  const server = http.createServer((req, res) => { state.requests.push(req); handler(req, res); });
  const state: TestServer = { port: 0, connections: 0, requests: [] };
  server.on('connection', () => { state.connections++; });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  state.port = (server.address() as AddressInfo).port;
  open.push(server);
  return state;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => new Promise<void>((resolve) => {
    s.closeAllConnections();
    s.close(() => resolve());
  })));
});

const base: SafeFetchOptions = { allowPrivate: false, timeoutMs: 1000, maxBytes: 1024, label: 'image URL' };
const resolveTo = (address: string): LookupFn => async () => [{ address, family: address.includes(':') ? 6 : 4 }];
// Test seam: 127.0.0.1 plays a public host, anything else (127.0.0.2 here) is "private".
const seam: SafeFetchOptions = { ...base, allowPrivate: true, isAllowedAddress: (ip) => ip === '127.0.0.1' };

async function rejection(p: Promise<unknown>): Promise<Error> {
  try { await p; } catch (err) { return err as Error; }
  throw new Error('expected a rejection');
}
const hello: http.RequestListener = (_req, res) => { res.setHeader('content-type', 'image/png'); res.end('hello'); };

describe('safeFetch DNS pinning', () => {
  it.each(['127.0.0.1', '10.0.0.1', '::1', '::ffff:127.0.0.1'])(
    'refuses a name resolving to %s without connecting', async (address) => {
      const srv = await serve(hello);
      const err = await rejection(safeFetch(`https://public.test:${srv.port}/a.png`, { ...base, lookup: resolveTo(address) }));
      expect(err).toBeInstanceOf(UnsafeUrlError);
      expect((err as UnsafeUrlError).reason).toBe('private_address');
      expect(err.message).toBe(`image URL resolves to a private address (${address})`);
      expect(srv.connections).toBe(0);
    });

  it('refuses when any one of several records is private', async () => {
    const srv = await serve(hello);
    const lookup: LookupFn = async () => [{ address: '93.184.216.34', family: 4 }, { address: '127.0.0.1', family: 4 }];
    const err = await rejection(safeFetch(`https://public.test:${srv.port}/`, { ...base, lookup }));
    expect((err as UnsafeUrlError).reason).toBe('private_address');
    expect(srv.connections).toBe(0);
  });

  it('maps resolver failures to reason dns', async () => {
    const lookup: LookupFn = async () => { throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }); };
    const err = await rejection(safeFetch('https://nowhere.test/', { ...base, lookup }));
    expect((err as UnsafeUrlError).reason).toBe('dns');
  });

  it('connects to the validated address while keeping the original Host', async () => {
    const srv = await serve(hello);
    const res = await safeFetch(`http://public.test:${srv.port}/a.png`, { ...seam, lookup: resolveTo('127.0.0.1') });
    expect(res.body.toString()).toBe('hello');
    expect(srv.requests[0]?.headers.host).toBe(`public.test:${srv.port}`);
  });
});

describe('URL syntax checks', () => {
  it.each([
    'https://127.0.0.1/', 'https://[::1]/', 'https://0.0.0.0/', 'https://0/', 'https://169.254.169.254/latest/meta-data/',
    'https://100.64.0.1/', 'https://192.168.1.1/', 'https://172.16.0.1/', 'https://10.1.2.3/', 'https://2130706433/',
    'https://017700000001/', 'https://0x7f.1/', 'https://0x7f000001/', 'https://[::ffff:127.0.0.1]/', 'https://[fd00::1]/',
  ])('refuses literal %s', (url) => {
    expect(() => assertSafeUrlSyntax(url, false)).toThrow(expect.objectContaining({ reason: 'private_address' }));
  });

  it.each(['file:///etc/passwd', 'ftp://example.com/a.png', 'gopher://example.com/', 'data:image/png;base64,AAAA'])(
    'refuses scheme of %s even with allowPrivate', (url) => {
      expect(() => assertSafeUrlSyntax(url, true)).toThrow(expect.objectContaining({ reason: 'scheme' }));
    });

  it('refuses http unless allowPrivate', () => {
    expect(() => assertSafeUrlSyntax('http://example.com/a.png', false)).toThrow(expect.objectContaining({ reason: 'scheme' }));
    expect(assertSafeUrlSyntax('http://example.com/a.png', true).hostname).toBe('example.com');
    expect(assertSafeUrlSyntax('https://example.com/a.png', false).hostname).toBe('example.com');
  });

  it('refuses credentials and garbage without echoing them', () => {
    const err = (() => { try { assertSafeUrlSyntax('https://bob:hunter2@example.com/', false); } catch (e) { return e as UnsafeUrlError; } })();
    expect(err?.reason).toBe('invalid_url');
    expect(err?.message).not.toContain('hunter2');
    expect(() => assertSafeUrlSyntax('not a url', false)).toThrow(expect.objectContaining({ reason: 'invalid_url' }));
  });

  it.each(['https://127.0.0.1:PORT/', 'https://2130706433:PORT/', 'https://[::ffff:127.0.0.1]:PORT/', 'http://127.0.0.1:PORT/'])(
    'safeFetch refuses %s without connecting', async (tpl) => {
      const srv = await serve(hello);
      const err = await rejection(safeFetch(tpl.replace('PORT', String(srv.port)), base));
      expect(err).toBeInstanceOf(UnsafeUrlError);
      expect(srv.connections).toBe(0);
    });
});

describe('safeFetch with allowPrivate', () => {
  it('fetches from a loopback http server', async () => {
    const srv = await serve(hello);
    const url = `http://127.0.0.1:${srv.port}/a.png`;
    const res = await safeFetch(url, { ...base, allowPrivate: true });
    expect(res).toMatchObject({ status: 200, finalUrl: url });
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.body.toString()).toBe('hello');
  });

  it('reports non-2xx as http_status without leaking the body', async () => {
    const srv = await serve((_req, res) => { res.statusCode = 404; res.end('secret-internal-detail'); });
    const err = await rejection(safeFetch(`http://127.0.0.1:${srv.port}/`, { ...base, allowPrivate: true }));
    expect(err).toBeInstanceOf(FetchFailedError);
    expect(err).toMatchObject({ reason: 'http_status', status: 404, message: 'image URL answered with HTTP 404' });
  });

  it('reports refused connections as network', async () => {
    const srv = await serve(hello);
    open.pop()?.close();
    await new Promise((r) => setTimeout(r, 10));
    const err = await rejection(safeFetch(`http://127.0.0.1:${srv.port}/`, { ...base, allowPrivate: true }));
    expect(err).toMatchObject({ reason: 'network' });
  });
});

describe('safeFetch redirects', () => {
  const redirectTo = (location: string, status = 302): http.RequestListener => (_req, res) => {
    res.writeHead(status, { location }); res.end('moved');
  };

  it('re-checks a literal private redirect target', async () => {
    const inner = await serve(hello, '127.0.0.2');
    const outer = await serve(redirectTo(`http://127.0.0.2:${inner.port}/`));
    const err = await rejection(safeFetch(`http://127.0.0.1:${outer.port}/`, seam));
    expect(err).toMatchObject({ reason: 'private_address', message: 'image URL points to a private address (127.0.0.2)' });
    expect(inner.connections).toBe(0);
  });

  it('re-resolves a redirect target name and refuses private answers', async () => {
    const inner = await serve(hello, '127.0.0.2');
    const outer = await serve(redirectTo(`http://internal.test:${inner.port}/`, 307));
    const lookup: LookupFn = async (host) => [{ address: host === 'internal.test' ? '127.0.0.2' : '127.0.0.1', family: 4 }];
    const err = await rejection(safeFetch(`http://public.test:${outer.port}/`, { ...seam, lookup }));
    expect(err).toMatchObject({ reason: 'private_address' });
    expect(inner.connections).toBe(0);
  });

  it('refuses a redirect to another scheme', async () => {
    const outer = await serve(redirectTo('file:///etc/passwd', 301));
    await expect(safeFetch(`http://127.0.0.1:${outer.port}/`, seam)).rejects.toMatchObject({ reason: 'scheme' });
  });

  it('follows relative redirects and turns a 303 POST into GET', async () => {
    const srv = await serve((req, res) => {
      if (req.url === '/start') return redirectTo('final?x=1', 303)(req, res);
      res.end(`${req.method} ${req.url}`);
    });
    const res = await safeFetch(`http://127.0.0.1:${srv.port}/start`, { ...seam, method: 'POST', body: '{}' });
    expect(res.body.toString()).toBe('GET /final?x=1');
    expect(res.finalUrl).toBe(`http://127.0.0.1:${srv.port}/final?x=1`);
  });

  it('stops after maxRedirects', async () => {
    const srv = await serve((req, res) => redirectTo(`/r${Number(req.url?.slice(2) || 0) + 1}`)(req, res));
    const err = await rejection(safeFetch(`http://127.0.0.1:${srv.port}/r0`, { ...seam, maxRedirects: 3 }));
    expect(err).toMatchObject({ reason: 'too_many_redirects' });
    expect(srv.requests).toHaveLength(4);
  });
});

describe('safeFetch limits', () => {
  it('times out on a body that trickles forever', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      const t = setInterval(() => res.write('x'), 20);
      res.on('close', () => clearInterval(t));
    });
    // The body never ends and a byte comes every 20 ms (an idle timeout would never fire): only the whole-request
    // deadline can end this, so its rejection is the proof.
    const err = await rejection(safeFetch(`http://127.0.0.1:${srv.port}/`, { ...base, allowPrivate: true, timeoutMs: 300 }));
    expect(err).toMatchObject({ reason: 'timeout', message: 'image URL did not answer within 0.3 s' });
  });

  it('times out when headers never come', async () => {
    const srv = await serve(() => {});
    const err = await rejection(safeFetch(`http://127.0.0.1:${srv.port}/`, { ...base, allowPrivate: true, timeoutMs: 200 }));
    expect(err).toMatchObject({ reason: 'timeout' });
  });

  it('rejects early on a Content-Length above maxBytes', async () => {
    const srv = await serve((_req, res) => { res.writeHead(200, { 'content-length': 5000 }); res.end('y'.repeat(5000)); });
    const err = await rejection(safeFetch(`http://127.0.0.1:${srv.port}/`, { ...base, allowPrivate: true }));
    expect(err).toMatchObject({ reason: 'too_large', message: 'image URL is larger than 1 KB' });
  });

  it('aborts a chunked body as soon as it passes maxBytes', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(200);
      const t = setInterval(() => res.write('z'.repeat(300)), 5); // never ends on its own
      res.on('close', () => clearInterval(t));
    });
    const err = await rejection(safeFetch(`http://127.0.0.1:${srv.port}/`, { ...base, allowPrivate: true, timeoutMs: 1500 }));
    expect(err).toMatchObject({ reason: 'too_large' });
  });

  it('accepts a body of exactly maxBytes', async () => {
    const srv = await serve((_req, res) => res.end('k'.repeat(1024)));
    const res = await safeFetch(`http://127.0.0.1:${srv.port}/`, { ...base, allowPrivate: true });
    expect(res.body.length).toBe(1024);
  });
});
