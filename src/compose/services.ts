import { AsyncLocalStorage } from 'node:async_hooks';
import { cpus } from 'node:os';
import { createCreditService, type CreditService } from '../domain/credits.ts';
import { errors } from '../domain/errors.ts';
import { createKeyService, type KeyService } from '../domain/keys.ts';
import { createLifecycle, type Lifecycle } from '../domain/task-lifecycle.ts';
import { createTaskService, type TaskService } from '../domain/task-service.ts';
import { endingOf } from '../domain/task-states.ts';
import { toTaskObject } from '../domain/task-view.ts';
import type { TaskViewCache } from '../domain/task-view-cache.ts';
import { createWebhookService, type WebhookService } from '../domain/webhooks.ts';
import { imageFetcher } from '../infra/images/fetch-image.ts';
import { ImageRejected } from '../infra/images/image-rejected.ts';
import { inspectImage } from '../infra/images/inspect-image.ts';
import type { ImageFacts } from '../domain/ports.ts';
import { keyedLimiter } from '../infra/keyed-limiter.ts';
import { keyBudget } from '../infra/key-budget.ts';
import type { SubmitAdmission } from '../http/submit-slots.ts';
import { assertPublicTarget } from '../infra/net/check-target.ts';
import { UnsafeUrlError } from '../infra/net/safe-fetch.ts';
import { LOCAL_PROMPT_VOCABULARY } from '../providers/local/prompt-vocabulary.ts';
import { removeEndedFiles } from '../worker/ended-files.ts';
import { NOTIFY } from './background.ts';
import type { Foundation } from './foundation.ts';
import type { Upstreams } from './upstreams.ts';

/** An image the infrastructure refused is the caller's 400 naming the images field, coded by why. */
async function mapImageRejection<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof ImageRejected) throw errors.invalidField('images', e.message, e.reason);
    throw e;
  }
}

/**
 * How a task ends, and what else happens then: its cached view is dropped,
 * the files it no longer needs are removed (best effort; maintenance sweeps
 * what a crash left), a cancelled task's upstream job is cancelled (the
 * ending says so; best effort, the poller also tries on its next look), and
 * webhook dispatchers are woken (here directly, elsewhere through the database).
 */
export function buildLifecycle(f: Foundation, u: Upstreams, views: TaskViewCache, wakeDispatcher: () => void): Lifecycle {
  return createLifecycle(f.store, {
    onEnded: (row) => {
      views.invalidate(row.id);
      void removeEndedFiles({ tasks: f.store.tasks, blobs: f.blobs }, row)
        .catch((e) => f.log.warn({ err: e, taskId: row.id }, 'removing an ended task\'s files failed; maintenance will retry'));
      const ch = endingOf(row.status).cancelsUpstream && row.upstream_id ? u.byName.get(row.upstream_channel ?? '') : undefined;
      if (ch?.adapter.cancel) {
        void ch.adapter.cancel(row.upstream_id!).catch((e) => f.log.warn({ err: e, taskId: row.id }, 'upstream cancel failed'));
      }
      if (row.callback_url) {
        wakeDispatcher();
        void f.store.db.notify(NOTIFY.webhooks).catch(() => {});
      }
    },
    eventPayload: async (row, type, at) => JSON.stringify({ type, timestamp: new Date(at).toISOString(), data: await toTaskObject(row, f.links) }),
  });
}

/** How much of a minute's submit budgets a key may save up and spend at once. */
const SUBMIT_BURST_MS = 15_000;

export interface Services {
  tasks: TaskService;
  keys: KeyService;
  credits: CreditService;
  webhooks: WebhookService;
  /** The per-key budgets every submit surface checks before reading a body. */
  admission: SubmitAdmission;
}

