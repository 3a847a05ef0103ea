// One key's hanging receiver must not make another key's webhooks wait
// (issue "One key must not hurt the others", finding 9).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataUri, makeImage } from '../helpers/images.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { startServer, waitFor, type TestServer } from '../helpers/server.ts';

let s: TestServer;
let img: string;
beforeAll(async () => {
  img = dataUri(await makeImage(64, 36));
  // Four delivery slots (a share of one per key) and a receiver timeout far beyond the test: a hang holds its slot.
  s = await startServer({ REELAY_WEBHOOK_CONCURRENCY: '4', REELAY_WEBHOOK_TIMEOUT_MS: '60000' });
});
afterAll(async () => { await s?.close(); });

async function cancelledTaskWithCallback(key: string, callbackUrl: string) {
  const auth = { authorization: `Bearer ${key}` };
  const res = await s.api('/v1/video/generations', { method: 'POST', headers: auth, json: { model: 'veo-2.0-generate-001', prompt: 'x', aspect_ratio: '16:9', seconds: 5, images: [img], callback_url: callbackUrl } });
  const { id } = (await res.json()) as { id: string };
  expect((await s.api(`/v1/video/generations/${id}/cancel`, { method: 'POST', headers: auth })).status).toBe(200);
}

describe('webhook dispatch is fair between keys', () => {
  it('a key whose receiver never answers holds one slot; another key\'s webhook goes out meanwhile', async () => {
    const hanging = await startReceiver();
    const fast = await startReceiver();
    try {
      hanging.respond(...Array.from({ length: 20 }, () => () => { /* never answers */ }));
      const hostile = await s.newKey('hostile');
      for (let i = 0; i < 8; i++) await cancelledTaskWithCallback(hostile, hanging.url);
      await waitFor(async () => hanging.received.length >= 1);
      const victim = await s.newKey('victim');
      await cancelledTaskWithCallback(victim, fast.url);
      await waitFor(async () => fast.received.length === 1);
      // The hostile key never held more than its share, and none of its deliveries has ended.
      expect(hanging.received).toHaveLength(1);
      expect(JSON.parse(fast.received[0]!.body)).toMatchObject({ type: 'video.cancelled' });
    } finally {
      await hanging.close();
      await fast.close();
    }
  });
});
