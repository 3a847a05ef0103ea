import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { MAX_ATTEMPTS, RETRY_DELAYS_MS, nextAttemptDelay } from '../../src/webhooks/schedule.ts';
import { webhookHeaders } from '../../src/webhooks/signer.ts';
import { verifyWebhook, WebhookSignatureError } from '../../src/sdk/webhooks.ts';

const secretA = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const secretB = `whsec_${Buffer.from('fedcba9876543210fedcba9876543210').toString('base64')}`;

describe('retry schedule', () => {
  it('keeps retrying for more than 24 h even with the smallest jitter, then gives up', () => {
    const minTotal = RETRY_DELAYS_MS.reduce((a, _, i) => a + nextAttemptDelay(i + 1, () => 0)!, 0);
    expect(minTotal).toBeGreaterThan(24 * 3600_000);
    expect(nextAttemptDelay(MAX_ATTEMPTS, () => 0.5)).toBeNull();
    expect(nextAttemptDelay(1, () => 0.5)).toBe(5000);
    expect(nextAttemptDelay(1, () => 0)).toBe(4000);
    expect(nextAttemptDelay(1, () => 1)).toBe(6000);
    for (let i = 2; i < RETRY_DELAYS_MS.length; i++) expect(RETRY_DELAYS_MS[i]!).toBeGreaterThanOrEqual(RETRY_DELAYS_MS[i - 1]!);
  });
});

describe('signing and verifying', () => {
  const payload = JSON.stringify({ type: 'video.succeeded', timestamp: new Date().toISOString(), data: { id: 'task_1', status: 'succeeded' } });
  const headers = webhookHeaders('msg_1', new Date(), payload, [secretA, secretB]);

  it('signs with every active secret; any Standard Webhooks verifier accepts either', () => {
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(new Webhook(secretA).verify(payload, headers)).toMatchObject({ type: 'video.succeeded' });
    expect(new Webhook(secretB).verify(payload, headers)).toMatchObject({ type: 'video.succeeded' });
  });

  it('verifyWebhook accepts a good delivery and refuses tampering, staleness, missing headers and wrong secrets', () => {
    expect(verifyWebhook(payload, headers, secretA).data.id).toBe('task_1');
    expect(verifyWebhook(Buffer.from(payload), new Headers(headers), secretB).type).toBe('video.succeeded');
    expect(() => verifyWebhook(payload.replace('task_1', 'task_2'), headers, secretA)).toThrow(WebhookSignatureError);
    const old = webhookHeaders('msg_1', new Date(Date.now() - 10 * 60_000), payload, [secretA]);
    expect(() => verifyWebhook(payload, old, secretA)).toThrow(/tolerance/);
    const recent = webhookHeaders('msg_1', new Date(Date.now() - 60_000), payload, [secretA]);
    expect(() => verifyWebhook(payload, recent, secretA, { toleranceSeconds: 30 })).toThrow(/tolerance/);
    expect(verifyWebhook(payload, recent, secretA).data.status).toBe('succeeded');
    expect(() => verifyWebhook(payload, { 'webhook-id': 'msg_1' }, secretA)).toThrow(/Missing/);
    const other = `whsec_${Buffer.from('a different secret of 32 bytes!!').toString('base64')}`;
    expect(() => verifyWebhook(payload, headers, other)).toThrow(WebhookSignatureError);
  });
});
