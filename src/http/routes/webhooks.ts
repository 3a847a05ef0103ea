import { z } from 'zod';
import { parseInput, type Route } from '../route.ts';
import { actorOf } from '../plugins/auth.ts';
import type { WebhookService } from '../../domain/webhooks.ts';
import { ErrorBody } from '../../domain/task-schemas.ts';
import { TaskParams } from './generations/get.ts';

const Attempt = z.object({ at: z.number().int().nullable(), status_code: z.number().int().nullable(), latency_ms: z.number().int(), error: z.string().nullable(), success: z.boolean() });
const Delivery = z.object({
  id: z.string().describe('the webhook-id header; stable across retries'), object: z.literal('webhook_delivery'),
  type: z.string(), url: z.string(), status: z.enum(['pending', 'delivered', 'failed']), attempts: z.array(Attempt),
  created_at: z.number().int().nullable(), delivered_at: z.number().int().nullable(), next_attempt_at: z.number().int().nullable(),
});
const RetryParams = TaskParams.extend({ delivery_id: z.string().min(1).max(100) });
const RotateBody = z.object({ overlap_seconds: z.number().int().min(0).max(30 * 86400).optional() });

export function webhookRoutes(webhooks: WebhookService): Route[] {
  return [
    {
      doc: {
        method: 'GET', url: '/v1/video/generations/:task_id/deliveries', tag: 'Webhooks', auth: 'apiKey', params: TaskParams,
        summary: "The task's webhook events and every delivery attempt",
        responses: { 200: { description: 'Deliveries', schema: z.object({ object: z.literal('list'), data: z.array(Delivery) }) }, 404: { description: 'Unknown or not yours', schema: ErrorBody } },
      },
      async handler(req) {
        const { task_id } = parseInput(TaskParams, req.params);
        return webhooks.deliveries(actorOf(req), task_id);
      },
    },
    {
      doc: {
        method: 'POST', url: '/v1/video/generations/:task_id/deliveries/:delivery_id/retry', tag: 'Webhooks', auth: 'apiKey', params: RetryParams,
        summary: 'Deliver an event again now (same webhook-id)',
        responses: {
          200: { description: 'Queued', schema: z.object({ id: z.string(), status: z.literal('pending') }) },
          404: { description: 'Unknown', schema: ErrorBody }, 409: { description: 'Being attempted now', schema: ErrorBody },
        },
      },
      async handler(req) {
        const { task_id, delivery_id } = parseInput(RetryParams, req.params);
        return webhooks.retry(actorOf(req), task_id, delivery_id);
      },
    },
    {
      doc: {
        method: 'POST', url: '/v1/webhooks/secret/rotate', tag: 'Webhooks', auth: 'apiKey',
        summary: "Rotate this key's webhook signing secret (shown once); the old one also signs during the overlap (default 24 h)",
        body: { schema: RotateBody, contentTypes: ['application/json'] },
        responses: {
          200: { description: 'The new secret', schema: z.object({ webhook_secret: z.string().describe('whsec_…: shown this once'), previous_secret_valid_until: z.number().int().describe('unix seconds') }) },
          409: { description: 'The secret rotated out earlier still signs (rotate after its overlap, or with overlap_seconds 0)', schema: ErrorBody },
        },
      },
      async handler(req) {
        const body = parseInput(RotateBody, req.body ?? undefined, 'body');
        return webhooks.rotateSecret(actorOf(req).keyId, body.overlap_seconds === undefined ? undefined : body.overlap_seconds * 1000);
      },
    },
  ];
}
