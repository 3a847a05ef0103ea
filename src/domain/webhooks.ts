import { randomBytes } from 'node:crypto';
import { errors } from './errors.ts';
import type { KeyStore, Storage } from './ports.ts';
import type { Actor } from './task-service.ts';

export const DEFAULT_ROTATION_OVERLAP_MS = 24 * 3600 * 1000;

export type RotateOutcome =
  | { outcome: 'rotated' | 'replaced' | 'not_found' }
  | { outcome: 'previous_still_signing'; previousUntil: number };

/** The key store as rotation needs it: one previous secret per key, whose promised end must be kept. */
export interface WebhookSecretStore extends KeyStore {
  rotateWebhookSecretKeepingPrevious(id: string, secret: string, overlapUntil: number, now: number): Promise<RotateOutcome>;
}

/** What users see of their callbacks: every event of a task with every attempt, manual redelivery, secret rotation. */
export function createWebhookService(store: Pick<Storage, 'tasks' | 'outbox'> & { keys: WebhookSecretStore }, now: () => number, onRequeued: () => void) {
  async function owned(actor: Actor, taskId: string) {
    const task = await store.tasks.find(taskId, actor.keyId);
    if (!task) throw errors.notFound('task', taskId, 'task_id');
    return task;
  }
  return {
    async deliveries(actor: Actor, taskId: string) {
      await owned(actor, taskId);
      const events = await store.outbox.forTask(taskId);
      const attempts = await store.outbox.attempts(events.map((e) => e.id));
      const sec = (ms: number | null) => (ms == null ? null : Math.floor(Number(ms) / 1000));
      return {
        object: 'list' as const,
        data: events.map((e) => ({
          id: e.id, object: 'webhook_delivery' as const, type: e.type, url: e.url, status: e.status,
          attempts: attempts.filter((a) => a.event_id === e.id).map((a) => ({
            at: sec(a.attempted_at), status_code: a.status_code, latency_ms: Number(a.latency_ms), error: a.error, success: Boolean(Number(a.success)),
          })),
          created_at: sec(e.created_at), delivered_at: sec(e.delivered_at),
          next_attempt_at: e.status === 'pending' ? sec(e.next_attempt_at) : null,
        })),
      };
    },

    async retry(actor: Actor, taskId: string, eventId: string) {
      await owned(actor, taskId);
      const ev = await store.outbox.find(eventId);
      if (!ev || ev.task_id !== taskId) throw errors.notFound('delivery', eventId, 'delivery_id');
      if (!(await store.outbox.requeue(eventId, now()))) {
        throw errors.conflict('delivery_in_progress', `Delivery ${eventId} is being attempted right now; try again in a moment.`);
      }
      onRequeued();
      return { id: eventId, status: 'pending' as const };
    },

    /**
     * New secret now; the old one keeps signing alongside it for the overlap, so receivers can
     * switch without downtime. A promise already made is kept: while an earlier previous secret
     * still signs, a second rotation with an overlap is refused (409) — only one previous secret
     * fits — and one with overlap 0 replaces the current secret at once, leaving that one be.
     */
    async rotateSecret(keyId: string, overlapMs = DEFAULT_ROTATION_OVERLAP_MS) {
      if (!Number.isInteger(overlapMs) || overlapMs < 0 || overlapMs > 30 * 86400_000) {
        throw errors.invalidField('overlap_seconds', '"overlap_seconds" must be between 0 and 2592000 (30 days).');
      }
      const secret = `whsec_${randomBytes(32).toString('base64')}`;
      const at = now();
      const until = at + overlapMs;
      const r = await store.keys.rotateWebhookSecretKeepingPrevious(keyId, secret, until, at);
      if (r.outcome === 'not_found') throw errors.notFound('key', keyId);
      if (r.outcome === 'previous_still_signing') {
        throw errors.conflict('webhook_rotation_in_overlap',
          `The secret rotated out earlier still signs until ${new Date(r.previousUntil).toISOString()}, as promised then; `
          + 'rotate again after that, or with "overlap_seconds": 0 to replace the current secret at once (the earlier one keeps its promise).');
      }
      return { webhook_secret: secret, previous_secret_valid_until: Math.floor(until / 1000) };
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
