import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { Reelay, ReelayConnectionError, ReelayError, ReelayTimeoutError, type Task } from '../../src/sdk/client.ts';
import { makeImage, dataUri } from '../helpers/images.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { probeBytes } from '../helpers/ffprobe.ts';

const MODEL = 'veo-3.0-fast-generate-001';
const tiny = { model: MODEL, prompt: 'slow push in', aspect_ratio: '16:9', seconds: 4, size: '720p' };

let s: TestServer; // renders
let q: TestServer; // API only: tasks stay queued, so waits, cancels and pages are deterministic
let png: Buffer;
beforeAll(async () => {
  [s, q, png] = await Promise.all([startServer(), startServer({ REELAY_ROLE: 'api' }), makeImage(320, 180)]);
});
afterAll(async () => { await Promise.all([s?.close(), q?.close()]); });

const sdk = (server: TestServer, o: Partial<ConstructorParameters<typeof Reelay>[0]> = {}) =>
  new Reelay({ baseUrl: server.base, apiKey: server.key, ...o });

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('SDK against a real server', () => {
  it('create (bytes → multipart) → waitUntilDone → get → download video and thumbnail', async () => {
    const reelay = sdk(s);
    const created = await reelay.videos.create({ ...tiny, images: png });
    expect(created).toMatchObject({ object: 'video', status: 'queued', model: MODEL, seconds: '4' });
    const seen: number[] = [];
    const done = await reelay.videos.waitUntilDone(created.id, { pollIntervalMs: 100, onProgress: (t) => seen.push(t.progress) });
    expect(done.status).toBe('succeeded');
    expect(seen.at(-1)).toBe(100);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]!);
    expect((await reelay.videos.get(created.id)).url).toBe(done.url);

    const video = await reelay.videos.download(done.id);
    const facts = await probeBytes(video);
    expect(facts.videoCodec).toBe('h264');
    expect(Math.abs(facts.duration - 4)).toBeLessThan(0.1);
    const thumb = await reelay.videos.download(done.id, { variant: 'thumbnail' });
    expect(thumb.subarray(0, 2).toString('hex')).toBe('ffd8');
    const chunks: Uint8Array[] = [];
    for await (const c of await reelay.videos.downloadStream(done.id)) chunks.push(c);
    expect(Buffer.concat(chunks).equals(video)).toBe(true);
  });

  it('create takes a Blob, a Uint8Array or a data URI (JSON), and sends an Idempotency-Key', async () => {
    const reelay = sdk(q);
    const blob = await reelay.videos.create({ ...tiny, images: new Blob([new Uint8Array(png)], { type: 'image/png' }) });
    const u8 = await reelay.videos.create({ ...tiny, images: [new Uint8Array(png)] });
    const uri = await reelay.videos.create({ ...tiny, images: dataUri(png) });
    expect(new Set([blob.id, u8.id, uri.id]).size).toBe(3);
    // The same key and body → the same task (what makes retrying a submit safe).
    const again = await reelay.videos.create({ ...tiny, images: dataUri(png) }, { idempotencyKey: 'order-1' });
    expect((await reelay.videos.create({ ...tiny, images: dataUri(png) }, { idempotencyKey: 'order-1' })).id).toBe(again.id);
  });

  it('cancel, then cancelling again is a typed 409', async () => {
    const reelay = sdk(q);
    const t = await reelay.videos.create({ ...tiny, images: png });
    const cancelled = await reelay.videos.cancel(t.id);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.credits.refunded).toBe(cancelled.credits.reserved);
    const e = await rejection(reelay.videos.cancel(t.id));
    expect(e).toBeInstanceOf(ReelayError);
    expect(e).toMatchObject({ status: 409, code: 'task_not_cancellable', type: 'conflict_error' });
  });

  it('list iterates every page (cursor = last_id) and page() fetches one', async () => {
    const key = await q.newKey('lister');
    const requests: string[] = [];
    const reelay = new Reelay({
      baseUrl: q.base, apiKey: key,
      fetch: (url, init) => { requests.push(String(url)); return fetch(url, init); },
    });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.unshift((await reelay.videos.create({ ...tiny, images: png })).id);
    requests.length = 0;
    const all: Task[] = [];
    for await (const t of reelay.videos.list({ limit: 2 })) all.push(t);
    expect(all.map((t) => t.id)).toEqual(ids); // newest first
    expect(requests).toHaveLength(3);
    expect(new URL(requests[1]!).searchParams.get('after')).toBe(ids[1]);
    const first = await reelay.videos.list({ limit: 2, status: 'queued' }).page();
    expect(first).toMatchObject({ object: 'list', has_more: true, last_id: ids[1] });
    const next = await reelay.videos.list({ limit: 2 }).page({ after: first.last_id! });
    expect(next.data.map((t) => t.id)).toEqual(ids.slice(2, 4));
  });

  it('waitUntilDone rejects with an AbortError when aborted mid-wait, without finishing the wait', async () => {
    const reelay = sdk(q);
    const t = await reelay.videos.create({ ...tiny, images: png });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 150);
    // A wait between polls far longer than the test may run: only the abort cutting it short can end this.
    const e = await rejection(reelay.videos.waitUntilDone(t.id, { signal: ctl.signal, pollIntervalMs: 3_600_000 }));
    expect(e.name).toBe('AbortError');
    // Already aborted: rejects before asking the server.
    expect((await rejection(reelay.videos.waitUntilDone(t.id, { signal: AbortSignal.abort() }))).name).toBe('AbortError');
  });

  it('waitUntilDone rejects with a ReelayTimeoutError carrying the last state', async () => {
    const reelay = sdk(q);
    const t = await reelay.videos.create({ ...tiny, images: png });
    // The task never ends (no worker) and the next poll is an hour away: only the deadline, cutting the wait, ends
    // this. 2 s leaves the first poll (whose answer the error carries) ample time on a loaded machine.
    const e = await rejection(reelay.videos.waitUntilDone(t.id, { timeout: 2000, pollIntervalMs: 3_600_000 }));
    expect(e).toBeInstanceOf(ReelayTimeoutError);
    expect(e.name).toBe('TimeoutError');
    expect((e as ReelayTimeoutError).task).toMatchObject({ id: t.id, status: 'queued' });
  });

  it('a 400 carries status, code, param, type and the request id', async () => {
    const reelay = sdk(q);
    const e = await rejection(reelay.videos.create({ ...tiny, seconds: 5, images: png }));
    expect(e).toBeInstanceOf(ReelayError);
    expect(e).toMatchObject({ status: 400, code: 'invalid_seconds', param: 'seconds', type: 'invalid_request_error' });
    expect(e.message).toMatch(/4, 6/);
    expect((e as ReelayError).requestId).toMatch(/.{8,}/);
  });

  it('a bad key is a typed 401; an unknown task a 404', async () => {
    const e = await rejection(new Reelay({ baseUrl: q.base, apiKey: 'rly_nope' }).credits.get());
    expect(e).toMatchObject({ status: 401, code: 'invalid_api_key', type: 'authentication_error', message: 'Invalid API key.' });
    expect(await rejection(sdk(q).videos.get('task_missing'))).toMatchObject({ status: 404, code: 'task_not_found' });
  });

  it('credits.get, models.list and webhooks.verify', async () => {
    const reelay = sdk(q);
    const b = await reelay.credits.get();
    expect(b.object).toBe('credit_balance');
    expect(b.balance).toBeGreaterThan(0);
    expect((await reelay.models.list()).data.map((m) => m.id)).toContain(MODEL);

    const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
    const body = JSON.stringify({ type: 'video.succeeded', timestamp: new Date().toISOString(), data: { id: 'task_x', status: 'succeeded' } });
    const at = new Date();
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(secret).sign('msg_1', at, body) };
    expect(reelay.webhooks.verify(body, headers, secret)).toMatchObject({ type: 'video.succeeded', data: { id: 'task_x' } });
    expect(() => reelay.webhooks.verify(`${body} `, headers, secret)).toThrow();
  });
});

