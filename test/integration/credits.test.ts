import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage, dataUri } from '../helpers/images.ts';
import { startServer, waitForTask, type TaskJson, type TestServer } from '../helpers/server.ts';
import { loadCatalog } from '../../src/domain/catalog.ts';
import { priceTask } from '../../src/domain/pricing.ts';

const catalog = loadCatalog();
let img: string;
beforeAll(async () => { img = dataUri(await makeImage(64, 36)); });

const body = (extra: Record<string, unknown> = {}) => ({ model: 'veo-3.0-fast-generate-001', prompt: 'x', aspect_ratio: '16:9', seconds: 4, images: [img], ...extra });
const price = (extra: Partial<{ seconds: number; resolution: '720p' | '1080p' | '4k'; audio: boolean; isRec: boolean; offPeak: boolean }> = {}) =>
  priceTask(catalog.find('veo-3.0-fast-generate-001')!, catalog.pricing, { seconds: 4, resolution: '720p', audio: true, isRec: false, offPeak: false, ...extra }).credits;

interface Credits { balance: number; reserved_in_flight: number; entries: { kind: string; amount: number; task_id: string | null; balance_after: number }[] }

/** A key with exactly `credits`, and helpers acting as it. */
async function account(s: TestServer, credits: number) {
  const k = await s.app.keys.create('acct');
  if (credits) await s.app.credits.grant(k.id, credits, 'test');
  const headers = { authorization: `Bearer ${k.key}` };
  return {
    id: k.id, key: k.key,
    submit: (extra: Record<string, unknown> = {}) => s.api('/v1/video/generations', { method: 'POST', headers, json: body(extra) }),
    credits: async () => (await (await s.api('/v1/credits', { headers })).json()) as Credits,
    cancel: (id: string) => s.api(`/v1/video/generations/${id}/cancel`, { method: 'POST', headers }),
    list: async () => ((await (await s.api('/v1/video/generations', { headers })).json()) as { data: TaskJson[] }).data,
  };
}