/** The domain services the HTTP surfaces call; `worker` is this process's render worker when it has one. */
export function buildServices(f: Foundation, u: Upstreams, d: {
  lifecycle: Lifecycle; views: TaskViewCache; worker: { wake(): void; abort(id: string): void } | null; wakeDispatcher(): void;
}): Services {
  const { config, store, now, outbound } = f;
  // Decoding is the memory- and CPU-heavy part of a submit: a burst of large images queues here instead of all
  // decoding at once, and one key holds at most half the slots, so its 4k images never make another key's small one wait.
  const decodeCount = Math.max(2, cpus().length);
  const decodeSlots = keyedLimiter(decodeCount, Math.ceil(decodeCount / 2));
  // The key of the submit under way (the domain's image port takes no key; only these slots care).
  const submitting = new AsyncLocalStorage<string>();
  // Decoding costs CPU on every node's cores: each key has a megapixel budget a minute, so a key submitting large
  // images in a loop (free to repeat: a cancel refunds everything) waits for its budget instead of slowing every key.
  // Both budgets save up a quarter of a minute's worth: a full minute let a key decode ~20 4k frames in its first seconds.
  const megapixels = keyBudget(config.imageMegapixelsPerMinute, now, SUBMIT_BURST_MS);
  const overBudget = (budget: 'pixels' | 'bytes', waitMs: number) => {
    const s = Math.ceil(waitMs / 1000);
    return errors.rateLimited(budget === 'pixels'
      ? `This key has had more image megapixels decoded than its budget (${config.imageMegapixelsPerMinute} MP a minute); retry after ${s} s.`
      : `This key has sent more submit body bytes than its budget (${config.submitBytesPerMinute / 1e6} MB a minute); retry after ${s} s.`, s);
  };
  const decodeWithinBudget = async (key: string, run: () => Promise<ImageFacts>): Promise<ImageFacts> => {
    const wait = megapixels.waitMs(key);
    if (wait > 0) throw overBudget('pixels', wait);
    const facts = await decodeSlots(key, run);
    megapixels.spend(key, (facts.width * facts.height) / 1e6);
    return facts;
  };
  // Every submit body is read, parsed, hashed and stored before its rules can refuse it: a per-key byte budget,
  // checked with the megapixel one before the body is read, bounds that too (a 400 costs the sender nothing else).
  const bodyBytes = keyBudget(config.submitBytesPerMinute, now, SUBMIT_BURST_MS);
  const admission: SubmitAdmission = {
    admit(keyId, declared) {
      const [pixelsWait, bytesWait] = [megapixels.waitMs(keyId), bodyBytes.waitMs(keyId)];
      if (pixelsWait > 0 || bytesWait > 0) throw pixelsWait >= bytesWait ? overBudget('pixels', pixelsWait) : overBudget('bytes', bytesWait);
      if (declared !== undefined) bodyBytes.spend(keyId, declared);
      return (read) => { if (declared === undefined) bodyBytes.spend(keyId, read); };
    },
  };
  const fetchImage = imageFetcher({ ...outbound, timeoutMs: config.imageFetchTimeoutMs, maxBytes: config.limits.imageBytes });
  const tasks = createTaskService({
    catalog: f.catalog, store, lifecycle: d.lifecycle, maxActiveTasksPerKey: config.maxActiveTasksPerKey, views: d.views,
    blobs: f.blobs, links: f.links, route: u.route, now, allowPrivateUrls: config.allowPrivateUrls,
    fetchImage: (url, param) => mapImageRejection(() => fetchImage(url, param)),
    checkCallbackUrl: async (url) => {
      try {
        await assertPublicTarget(url, { ...outbound, label: 'callback_url' });
      } catch (e) {
        if (e instanceof UnsafeUrlError) throw errors.invalidField('callback_url', `"callback_url": ${e.message}.`);
        throw e;
      }
    },
    inspectImage: (data, param) => mapImageRejection(() => decodeWithinBudget(submitting.getStore() ?? '', () => inspectImage(data, param, config.limits))),
    promptVocabulary: LOCAL_PROMPT_VOCABULARY,
    onQueued: () => {
      d.worker?.wake();
      // Other worker processes (PostgreSQL) wake on this instead of their next poll.
      void store.db.notify(NOTIFY.tasks).catch((e) => f.log.warn({ err: e }, 'notify failed; workers will poll'));
    },
    onCancelled: (id) => d.worker?.abort(id),
  });
  return {
    tasks: { ...tasks, submit: (actor, body, opts) => submitting.run(actor.keyId, () => tasks.submit(actor, body, opts)) },
    keys: createKeyService(store.keys, now),
    credits: createCreditService(store, now),
    webhooks: createWebhookService(store, now, d.wakeDispatcher),
    admission,
  };
}
