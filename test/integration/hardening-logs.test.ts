/**
 * Issue #10, part 6: what the logs say. Every line is JSON and carries the
 * request id the client saw in x-request-id; and no credential (API keys, the
 * admin token, webhook secrets, Authorization values) or image bytes ever
 * reach them — on success, on 4xx, and on a 500.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage } from '../helpers/images.ts';
import { startServer, waitFor, type TaskJson, type TestServer } from '../helpers/server.ts';
import { rawRequest } from '../helpers/hostile.ts';

const S = '/v1/video/generations';
const ADMIN_TOKEN = 'hardening-logs-admin-token-0123456789';

interface LogLine { level: number; time: number; msg?: string; reqId?: string; req?: unknown; res?: unknown; err?: unknown; [k: string]: unknown }

describe('observability: structured logs with request ids and no secrets', () => {
  const raw: string[] = [];
  let s: TestServer;
  const secrets: string[] = [];
  const seenIds: { id: string; status: number; what: string }[] = [];
  let failingId = '';

  const record = (what: string, res: Response) => {
    const id = res.headers.get('x-request-id');
    expect(id, what).toMatch(/\S/);
    seenIds.push({ id: id!, status: res.status, what });
    return res;
  };

  beforeAll(async () => {
    const stream = { write: (chunk: string) => { raw.push(chunk); } };
    s = await startServer({ REELAY_ROLE: 'api', REELAY_ADMIN_TOKEN: ADMIN_TOKEN }, { logger: pino({ level: 'debug' }, stream) });
    secrets.push(s.key, ADMIN_TOKEN);
  });
  afterAll(async () => { await s?.close(); });

  it('exercises submit, poll, list, 4xx, admin, secret rotation and a 500', async () => {
    const png = await makeImage(64, 36);
    const b64 = png.toString('base64');
    secrets.push(b64.slice(100, 164), b64.slice(-64, -4));
    const body = { model: 'veo-2.0-generate-001', prompt: 'log me', aspect_ratio: '16:9', images: [`data:image/png;base64,${b64}`] };

    const submitted = record('submit', await s.api(S, { method: 'POST', json: body }));
    expect(submitted.status).toBe(200);
    const task = (await submitted.json()) as TaskJson;
    record('submit (multipart)', await (async () => {
      const fd = new FormData();
      for (const [k, v] of Object.entries(body)) if (k !== 'images') fd.append(k, String(v));
      fd.append('images', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'frame.png');
      return s.api(S, { method: 'POST', body: fd });
    })());
    record('poll', await s.api(`${S}/${task.id}`));
    record('list', await s.api(`${S}?limit=5`));

    // A caller's own request id is kept, in the header and in the logs.
    const traced = record('poll with X-Request-Id', await s.api(`${S}/${task.id}`, { headers: { 'x-request-id': 'trace-abc.123:9' } }));
    expect(traced.headers.get('x-request-id')).toBe('trace-abc.123:9');

    const wrongKey = `rly_${'W'.repeat(40)}`;
    secrets.push(wrongKey);
    expect(record('401 wrong key', await s.api(`${S}/${task.id}`, { headers: { authorization: `Bearer ${wrongKey}` } })).status).toBe(401);
    expect(record('401 admin token on /v1', await s.api('/v1/models', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(401);
    const notImage = Buffer.from('SECRET-LOOKING-PAYLOAD-0123456789-this-is-not-an-image').toString('base64');
    secrets.push(notImage);
    expect(record('400 invalid image', await s.api(S, { method: 'POST', json: { ...body, images: [notImage] } })).status).toBe(400);
    expect(record('400 bad URL', await rawRequest(s.base, { path: `${S}/%E0%A4%A`, headers: { authorization: `Bearer ${s.key}` } })).status).toBe(400);

    const created = record('admin create key', await fetch(`${s.base}/admin/keys`, {
      method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'logged', credits: 10 }),
    }));
    const k = (await created.json()) as { key: string; webhook_secret: string };
    expect(k.webhook_secret).toMatch(/^whsec_/);
    secrets.push(k.key, k.webhook_secret);
    const rotated = record('rotate secret', await s.api('/v1/webhooks/secret/rotate', { method: 'POST', json: {} }));
    secrets.push(((await rotated.json()) as { webhook_secret: string }).webhook_secret);

    // A 500: a fault injected into the poll path (nothing in the product fails on demand).
    const original = s.app.tasks.getJson;
    s.app.tasks.getJson = async () => { throw new Error('injected fault for the log test'); };
    try {
      const failed = record('500', await s.api(`${S}/${task.id}`));
      expect(failed.status).toBe(500);
      const e = (await failed.json()) as { error: { code: string; message: string } };
      expect(e.error.code).toBe('internal_error');
      expect(e.error.message).not.toContain('injected');
      failingId = failed.headers.get('x-request-id')!;
    } finally {
      s.app.tasks.getJson = original;
    }
    expect((await s.api(`${S}/${task.id}/cancel`, { method: 'POST' })).status).toBe(200);
  });

  it('every log line is JSON, and every response id appears as reqId', async () => {
    // 'request completed' is logged after the response is sent: wait for those lines (an event), not a fixed 50 ms.
    const parse = () => raw.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogLine);
    const awaited = seenIds.filter((x) => x.what !== '400 bad URL').map((x) => x.id);
    await waitFor(async () => { const done = new Set(parse().filter((l) => l.res).map((l) => l.reqId)); return awaited.every((id) => done.has(id)); });
    const lines = parse();
    expect(lines.length).toBeGreaterThan(seenIds.length);
    for (const l of lines) {
      expect(typeof l.level).toBe('number');
      expect(typeof l.time).toBe('number');
      // Anything about a request says which one.
      if (l.req || l.res) expect(typeof l.reqId, JSON.stringify(l)).toBe('string');
    }
    for (const { id, what } of seenIds) {
      const mine = lines.filter((l) => l.reqId === id);
      expect(mine.length, `${what}: no log line with reqId ${id}`).toBeGreaterThan(0);
      expect(mine.some((l) => l.req !== undefined), `${what}: no "incoming request" line`).toBe(true);
    }
    const completed = lines.filter((l) => l.res && l.reqId);
    for (const { id, status, what } of seenIds.filter((x) => x.what !== '400 bad URL')) {
      const line = completed.find((l) => l.reqId === id);
      expect(line, `${what}: no "request completed" line`).toBeDefined();
      expect((line!.res as { statusCode: number }).statusCode).toBe(status);
    }
    const fault = lines.find((l) => l.reqId === failingId && l.level >= 50);
    expect(fault, 'the 500 is logged at error level with its request id').toBeDefined();
    expect(JSON.stringify(fault!.err)).toContain('injected fault for the log test');
  });

  it('no API key, admin token, webhook secret, Authorization value or image bytes in the logs', () => {
    const text = raw.join('');
    expect(text.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(text.includes(secret), `a secret (${secret.slice(0, 8)}…) reached the logs`).toBe(false);
    expect(text).not.toContain('whsec_');
    expect(text).not.toMatch(/Bearer\s/i);
    expect(text).not.toMatch(/"authorization"/i);
    expect(text).not.toContain('base64,');
  });
});