describe('credits on an API-only node (nothing renders)', () => {
  let s: TestServer;
  let clockOffset = 0;
  beforeAll(async () => { s = await startServer({ REELAY_ROLE: 'api' }, { now: () => Date.now() + clockOffset }); });
  afterAll(async () => { await s?.close(); });

  it('submit reserves the price, shown on the task and in the ledger', async () => {
    const a = await account(s, 1000);
    const res = await a.submit();
    expect(res.status).toBe(200);
    const t = (await res.json()) as TaskJson & { credits: { reserved: number; charged: number; refunded: number } };
    expect(t.credits).toEqual({ reserved: price(), charged: 0, refunded: 0 });
    const c = await a.credits();
    expect(c.balance).toBe(1000 - price());
    expect(c.reserved_in_flight).toBe(price());
    expect(c.entries[0]).toMatchObject({ kind: 'reserve', amount: -price(), task_id: t.id, balance_after: 1000 - price() });
  });

  it('402 with the price and the balance, and nothing is created', async () => {
    const a = await account(s, price() - 1);
    const res = await a.submit();
    expect(res.status).toBe(402);
    const e = ((await res.json()) as { error: { type: string; code: string; message: string } }).error;
    expect(e).toMatchObject({ type: 'insufficient_credits_error', code: 'insufficient_credits' });
    expect(e.message).toContain(`${price()} credits`);
    expect(e.message).toContain(`${price() - 1}`);
    expect(await a.list()).toHaveLength(0);
    const c = await a.credits();
    expect(c.balance).toBe(price() - 1);
    expect(c.entries.map((x) => x.kind)).toEqual(['grant']);
    const inputs = await readdir(join(s.dataDir, 'blobs', 'inputs')).catch(() => [] as string[]);
    const tasks = await s.app.store.db.kysely.selectFrom('tasks').select('id').execute();
    expect(inputs.filter((d) => !tasks.some((t) => t.id === d))).toEqual([]);
  });

  it('cancel refunds in full, exactly once', async () => {
    const a = await account(s, 1000);
    const t = (await (await a.submit()).json()) as TaskJson;
    expect((await a.cancel(t.id)).status).toBe(200);
    expect((await a.cancel(t.id)).status).toBe(409);
    const c = await a.credits();
    expect(c.balance).toBe(1000);
    expect(c.entries.filter((x) => x.kind === 'refund')).toEqual([expect.objectContaining({ amount: price(), task_id: t.id })]);
    const after = (await (await s.api(`/v1/video/generations/${t.id}`, { headers: { authorization: `Bearer ${a.key}` } })).json()) as { credits: unknown };
    expect(after.credits).toEqual({ reserved: price(), charged: 0, refunded: price() });
  });

  it('off-peak costs less, and expires after 48 h with a refund (injected clock)', async () => {
    const a = await account(s, 1000);
    const t = (await (await a.submit({ off_peak: true })).json()) as TaskJson & { credits: { reserved: number } };
    expect(t.credits.reserved).toBe(price({ offPeak: true }));
    expect(t.credits.reserved).toBeLessThan(price());
    clockOffset = 47 * 3600 * 1000;
    expect((await s.app.runMaintenance()).offPeakExpired).toBe(0);
    clockOffset = 49 * 3600 * 1000;
    expect((await s.app.runMaintenance()).offPeakExpired).toBeGreaterThanOrEqual(1);
    clockOffset = 0;
    const ended = (await (await s.api(`/v1/video/generations/${t.id}`, { headers: { authorization: `Bearer ${a.key}` } })).json()) as TaskJson;
    expect(ended.status).toBe('cancelled');
    expect(ended.error?.code).toBe('off_peak_expired');
    expect((await a.credits()).balance).toBe(1000);
  });

  it('is_rec charges the surcharge and records the optimised prompt', async () => {
    const a = await account(s, 1000);
    const t = (await (await a.submit({ is_rec: true, prompt: 'a red apple' })).json()) as TaskJson & { credits: { reserved: number }; optimized_prompt: string };
    expect(t.credits.reserved).toBe(price({ isRec: true }));
    expect(t.optimized_prompt).toMatch(/^a red apple\. .*push in/);
    expect(t.prompt).toBe('a red apple');
  });

  it('50 parallel submits on a balance that covers 10 create exactly 10 tasks', async () => {
    const a = await account(s, price() * 10 + price() - 1);
    const results = await Promise.all(Array.from({ length: 50 }, () => a.submit()));
    const codes = results.map((r) => r.status);
    await Promise.all(results.map((r) => r.arrayBuffer()));
    expect(codes.filter((c) => c === 200)).toHaveLength(10);
    expect(codes.filter((c) => c === 402)).toHaveLength(40);
    expect(await a.list()).toHaveLength(10);
    expect((await a.credits()).balance).toBe(price() - 1);
    expect(await s.app.store.ledger.sumOfEntries(a.id)).toBe(price() - 1);
  });

  it('/metrics shows ledger totals by kind', async () => {
    const text = await (await fetch(`${s.base}/metrics`)).text();
    expect(text).toMatch(/reelay_credits_total\{kind="grant"\} [1-9]/);
    expect(text).toMatch(/reelay_credits_total\{kind="reserve"\} -[1-9]/);
    expect(text).toMatch(/reelay_credits_total\{kind="refund"\} [1-9]/);
  });

  it('the admin API grants credits and lists balances, only with the admin token', async () => {
    const denied = await fetch(`${s.base}/admin/keys`, { headers: { authorization: `Bearer ${s.key}` } });
    expect(denied.status).toBe(401);
    expect(((await denied.json()) as { error: { message: string } }).error.message).toMatch(/REELAY_ADMIN_TOKEN/);
  });
});

describe('credits through real renders', () => {
  let s: TestServer;
  beforeAll(async () => { s = await startServer(); });
  afterAll(async () => { await s?.close(); });

  it('success charges the reservation; the balance equals the sum of entries', async () => {
    const a = await account(s, 1000);
    const t = (await (await a.submit()).json()) as TaskJson;
    const { task } = await waitForTask(s, t.id, 60_000, a.key);
    expect(task.status).toBe('succeeded');
    expect(task.credits).toEqual({ reserved: price(), charged: price(), refunded: 0 });
    const c = await a.credits();
    expect(c.balance).toBe(1000 - price());
    expect(c.entries.map((e) => e.kind)).toEqual(['charge', 'reserve', 'grant']);
  });

  it('a failed render refunds in full', async () => {
    const broken = await startServer({ FFMPEG_PATH: '/nonexistent/ffmpeg' });
    try {
      const a = await account(broken, 1000);
      const t = (await (await a.submit()).json()) as TaskJson;
      const { task } = await waitForTask(broken, t.id, 30_000, a.key);
      expect(task.status).toBe('failed');
      expect(task.credits).toEqual({ reserved: price(), charged: 0, refunded: price() });
      expect((await a.credits()).balance).toBe(1000);
    } finally {
      await broken.close();
    }
  });
});