/** A stand-in server that answers from a script, then forwards to the real one. */
async function scripted(answers: ((req: IncomingMessage) => { status: number; headers?: Record<string, string>; body?: string } | null)[], target: string) {
  const seen: { method: string; url: string; at: number; idem: string | undefined }[] = [];
  const server: Server = createServer(async (req, res) => {
    seen.push({ method: req.method!, url: req.url!, at: Date.now(), idem: req.headers['idempotency-key'] as string | undefined });
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const scriptedAnswer = answers.shift()?.(req);
    if (scriptedAnswer) {
      res.writeHead(scriptedAnswer.status, { 'content-type': 'application/json', ...scriptedAnswer.headers }).end(scriptedAnswer.body ?? '');
      return;
    }
    const upstream = await fetch(`${target}${req.url}`, {
      method: req.method, body: chunks.length ? Buffer.concat(chunks) : null,
      headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k)) as [string, string][]),
    });
    const headers = Object.fromEntries([...upstream.headers].filter(([k]) => !['transfer-encoding', 'connection', 'keep-alive'].includes(k)));
    res.writeHead(upstream.status, headers).end(Buffer.from(await upstream.arrayBuffer()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { base, seen, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

const rateLimited = () => ({ status: 429, headers: { 'retry-after': '1' }, body: JSON.stringify({ error: { type: 'rate_limit_error', code: 'rate_limited', message: 'slow down', param: null } }) });
const boom = () => ({ status: 500, body: JSON.stringify({ error: { type: 'api_error', code: 'internal_error', message: 'boom', param: null } }) });

describe('SDK retries', () => {
  it('waits for Retry-After on a 429, then succeeds', async () => {
    const proxy = await scripted([rateLimited], q.base);
    try {
      const b = await new Reelay({ baseUrl: proxy.base, apiKey: q.key }).credits.get();
      expect(b.object).toBe('credit_balance');
      expect(proxy.seen).toHaveLength(2);
      expect(proxy.seen[1]!.at - proxy.seen[0]!.at).toBeGreaterThanOrEqual(950);
    } finally {
      await proxy.close();
    }
  });

  it('retries a submit on 5xx with the same Idempotency-Key; never retries a cancel after a 500; respects maxRetries', async () => {
    const proxy = await scripted([boom, boom], q.base);
    try {
      const reelay = new Reelay({ baseUrl: proxy.base, apiKey: q.key });
      const t = await reelay.videos.create({ ...tiny, images: png });
      expect(proxy.seen.map((r) => r.method)).toEqual(['POST', 'POST', 'POST']);
      expect(new Set(proxy.seen.map((r) => r.idem)).size).toBe(1);
      expect(proxy.seen[0]!.idem).toMatch(/^[0-9a-f-]{36}$/);

      proxy.seen.length = 0;
      const failed = await scripted([boom], q.base);
      try {
        const e = await rejection(new Reelay({ baseUrl: failed.base, apiKey: q.key }).videos.cancel(t.id));
        expect(e).toMatchObject({ status: 500, code: 'internal_error' });
        expect(failed.seen).toHaveLength(1);
      } finally {
        await failed.close();
      }
      const once = await scripted([boom, boom], q.base);
      try {
        expect(await rejection(new Reelay({ baseUrl: once.base, apiKey: q.key, maxRetries: 1 }).credits.get())).toMatchObject({ status: 500 });
        expect(once.seen).toHaveLength(2);
      } finally {
        await once.close();
      }
    } finally {
      await proxy.close();
    }
  });

  it("honours a real server's rate limit (REELAY_RATE_LIMIT_PER_MINUTE)", async () => {
    const limited = await startServer({ REELAY_ROLE: 'api', REELAY_RATE_LIMIT_PER_MINUTE: '60' });
    try {
      // Spend the bucket (a quarter of 60) with raw calls, then the SDK gets a 429 with Retry-After and waits it out.
      const raw = await Promise.all(Array.from({ length: 61 }, () => limited.api('/v1/credits?limit=1')));
      expect(raw.some((r) => r.status === 429)).toBe(true);
      const started = Date.now();
      const b = await new Reelay({ baseUrl: limited.base, apiKey: limited.key }).credits.get();
      expect(b.object).toBe('credit_balance');
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    } finally {
      await limited.close();
    }
  });

  it('a server that is down is a ReelayConnectionError after the retries', async () => {
    const proxy = await scripted([], q.base);
    const base = proxy.base;
    await proxy.close();
    const e = await rejection(new Reelay({ baseUrl: base, apiKey: 'k', maxRetries: 1 }).videos.get('task_x'));
    expect(e).toBeInstanceOf(ReelayConnectionError);
    expect(e.message).toContain(base);
  });
});
