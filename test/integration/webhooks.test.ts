import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage, dataUri } from '../helpers/images.ts';
import { startServer, waitFor, waitForTask, type TaskJson, type TestServer } from '../helpers/server.ts';
import { startReceiver, status } from '../helpers/receiver.ts';

let img: string;
beforeAll(async () => { img = dataUri(await makeImage(64, 36)); });

/** A key whose webhook secret we know (it is shown only at creation). */
async function keyWithSecret(s: TestServer) {
  const k = await s.app.keys.create('hooks');
  await s.app.credits.grant(k.id, 1_000_000, 'test');
  return { ...k, auth: { authorization: `Bearer ${k.key}` } };
}
const submit = (s: TestServer, key: string, callback_url: string, extra: Record<string, unknown> = {}) =>
  s.api('/v1/video/generations', { method: 'POST', headers: { authorization: `Bearer ${key}` }, json: { model: 'veo-2.0-generate-001', prompt: 'x', aspect_ratio: '16:9', images: [img], callback_url, ...extra } });
type Deliveries = { data: { id: string; type: string; status: string; attempts: { status_code: number | null; success: boolean; error: string | null }[] }[] };
const deliveries = async (s: TestServer, key: string, id: string) =>
  (await (await s.api(`/v1/video/generations/${id}/deliveries`, { headers: { authorization: `Bearer ${key}` } })).json()) as Deliveries;

