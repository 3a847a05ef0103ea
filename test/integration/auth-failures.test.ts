// Issue 19: a client cycling through made-up keys has no key to charge, so the per-key limits never see it; it
// was answered as fast as it asked (a key lookup each). Past ten failed authentications a second from one
// address (two seconds' worth saved up), its 401s are held like the per-key 429s.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.ts';

const OTHER = '127.0.0.2';

/** One GET on a fresh connection from `from`, so a held answer never blocks the next request. */
function get(base: string, path: string, headers: Record<string, string>, from = '127.0.0.1'): Promise<{ status: number; code?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { localAddress: from, agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { error?: { code?: string } };
        resolve({ status: res.statusCode!, ...(body.error?.code ? { code: body.error.code } : {}) });
      });
    });
    req.on('error', reject).end();
  });
}

describe('failed authentications per client address', () => {
  let s: TestServer;
  let clock = 1_800_000_000_000;
  beforeAll(async () => {
    // A hold far longer than the test: a held answer arrives only when the server closes.
    s = await startServer({ REELAY_ROLE: 'api', REELAY_LIMIT_HOLD_MS: '60000' }, { now: () => clock });
  });
  afterAll(async () => { await s?.close(); });

  it('past twenty at once a 401 is held; other addresses and valid keys are answered; it refills', async () => {
    const bad = (i: number) => ({ authorization: `Bearer rl_made_up_${i}` });
    for (let i = 0; i < 20; i++) expect(await get(s.base, '/v1/models', bad(i))).toEqual({ status: 401, code: 'invalid_api_key' });
    const order: string[] = [];
    const held = get(s.base, '/v1/models', bad(20)).then((r) => { order.push('held'); return r; });
    // The drop-in surfaces count against the same address (their key header is another).
    const heldGoogle = get(s.base, '/v1beta/models/veo-3.1-generate-preview/operations/abc', { 'x-goog-api-key': 'made-up' }).then((r) => { order.push('held google'); return r; });
    expect((await get(s.base, '/v1/models', bad(21), OTHER)).status).toBe(401);
    expect((await get(s.base, '/v1/models', { authorization: `Bearer ${s.key}` })).status).toBe(200);
    order.push('others answered');
    clock += 1000; // ten more a second; the two held ones spent two
    for (let i = 0; i < 8; i++) expect((await get(s.base, '/v1/models', bad(100 + i))).status).toBe(401);
    order.push('refilled');
    await s.close();
    expect(await held).toEqual({ status: 401, code: 'invalid_api_key' });
    expect((await heldGoogle).status).toBe(401);
    expect(order.slice(0, 2)).toEqual(['others answered', 'refilled']);
  });
});
