/**
 * For receivers of Reelay webhooks:
 *
 *   import { verifyWebhook } from 'reelay/webhooks';
 *   const event = verifyWebhook(rawBody, req.headers, process.env.REELAY_WEBHOOK_SECRET);
 *
 * Verifies the Standard Webhooks signature over the exact raw body (do not
 * re-serialise the JSON), refuses timestamps more than `toleranceSeconds` (at
 * most 300, the default) from now — replay protection — and returns the parsed event. Uses the
 * `standardwebhooks` library, so any Standard Webhooks implementation agrees.
 */
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

export interface ReelayWebhookEvent {
  type: 'video.succeeded' | 'video.failed' | 'video.cancelled';
  timestamp: string;
  data: { id: string; status: string; [field: string]: unknown };
}

export class WebhookSignatureError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WebhookSignatureError';
  }
}

type HeaderBag = Record<string, string | string[] | undefined> | Headers;

function pick(headers: HeaderBag, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const v = Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
  return Array.isArray(v) ? v[0] : v;
}

export function verifyWebhook(
  payload: string | Buffer,
  headers: HeaderBag,
  secret: string,
  opts: { toleranceSeconds?: number } = {},
): ReelayWebhookEvent {
  const id = pick(headers, 'webhook-id');
  const timestamp = pick(headers, 'webhook-timestamp');
  const signature = pick(headers, 'webhook-signature');
  if (!id || !timestamp || !signature) throw new WebhookSignatureError('Missing webhook-id, webhook-timestamp or webhook-signature header');
  // The library itself refuses anything outside ±5 minutes; a tighter tolerance is checked here first.
  const tolerance = Math.min(300, opts.toleranceSeconds ?? 300);
  const ts = Number(timestamp);
  if (!Number.isInteger(ts) || Math.abs(Math.floor(Date.now() / 1000) - ts) > tolerance) {
    throw new WebhookSignatureError('Webhook timestamp outside the tolerance (possible replay)');
  }
  try {
    return new Webhook(secret).verify(payload, { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature }) as ReelayWebhookEvent;
  } catch (e) {
    if (e instanceof WebhookVerificationError) throw new WebhookSignatureError(e.message, { cause: e });
    throw e;
  }
}