describe('signed callbacks', () => {
  let s: TestServer;
  beforeAll(async () => { s = await startServer({ REELAY_WEBHOOK_BACKOFF_SCALE: '0.0005' }); });
  afterAll(async () => { await s?.close(); });

  it('a succeeded task is delivered once, signed; the standardwebhooks library verifies it and rejects tampering and staleness', async () => {
    const rx = await startReceiver();
    try {
      const k = await keyWithSecret(s);
      const t = (await (await submit(s, k.key, rx.url)).json()) as TaskJson;
      expect((await waitForTask(s, t.id, 60_000, k.key)).task.status).toBe('succeeded');
      await waitFor(async () => rx.received.length >= 1);
      const [msg] = rx.received;
      expect(msg!.headers['content-type']).toBe('application/json');
      const hook = new Webhook(k.webhook_secret);
      const headers = { 'webhook-id': String(msg!.headers['webhook-id']), 'webhook-timestamp': String(msg!.headers['webhook-timestamp']), 'webhook-signature': String(msg!.headers['webhook-signature']) };
      const event = hook.verify(msg!.body, headers) as { type: string; timestamp: string; data: TaskJson };
      expect(event.type).toBe('video.succeeded');
      expect(event.data.id).toBe(t.id);
      expect(event.data.status).toBe('succeeded');
      expect(event.data.url).toMatch(/^http/);
      expect(Date.parse(event.timestamp)).toBeGreaterThan(0);
      expect(headers['webhook-id']).toMatch(/^msg_/);
      expect(headers['webhook-signature']).toMatch(/^v1,/);

      expect(() => hook.verify(msg!.body.replace('succeeded', 'failed'), headers)).toThrow();
      const stale = { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) - 600) };
      expect(() => hook.verify(msg!.body, stale)).toThrow(/too old/i);
      expect(() => new Webhook(`whsec_${Buffer.from('another secret entirely!!').toString('base64')}`).verify(msg!.body, headers)).toThrow();

      const d = await deliveries(s, k.key, t.id);
      expect(d.data).toHaveLength(1);
      expect(d.data[0]).toMatchObject({ id: headers['webhook-id'], type: 'video.succeeded', status: 'delivered' });
      expect(d.data[0]!.attempts).toEqual([expect.objectContaining({ status_code: 200, success: true, error: null })]);
      await new Promise((r) => setTimeout(r, 200));
      expect(rx.received).toHaveLength(1);
    } finally {
      await rx.close();
    }
  });

  it('500 three times then 200: four attempts recorded, one event id, delivered once; manual retry reuses the id', async () => {
    const rx = await startReceiver();
    try {
      rx.respond(status(500), status(500), status(500));
      const k = await keyWithSecret(s);
      const t = (await (await submit(s, k.key, rx.url)).json()) as TaskJson;
      await s.api(`/v1/video/generations/${t.id}/cancel`, { method: 'POST', headers: k.auth });
      await waitFor(async () => (await deliveries(s, k.key, t.id)).data[0]?.status === 'delivered', 30_000);
      const d = (await deliveries(s, k.key, t.id)).data;
      expect(d).toHaveLength(1);
      expect(d[0]!.type).toBe('video.cancelled');
      expect(d[0]!.attempts.map((a) => a.status_code)).toEqual([500, 500, 500, 200]);
      expect(new Set(rx.received.map((r) => r.headers['webhook-id']))).toEqual(new Set([d[0]!.id]));
      expect(rx.received).toHaveLength(4);

      const retry = await s.api(`/v1/video/generations/${t.id}/deliveries/${d[0]!.id}/retry`, { method: 'POST', headers: k.auth });
      expect(retry.status).toBe(200);
      await waitFor(async () => rx.received.length === 5);
      expect(rx.received[4]!.headers['webhook-id']).toBe(d[0]!.id);
      expect((await s.api(`/v1/video/generations/${t.id}/deliveries/msg_nope/retry`, { method: 'POST', headers: k.auth })).status).toBe(404);
    } finally {
      await rx.close();
    }
  });

  it('a rotated secret: during the overlap both secrets sign', async () => {
    const rx = await startReceiver();
    try {
      const k = await keyWithSecret(s);
      const rot = (await (await s.api('/v1/webhooks/secret/rotate', { method: 'POST', headers: k.auth, json: { overlap_seconds: 3600 } })).json()) as { webhook_secret: string };
      expect(rot.webhook_secret).toMatch(/^whsec_/);
      const t = (await (await submit(s, k.key, rx.url)).json()) as TaskJson;
      await s.api(`/v1/video/generations/${t.id}/cancel`, { method: 'POST', headers: k.auth });
      await waitFor(async () => rx.received.length >= 1);
      const m = rx.received[0]!;
      const headers = { 'webhook-id': String(m.headers['webhook-id']), 'webhook-timestamp': String(m.headers['webhook-timestamp']), 'webhook-signature': String(m.headers['webhook-signature']) };
      expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
      expect(() => new Webhook(k.webhook_secret).verify(m.body, headers)).not.toThrow();
      expect(() => new Webhook(rot.webhook_secret).verify(m.body, headers)).not.toThrow();
    } finally {
      await rx.close();
    }
  });

  it('a hanging receiver does not hold up the others', async () => {
    const hang = await startReceiver();
    const ok = await startReceiver();
    try {
      hang.respond(() => { /* never answers */ });
      const k = await keyWithSecret(s);
      const a = (await (await submit(s, k.key, hang.url)).json()) as TaskJson;
      await s.api(`/v1/video/generations/${a.id}/cancel`, { method: 'POST', headers: k.auth });
      await waitFor(async () => hang.received.length >= 1);
      const b = (await (await submit(s, k.key, ok.url)).json()) as TaskJson;
      await s.api(`/v1/video/generations/${b.id}/cancel`, { method: 'POST', headers: k.auth });
      await waitFor(async () => ok.received.length >= 1);
      // Delivered while the hanging receiver still holds the first attempt open (an attempt is recorded when it
      // ends; its timeout is 10 s away): b did not queue behind a.
      expect((await deliveries(s, k.key, a.id)).data[0]?.attempts).toEqual([]);
    } finally {
      await hang.close();
      await ok.close();
    }
  });
});

