import { Webhook } from 'standardwebhooks';

/**
 * Standard Webhooks signatures via the `standardwebhooks` library (not a
 * hand-rolled HMAC). During a rotation's overlap both secrets sign, space
 * separated, so receivers holding either secret verify.
 */
export function signatureHeader(msgId: string, at: Date, payload: string, secrets: string[]): string {
  return secrets.map((s) => new Webhook(s).sign(msgId, at, payload)).join(' ');
}

export function webhookHeaders(msgId: string, at: Date, payload: string, secrets: string[]): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'Reelay-Webhooks/1',
    'webhook-id': msgId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signatureHeader(msgId, at, payload, secrets),
  };
}