describe('limits per key', () => {
  it('too many tasks in flight → 429 with Retry-After', async () => {
    const s = await startServer({ REELAY_ROLE: 'api', REELAY_MAX_ACTIVE_TASKS_PER_KEY: '2' });
    try {
      const a = await account(s, 10_000);
      expect((await a.submit()).status).toBe(200);
      expect((await a.submit()).status).toBe(200);
      const third = await a.submit();
      expect(third.status).toBe(429);
      expect(third.headers.get('retry-after')).toBe('5');
      expect(((await third.json()) as { error: { code: string } }).error.code).toBe('too_many_active_tasks');
      expect((await a.credits()).entries.filter((e) => e.kind === 'reserve')).toHaveLength(2);
    } finally {
      await s.close();
    }
  });

  it('a burst beyond the submissions this node reads at once → 429 server_busy, the rest accepted, none lost', async () => {
    const s = await startServer({ REELAY_ROLE: 'api', REELAY_MAX_CONCURRENT_SUBMITS: '2' });
    try {
      const a = await account(s, 1_000_000);
      const big = dataUri(await makeImage(1600, 900));
      const results = await Promise.all(Array.from({ length: 12 }, () => a.submit({ images: [big] })));
      const codes = results.map((r) => r.status);
      expect(codes.every((c) => c === 200 || c === 429)).toBe(true);
      const busy = results.filter((r) => r.status === 429);
      expect(busy.length).toBeGreaterThan(0);
      expect(busy[0]!.headers.get('retry-after')).toBe('1');
      expect(((await busy[0]!.json()) as { error: { code: string } }).error.code).toBe('server_busy');
      expect(await a.list()).toHaveLength(codes.filter((c) => c === 200).length);
      // Once the burst is over, the node accepts again.
      expect((await a.submit()).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('too many requests per minute → 429 with Retry-After; other keys unaffected', async () => {
    // 20 a minute: a key saves up a quarter minute's worth, 5 requests.
    const s = await startServer({ REELAY_ROLE: 'api', REELAY_RATE_LIMIT_PER_MINUTE: '20' });
    try {
      const a = await account(s, 0);
      const b = await account(s, 0);
      for (let i = 0; i < 5; i++) expect((await s.api('/v1/models', { headers: { authorization: `Bearer ${a.key}` } })).status).toBe(200);
      const limited = await s.api('/v1/models', { headers: { authorization: `Bearer ${a.key}` } });
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
      expect((await s.api('/v1/models', { headers: { authorization: `Bearer ${b.key}` } })).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe('admin API with a token', () => {
  it('creates a key with credits, grants more, lists balances', async () => {
    const token = 'admin-token-0123456789';
    const s = await startServer({ REELAY_ROLE: 'api', REELAY_ADMIN_TOKEN: token });
    try {
      const h = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const created = (await (await fetch(`${s.base}/admin/keys`, { method: 'POST', headers: h, body: JSON.stringify({ name: 'team', credits: 500 }) })).json()) as { id: string; key: string; balance: number };
      expect(created.balance).toBe(500);
      const granted = await fetch(`${s.base}/admin/keys/${created.id}/credits`, { method: 'POST', headers: h, body: JSON.stringify({ amount: 250, note: 'bonus' }) });
      expect(((await granted.json()) as { balance: number }).balance).toBe(750);
      const tooMuch = await fetch(`${s.base}/admin/keys/${created.id}/credits`, { method: 'POST', headers: h, body: JSON.stringify({ amount: -1000 }) });
      expect(tooMuch.status).toBe(400);
      const list = (await (await fetch(`${s.base}/admin/keys`, { headers: h })).json()) as { data: { id: string; balance: number }[] };
      expect(list.data.find((k) => k.id === created.id)?.balance).toBe(750);
      expect((await fetch(`${s.base}/admin/keys`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
      const mine = (await (await fetch(`${s.base}/v1/credits`, { headers: { authorization: `Bearer ${created.key}` } })).json()) as Credits;
      expect(mine.balance).toBe(750);
      expect(mine.entries.map((e) => e.kind)).toEqual(['grant', 'grant']);
    } finally {
      await s.close();
    }
  });
});
