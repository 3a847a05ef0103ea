import type { Logger } from 'pino';
import type { OutboxRepo } from '../infra/db/outbox-repo.ts';
import type { KeysRepo } from '../infra/db/keys-repo.ts';
import { FetchFailedError, UnsafeUrlError, safeFetch, type LookupFn } from '../infra/net/safe-fetch.ts';
import { newWorkerId } from '../domain/ids.ts';
import { nextAttemptDelay, MAX_ATTEMPTS } from './schedule.ts';
import { webhookHeaders } from './signer.ts';
import { claimLoop } from '../infra/claim-loop.ts';

export interface DispatcherDeps {
  outbox: OutboxRepo;
  keys: KeysRepo;
  now(): number;
  log: Logger;
  allowPrivate: boolean;
  /** Any 2xx within this is a success; a hanging receiver costs one slot for at most this long. */
  timeoutMs: number;
  concurrency: number;
  /**
   * Deliveries in flight per API key (default a quarter of `concurrency`, at
   * least 1): a key whose receiver hangs holds at most this many slots, so it
   * cannot make other keys' webhooks wait.
   */
  perKeyConcurrency?: number;
  pollMs: number;
  backoffScale: number;
  lookup?: LookupFn;
  /** TEST SEAM ONLY (see safeFetch). */
  isAllowedAddress?: (ip: string) => boolean;
  onOutcome?(outcome: 'delivered' | 'retry' | 'failed'): void;
}

const LEASE_MS = 60_000;

/**
 * Delivers the outbox. At-least-once: an event is marked delivered only after
 * a 2xx, and a crash mid-delivery leaves its lease to lapse so the same event
 * (same webhook-id) goes out again. Bounded concurrency, a share per API key
 * and a hard timeout per request mean one key's slow receivers cannot starve
 * the others.
 */
export function createDispatcher(d: DispatcherDeps) {
  const owner = newWorkerId();
  const running = new Set<Promise<void>>();
  const perKey = d.perKeyConcurrency ?? Math.max(1, Math.floor(d.concurrency / 4));
  const byKey = new Map<string, number>();
  const atShare = () => [...byKey].filter(([, n]) => n >= perKey).map(([k]) => k);

  async function secretsFor(keyId: string): Promise<string[]> {
    const k = await d.keys.find(keyId);
    if (!k) return [];
    const out = [k.webhook_secret];
    if (k.webhook_secret_previous && Number(k.webhook_secret_previous_until ?? 0) > d.now()) out.push(k.webhook_secret_previous);
    return out;
  }

  async function deliver(ev: NonNullable<Awaited<ReturnType<OutboxRepo['claimDue']>>>) {
    const started = d.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const secrets = await secretsFor(ev.key_id);
      if (secrets.length === 0) throw new Error('the API key behind this task no longer exists');
      const res = await safeFetch(ev.url, {
        method: 'POST', body: ev.payload, headers: webhookHeaders(ev.id, new Date(d.now()), ev.payload, secrets),
        allowPrivate: d.allowPrivate, timeoutMs: d.timeoutMs, maxBytes: 64 * 1024, maxRedirects: 0, discardBody: true,
        label: 'callback URL', ...(d.lookup ? { lookup: d.lookup } : {}), ...(d.isAllowedAddress ? { isAllowedAddress: d.isAllowedAddress } : {}),
      });
      statusCode = res.status;
    } catch (e) {
      if (e instanceof FetchFailedError) { statusCode = e.status ?? null; error = e.message; }
      else if (e instanceof UnsafeUrlError) error = e.reason === 'too_many_redirects' ? 'callback URL redirected; redirects are not followed' : e.message;
      else { error = 'delivery failed'; d.log.warn({ err: e, eventId: ev.id }, 'webhook delivery error'); }
    }
    const success = statusCode !== null && statusCode >= 200 && statusCode < 300 && error === null;
    await d.outbox.recordAttempt({ eventId: ev.id, at: started, statusCode, latencyMs: d.now() - started, error, success });
    if (success) {
      await d.outbox.markDelivered(ev.id, owner, d.now());
      d.onOutcome?.('delivered');
      return;
    }
    const delay = Number(ev.attempts) >= MAX_ATTEMPTS ? null : nextAttemptDelay(Number(ev.attempts), Math.random, d.backoffScale);
    if (delay === null) {
      await d.outbox.markFailed(ev.id, owner);
      d.onOutcome?.('failed');
      d.log.warn({ eventId: ev.id, taskId: ev.task_id, attempts: ev.attempts }, 'webhook delivery failed for good');
    } else {
      await d.outbox.reschedule(ev.id, owner, d.now() + delay);
      d.onOutcome?.('retry');
    }
  }

  type Claimed = NonNullable<Awaited<ReturnType<OutboxRepo['claimDue']>>>;
  const loop = claimLoop<Claimed>({
    what: 'a webhook event', pollMs: d.pollMs, log: d.log,
    hasCapacity: () => running.size < d.concurrency,
    claim: () => d.outbox.claimDue(owner, d.now(), LEASE_MS, atShare()),
    run(ev) {
      byKey.set(ev.key_id, (byKey.get(ev.key_id) ?? 0) + 1);
      const p: Promise<void> = deliver(ev)
        .catch((e) => d.log.error({ err: e, eventId: ev.id }, 'webhook bookkeeping failed'))
        .finally(() => {
          running.delete(p);
          const n = (byKey.get(ev.key_id) ?? 1) - 1;
          if (n > 0) byKey.set(ev.key_id, n);
          else byKey.delete(ev.key_id);
        });
      running.add(p);
      return p;
    },
  });

  return {
    start() {
      loop.start();
    },
    wake() {
      loop.wake();
    },
    async stop() {
      await loop.stop();
      await Promise.all(running);
    },
  };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