describe('deliveries survive restarts', () => {
  it('receiver down while the server restarts: delivered after restart, with the same webhook-id', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'reelay-hooks-restart-'));
    const env = { REELAY_DATA_DIR: dataDir, REELAY_WEBHOOK_BACKOFF_SCALE: '0.0002' };
    try {
      // A receiver address that is down: bind, note the port, close.
      const probe = await startReceiver();
      const port = probe.port;
      const url = probe.url;
      await probe.close();

      const first = await startServer(env);
      const k = await keyWithSecret(first);
      const t = (await (await submit(first, k.key, url)).json()) as TaskJson;
      await first.api(`/v1/video/generations/${t.id}/cancel`, { method: 'POST', headers: k.auth });
      await waitFor(async () => ((await deliveries(first, k.key, t.id)).data[0]?.attempts.length ?? 0) >= 1, 10_000);
      const failedAttempt = (await deliveries(first, k.key, t.id)).data[0]!;
      expect(failedAttempt.attempts[0]).toMatchObject({ success: false, status_code: null });
      expect(failedAttempt.attempts[0]!.error).toMatch(/could not be fetched/);
      await first.app.close(2000);

      const rx = await startReceiver('127.0.0.1', port);
      const second = await startServer(env);
      try {
        await waitFor(async () => rx.received.length >= 1, 15_000);
        const d = (await deliveries(second, k.key, t.id)).data[0]!;
        await waitFor(async () => (await deliveries(second, k.key, t.id)).data[0]?.status === 'delivered');
        expect(rx.received[0]!.headers['webhook-id']).toBe(d.id);
        expect(new Webhook(k.webhook_secret).verify(rx.received[0]!.body, {
          'webhook-id': String(rx.received[0]!.headers['webhook-id']), 'webhook-timestamp': String(rx.received[0]!.headers['webhook-timestamp']),
          'webhook-signature': String(rx.received[0]!.headers['webhook-signature']),
        })).toMatchObject({ type: 'video.cancelled' });
      } finally {
        await rx.close();
        await second.app.close(2000);
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('SSRF guard on callback URLs', () => {
  it('refuses loopback, private, metadata and private-resolving callback URLs at submit, without a request', async () => {
    const rx = await startReceiver();
    const s = await startServer({ REELAY_ALLOW_PRIVATE_URLS: '0', REELAY_ROLE: 'api' }, { lookup: async () => [{ address: '10.1.2.3', family: 4 }] });
    try {
      const before = rx.connections;
      for (const url of [`https://127.0.0.1:${rx.port}/h`, 'https://10.0.0.1/h', 'https://169.254.169.254/latest', `https://[::1]:${rx.port}/h`, 'https://hooks.example/h', rx.url, 'ftp://example.com/h']) {
        const res = await s.api('/v1/video/generations', { method: 'POST', json: { model: 'veo-2.0-generate-001', prompt: 'x', aspect_ratio: '16:9', images: [img], callback_url: url } });
        expect(res.status, url).toBe(400);
        expect(((await res.json()) as { error: { code: string } }).error.code, url).toBe('invalid_callback_url');
      }
      expect(rx.connections).toBe(before);
      expect(((await (await s.api('/v1/video/generations')).json()) as { data: unknown[] }).data).toHaveLength(0);
    } finally {
      await s.close();
      await rx.close();
    }
  });

  it('at delivery: a redirect into a private address and a DNS change to one are refused without a request reaching them', async () => {
    const privateRx = await startReceiver('127.0.0.2');
    const publicRx = await startReceiver('127.0.0.1');
    let resolveTo = '127.0.0.1';
    // 127.0.0.1 plays a public host, 127.0.0.2 a private one (test seam).
    const s = await startServer({ REELAY_WEBHOOK_BACKOFF_SCALE: '1' }, {
      lookup: async () => [{ address: resolveTo, family: 4 }],
      isAllowedAddress: (ip) => ip === '127.0.0.1',
    });
    try {
      const k = await keyWithSecret(s);
      publicRx.respond(status(302, { location: `http://127.0.0.2:${privateRx.port}/steal` }));
      const a = (await (await submit(s, k.key, publicRx.url)).json()) as TaskJson;
      await s.api(`/v1/video/generations/${a.id}/cancel`, { method: 'POST', headers: k.auth });
      await waitFor(async () => ((await deliveries(s, k.key, a.id)).data[0]?.attempts.length ?? 0) >= 1, 10_000);
      const ra = (await deliveries(s, k.key, a.id)).data[0]!.attempts[0]!;
      expect(ra).toMatchObject({ success: false });
      expect(ra.error).toMatch(/redirect/);

      const b = (await (await submit(s, k.key, `http://hooks.example:${privateRx.port}/h`)).json()) as TaskJson;
      expect(b.id).toMatch(/^task_/);
      resolveTo = '127.0.0.2'; // DNS now points somewhere private
      await s.api(`/v1/video/generations/${b.id}/cancel`, { method: 'POST', headers: k.auth });
      await waitFor(async () => ((await deliveries(s, k.key, b.id)).data[0]?.attempts.length ?? 0) >= 1, 10_000);
      const rb = (await deliveries(s, k.key, b.id)).data[0]!.attempts[0]!;
      expect(rb.error).toMatch(/private address/);
      expect(privateRx.connections).toBe(0);
    } finally {
      await s.close();
      await privateRx.close();
      await publicRx.close();
    }
  });
});
