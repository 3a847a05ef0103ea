// Issue 19 §4: /healthz, /readyz and /metrics need no key, so one client could flood them and take the
// event loop from every key. Each client address now has its own probe budget; past it the 429 is held
// for a while, so a client looping without reading Retry-After is slowed instead of served at full speed.
import Fastify from 'fastify';
import { request } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createProbeLimit } from '../../src/http/probe-limit.ts';
import { createRefusalHold } from '../../src/http/refusal-hold.ts';
import { installErrorHandling } from '../../src/http/error-handler.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

// Linux routes all of 127.0.0.0/8 to loopback: a second client address without a second machine.
const OTHER = '127.0.0.2';
/** One GET on a fresh connection (so a held answer never blocks the next request) from `from`. */
function probe(base: string, path: string, from = '127.0.0.1'): Promise<{ status: number; retryAfter: string | undefined; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { localAddress: from, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve({
        status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined, text: Buffer.concat(chunks).toString('utf8'),
      }));
    });
    req.on('error', reject).end();
  });
}

describe('probe limit per client address', () => {
  let s: TestServer;
  let clock = 1_800_000_000_000;
  beforeAll(async () => {
    s = await startServer({ REELAY_ROLE: 'api', REELAY_PROBES_PER_SECOND: '2', REELAY_LIMIT_HOLD_MS: '0' }, { now: () => clock });
  });
  afterAll(async () => { await s?.close(); });

  it('the routes share a budget of two seconds’ worth; past it 429 with Retry-After; another address is served; it refills', async () => {
    const answers = [];
    for (const path of ['/healthz', '/readyz', '/metrics', '/healthz']) answers.push((await probe(s.base, path)).status);
    expect(answers).toEqual([200, 200, 200, 200]);
    const refused = await probe(s.base, '/readyz');
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBe('1');
    expect(JSON.parse(refused.text)).toMatchObject({ error: { code: 'rate_limited' } });
    expect((await probe(s.base, '/healthz', OTHER)).status).toBe(200);
    // Keys are not involved: an authenticated route from the same address is unaffected.
    expect((await s.api('/v1/models')).status).toBe(200);
    clock += 1000; // two more
    expect([(await probe(s.base, '/healthz')).status, (await probe(s.base, '/healthz')).status, (await probe(s.base, '/healthz')).status]).toEqual([200, 200, 429]);
  });

  it('the 429 is documented on each route', async () => {
    const doc = JSON.parse((await probe(s.base, '/openapi.json', OTHER)).text) as { paths: Record<string, { get: { responses: Record<string, unknown> } }> };
    for (const path of ['/healthz', '/readyz', '/metrics']) expect(doc.paths[path]!.get.responses).toHaveProperty('429');
  });
});

describe('held answers', () => {
  let app: ReturnType<typeof Fastify> | undefined;
  afterEach(async () => { await app?.close(); });

  it('a probe past the limit waits for its 429 while others are answered; past maxHeld the connection is closed; release answers the held ones', async () => {
    const hold = createRefusalHold(600_000, 1);
    const limit = createProbeLimit({ perSecond: 1, hold, now: () => 0 });
    app = Fastify();
    installErrorHandling(app, 1000);
    app.get('/healthz', { onRequest: limit.gate }, async () => ({ status: 'ok' }));
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    for (let i = 0; i < 2; i++) expect((await probe(base, '/healthz')).status).toBe(200);
    const order: string[] = [];
    const held = probe(base, '/healthz').then((r) => { order.push('held answered'); return r; });
    // The other address is answered while the first waits (its 429 is 10 minutes away).
    expect((await probe(base, '/healthz', OTHER)).status).toBe(200);
    order.push('other answered');
    // Two over the limit, one already held: the second's connection is closed without an answer.
    await expect(probe(base, '/healthz')).rejects.toThrow();
    hold.releaseAll();
    const r = await held;
    expect(r.status).toBe(429);
    expect(order).toEqual(['other answered', 'held answered']);
  });
});

describe('per-key rate limit refusals are held too', () => {
  let s: TestServer;
  let clock = 1_800_000_000_000;
  beforeAll(async () => {
    // 4 a minute: one saved up. A minute's hold: only a release (the server closing) answers it.
    s = await startServer({ REELAY_ROLE: 'api', REELAY_RATE_LIMIT_PER_MINUTE: '4', REELAY_LIMIT_HOLD_MS: '60000' }, { now: () => clock });
  });
  afterAll(async () => { await s?.close(); });

  it('a key past its limit waits for its 429 while another key is answered; closing the server answers it', async () => {
    const hostile = await s.newKey('looping');
    const other = await s.newKey('other');
    const call = (key: string) => s.api('/v1/models', { headers: { authorization: `Bearer ${key}` } });
    expect((await call(hostile)).status).toBe(200);
    const order: string[] = [];
    const held = call(hostile).then((r) => { order.push('held answered'); return r; });
    expect((await call(other)).status).toBe(200);
    order.push('other answered');
    await s.app.close(100);
    const r = await held;
    expect(r.status).toBe(429);
    expect(order).toEqual(['other answered', 'held answered']);
  });
});
