import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, waitFor, waitForTask, type TestServer } from '../helpers/server.ts';
import { signViduCallback, startViduFake, type ViduFake } from '../fakes/vidu.ts';
import { submit, type UpstreamTask } from '../helpers/upstream.ts';

const KEY = 'vda_callback_key_0123456789';
let fake: ViduFake;
let s: TestServer;

// Polling alone would first look after 54 s at the earliest (60 s less its jitter), later than these tests wait
// for anything: whatever happens in them is the callback's doing — order, not a stopwatch.
beforeAll(async () => {
  fake = await startViduFake(KEY);
  s = await startServer({
    VIDU_API_KEY: KEY, VIDU_BASE_URL: fake.baseUrl, VIDU_CALLBACKS: '1',
    REELAY_UPSTREAM_POLL_MS: '60000', REELAY_UPSTREAM_POLL_MAX_MS: '60000',
  });
});
afterAll(async () => {
  await s?.close();
  await fake?.close();
});

const pollsOf = (upstreamId: string) => fake.requests.filter((r) => r.path === `/ent/v2/tasks/${upstreamId}/creations`).length;
const callbackUrl = (taskId: string) => `${s.base}/v1/upstream/vidu/callback?task=${taskId}&channel=vidu`;
const post = (url: string, headers: Record<string, string>) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ state: 'success', creations: [{ url: 'http://169.254.169.254/' }] }) });

async function upstreamIdOf(taskId: string): Promise<string> {
  return waitFor(async () => {
    const created = fake.requests.find((r) => r.path === '/ent/v2/img2video' && (r.body as { callback_url?: string }).callback_url === callbackUrl(taskId));
    if (!created) return undefined;
    const row = await s.app.store.tasks.find(taskId);
    return row?.upstream_id ?? undefined;
  }, 10_000);
}

describe('Vidu callbacks (signed, a faster path than polling)', () => {
  it('Vidu is given a callback URL; its signed callback makes Reelay re-fetch and finish at once', async () => {
    fake.callbackAfterMs = 300;
    const id = await submit(s, { model: 'viduq2-turbo', seconds: 2, size: '540p' });
    const upstreamId = await upstreamIdOf(id);
    // Done within 30 s: before the first scheduled poll (≥ 54 s), so by the callback.
    const t = (await waitForTask(s, id, 30_000)).task as UpstreamTask;
    expect(t.status).toBe('succeeded');
    expect(fake.callbacks.find((c) => c.url === callbackUrl(id))?.status).toBe(200);
    // One poll: the re-fetch the callback triggered (the callback body itself is never trusted).
    expect(pollsOf(upstreamId)).toBe(1);
    expect(t.url!.startsWith(s.base)).toBe(true);
  });

  it('refuses forged, stale, replayed and unsigned callbacks (401) without polling early', async () => {
    fake.callbackAfterMs = null;
    const id = await submit(s, { model: 'viduq2-turbo', seconds: 2, size: '540p' });
    const upstreamId = await upstreamIdOf(id);
    const url = callbackUrl(id);
    const now = () => new Date().toUTCString();
    const nonce = () => randomBytes(8).toString('hex');
    const refused = async (headers: Record<string, string>, target = url) => {
      const res = await post(target, headers);
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('invalid_signature');
      return body.error.message;
    };
    expect(await refused(signViduCallback('wrong-key', url, now(), nonce()))).toMatch(/signature does not match/);
    expect(await refused(signViduCallback(KEY, url, new Date(Date.now() - 10 * 60_000).toUTCString(), nonce()))).toMatch(/Date/);
    expect(await refused({})).toMatch(/ACCESS-KEY/);
    // Signed for another task: the query is part of what is signed.
    expect(await refused(signViduCallback(KEY, callbackUrl('vid_other'), now(), nonce()))).toMatch(/signature/);
    // An unknown channel answers like a bad signature.
    expect(await refused(signViduCallback(KEY, url, now(), nonce()), url.replace('channel=vidu', 'channel=nope'))).toMatch(/signature/);
    await new Promise((r) => setTimeout(r, 600));
    expect(pollsOf(upstreamId)).toBe(0);

    // A genuine callback: polled at once. Its replay is refused.
    const genuine = signViduCallback(KEY, url, now(), nonce());
    expect((await post(url, genuine)).status).toBe(200);
    await waitFor(async () => pollsOf(upstreamId) === 1);
    expect(await refused(genuine)).toMatch(/nonce/);
    const row = await s.app.store.tasks.find(id);
    expect(row?.status).toBe('processing');
    // The fake's task is still queueing, so the poller went back to its schedule.
    expect(Number(row?.upstream_next_poll_at)).toBeGreaterThan(Date.now() + 5_000);
    await s.api(`/v1/video/generations/${id}/cancel`, { method: 'POST' });
    await waitFor(async () => fake.cancelled.includes(upstreamId));
  });

  it('without VIDU_CALLBACKS (and no REELAY_PUBLIC_URL), no callback_url is sent', async () => {
    const plain = await startServer({ VIDU_API_KEY: KEY, VIDU_BASE_URL: fake.baseUrl, REELAY_UPSTREAM_POLL_MS: '20' });
    try {
      const before = fake.requests.length;
      const id = await submit(plain, { model: 'viduq2-turbo', seconds: 2, size: '540p' });
      const t = (await waitForTask(plain, id, 10_000)).task as UpstreamTask;
      expect(t.status).toBe('succeeded');
      const create = fake.requests.slice(before).find((r) => r.path === '/ent/v2/img2video')!;
      expect(create.body).not.toHaveProperty('callback_url');
    } finally {
      await plain.close();
    }
  });
});
