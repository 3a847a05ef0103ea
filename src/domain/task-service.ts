import { createHash } from 'node:crypto';
import type { Catalog } from './catalog.ts';
import { ApiError, errors, isApiError } from './errors.ts';
import { assertExtendable, type ExtendFacts } from './creative-rules.ts';
import { newTaskId } from './ids.ts';
import { sha256InSlices } from './digest.ts';
import { applySubmitRules, aspectFromSize, findModel, nearestAspect, parseSubmitShape, type ImageSource, type RuleOptions, type SubmittedFile, type TaskRequest } from './submit-rules.ts';
import type { SubmitRequest } from './task-schemas.ts';
import { toTaskObject, type Links } from './task-view.ts';
import type { TaskObject } from './task-schemas.ts';
import type { Lifecycle } from './task-lifecycle.ts';
import type { TaskViewCache } from './task-view-cache.ts';
import { priceTask } from './pricing.ts';
import { assertSomeUpstreamHonours, type Asked } from './upstream-limits.ts';
import { createPromptOptimizer } from './prompt-optimizer.ts';
import { DuplicateRecordError, type BlobInfo, type Blobs, type FetchImage, type ImageFacts, type ImageInput, type InspectImage, type PromptVocabulary, type Storage } from './ports.ts';
import type { TaskRecord } from './records.ts';
import type { TaskStatus } from './task-states.ts';

export interface Actor {
  keyId: string;
}

export interface TaskServiceDeps {
  catalog: Catalog;
  store: Pick<Storage, 'tasks' | 'transaction'>;
  lifecycle: Pick<Lifecycle, 'cancel'>;
  /** Per key: tasks queued or processing at once; more → 429. */
  maxActiveTasksPerKey: number;
  blobs: Blobs;
  links: Links;
  fetchImage: FetchImage;
  /** Throws a 400 if the callback URL points at a private address (checked again at delivery). */
  checkCallbackUrl(url: string): Promise<void>;
  inspectImage: InspectImage;
  /** The local renderer's words, for rewriting an is_rec prompt it will render. */
  promptVocabulary: PromptVocabulary;
  /**
   * Who serves a model now: the first provider with a channel for it (and
   * the upstream ids those channels call), else the local renderer.
   */
  route(modelId: string): { provider: string; upstreamModels: readonly string[] };
  now(): number;
  allowPrivateUrls: boolean;
  /** Wakes idle workers (in this process directly, elsewhere via the database's notifications). */
  onQueued(taskId: string): void;
  /** Stops a running render of this task in this process, if any. */
  onCancelled(taskId: string): void;
  /** Serialised views for the poll path, shared with whatever else changes tasks here. */
  views: TaskViewCache;
}

type Loaded = { input: ImageInput; facts: ImageFacts };

export interface SubmitOptions {
  files?: SubmittedFile[];
  idempotencyKey?: string | undefined;
}

const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;
export { TASK_CACHE_MS } from './task-view-cache.ts';
export const LIST_MAX = 100;

async function requestHash(req: TaskRequest): Promise<string> {
  const h = createHash('sha256');
  const { images, referenceImages, model, extendTaskId, ...fields } = req;
  // extend_task_id only when given: any other request hashes as it did before it existed (keys replayed across an upgrade).
  h.update(JSON.stringify({ ...fields, model: model.id, ...(extendTaskId ? { extendTaskId } : {}) }));
  // A spooled file was hashed as it arrived; the same bytes hash the same whichever way they came.
  const digest = async (img: ImageSource) => (img.kind === 'url' ? `url:${img.url}`
    : `bytes:${img.kind === 'file' ? img.file.sha256 : await sha256InSlices(img.data)}`);
  for (const img of images) h.update(await digest(img));
  // Only when there are some: a request without references hashes as it did before they existed.
  if (referenceImages.length) h.update(`references:${(await Promise.all(referenceImages.map(digest))).join(',')}`);
  return h.digest('hex');
}

/**
 * What the mapped upstream will be asked to do: on a model that renders from
 * references only, the start image is sent as the first of them (worker).
 */
function upstreamAsk(req: TaskRequest): Asked {
  const only = req.model.reference_images?.only === true;
  return {
    seconds: req.seconds, resolution: req.resolution, startImage: req.images.length > 0 && !only, lastFrame: req.images.length > 1,
    references: req.referenceImages.length + (only && req.images.length > 0 ? 1 : 0), extension: req.extendTaskId !== null,
  };
}

/** The task API's rules, independent of HTTP: handlers parse, call one of these, reply. */
export function createTaskService(d: TaskServiceDeps) {
  const view = (row: TaskRecord) => toTaskObject(row, d.links);
  const tasks = d.store.tasks;
  const cache = d.views;
  const optimizePrompt = createPromptOptimizer(d.promptVocabulary);

  async function loadImage(src: ImageSource): Promise<Loaded> {
    try {
      const input: ImageInput = src.kind === 'url' ? await d.fetchImage(src.url, src.param)
        : src.kind === 'file' ? { path: src.file.path, size: src.file.size } : src.data;
      return { input, facts: await d.inspectImage(input, src.param) };
    } catch (e) {
      // The image ports report every refusal under "images"; a reference image's is its own field's.
      const field = src.param.replace(/\[\d+\]$/, '');
      if (isApiError(e) && e.param === 'images' && field !== 'images') {
        throw new ApiError(e.status, e.type, e.code, e.message, { param: field, headers: e.headers, cause: e });
      }
      throw e;
    }
  }

  /**
   * The task `extend_task_id` names: this key's (another key's answers 404, as
   * any task does), succeeded, with its video still stored (else 409).
   */
  async function extendSource(actor: Actor, shape: SubmitRequest): Promise<ExtendFacts | null> {
    if (shape.extend_task_id === undefined) return null;
    // A model that cannot extend is the first thing to fix; no lookup for it.
    assertExtendable(findModel(d.catalog, shape.model), d.catalog);
    const id = shape.extend_task_id.trim();
    const src = await tasks.find(id, actor.keyId);
    if (!src) throw errors.notFound('task', id, 'extend_task_id');
    if (src.status !== 'succeeded') {
      throw errors.extendSourceNotReady(id, `it is "${src.status}"; only a succeeded task's video can be continued.`);
    }
    if (!src.output_key || !src.metadata_json || (src.expires_at != null && Number(src.expires_at) < d.now())) {
      throw errors.extendSourceNotReady(id, 'its video has expired and is no longer stored.');
    }
    const meta = JSON.parse(src.metadata_json) as { duration?: number; width?: number; height?: number; fps?: number };
    return {
      taskId: src.id, aspectRatio: src.aspect_ratio, duration: Number(meta.duration ?? src.seconds),
      width: Number(meta.width ?? src.width), height: Number(meta.height ?? src.height), fps: Number(meta.fps ?? d.catalog.fps),
    };
  }

  /** Store the inputs: frames as `inputs/<id>/<n>.<ext>`, references as `ref-<n>.<ext>`; every key in input_keys. */
  async function storeInputs(id: string, frames: Loaded[], references: Loaded[]) {
    const frameKeys = frames.map((img, i) => `inputs/${id}/${i}.${img.facts.ext}`);
    const referenceKeys = references.map((img, i) => `inputs/${id}/ref-${i}.${img.facts.ext}`);
    const all = [...frames, ...references];
    const keys = [...frameKeys, ...referenceKeys];
    for (const [i, img] of all.entries()) {
      // A spooled upload is moved into place (a rename on the local store), not read back into memory.
      if (Buffer.isBuffer(img.input)) await d.blobs.put(keys[i]!, img.input, img.facts.mime);
      else await d.blobs.putFile(keys[i]!, img.input.path, img.facts.mime);
    }
    return { input_keys: JSON.stringify(keys), reference_keys: JSON.stringify(referenceKeys) };
  }

  function replayOrConflict(existing: TaskRecord, hash: string): Promise<TaskObject> {
    if (existing.request_hash !== hash) {
      throw errors.conflict('idempotency_key_reused',
        'This Idempotency-Key was already used with a different request body in the last 24 hours; use a new key.');
    }
    // Deleted tasks answer 404 everywhere; a replay must not bring one back, nor quietly make (and charge) a second task.
    if (existing.deleted_at != null) {
      throw errors.conflict('idempotency_key_deleted',
        `The task this Idempotency-Key created (${existing.id}) has been deleted; send the request with a new key to create another.`);
    }
    return view(existing);
  }

  /**
   * The model's supported aspect ratio nearest to the start image's shape (a
   * pixel `size` decides first). Every other rule is checked before the image
   * is fetched, with a provisional ratio, so a bad request costs no download.
   */
  async function inferAspect(shape: SubmitRequest, o: RuleOptions, preloaded: Map<string, Promise<Loaded>>): Promise<string> {
    const model = findModel(d.catalog, shape.model);
    // An extension keeps the shape of the video it continues.
    if (o.extend) return o.extend.aspectRatio;
    const fromSize = aspectFromSize(shape, model);
    const provisional = applySubmitRules({ ...shape, aspect_ratio: fromSize ?? model.aspect_ratios[0]! }, d.catalog, o);
    if (fromSize) return fromSize;
    const first = provisional.images[0]!;
    const image = loadImage(first);
    preloaded.set(first.param, image);
    const { facts } = await image;
    return nearestAspect(facts.width, facts.height, model.aspect_ratios);
  }

  async function ownedTask(actor: Actor, id: string): Promise<TaskRecord> {
    const row = await tasks.find(id, actor.keyId);
    // Another key's task answers exactly like an unknown id (API.md §2).
    if (!row) throw errors.notFound('task', id, 'task_id');
    return row;
  }

  return {
    async submit(actor: Actor, body: unknown, opts: SubmitOptions = {}): Promise<TaskObject> {
      const shape = parseSubmitShape(body);
      const ruleOpts = { allowPrivateUrls: d.allowPrivateUrls, files: opts.files ?? [], extend: await extendSource(actor, shape) };
      // aspect_ratio omitted (the vendor doc's own example): the start image decides, loaded once and reused below.
      const preloaded = new Map<string, Promise<Loaded>>();
      if (shape.aspect_ratio === undefined) shape.aspect_ratio = await inferAspect(shape, ruleOpts, preloaded);
      const req = applySubmitRules(shape, d.catalog, ruleOpts);
      const route = d.route(req.model.id);
      assertSomeUpstreamHonours(req.model.id, route.upstreamModels, d.catalog.upstreamLimits, upstreamAsk(req));
      if (req.callbackUrl) await d.checkCallbackUrl(req.callbackUrl);
      const hash = await requestHash(req);
      const idem = opts.idempotencyKey;
      if (idem !== undefined) {
        if (!/^[\x21-\x7e]{1,255}$/.test(idem)) {
          throw errors.invalid('invalid_idempotency_key', 'The Idempotency-Key header must be 1–255 visible ASCII characters.', 'Idempotency-Key');
        }
        await tasks.releaseIdempotencyKey(actor.keyId, idem, d.now() - IDEMPOTENCY_WINDOW_MS);
        const existing = await tasks.findByIdempotencyKey(actor.keyId, idem);
        if (existing) return replayOrConflict(existing, hash);
      }

      const loaded: Loaded[] = [];
      for (const src of req.images) loaded.push(await (preloaded.get(src.param) ?? loadImage(src)));
      const references: Loaded[] = [];
      for (const src of req.referenceImages) references.push(await loadImage(src));

      const id = newTaskId();
      const provider = route.provider;
      const price = priceTask(req.model, d.catalog.pricing, {
        seconds: req.seconds, resolution: req.resolution, audio: req.generateAudio, isRec: req.isRec, offPeak: req.offPeak,
        references: req.referenceImages.length,
      }).credits;
      // The local renderer has no optimiser of its own, so is_rec rewrites the prompt here; upstreams get the flag.
      const optimized = req.isRec && provider === 'local' ? optimizePrompt(req.prompt) : null;
      try {
        const inputs = await storeInputs(id, loaded, references);
        await d.store.transaction(async (r) => {
          // Reserving credits, inserting the task and queueing it are one transaction (nothing half-done);
          // the key's other submits wait here, so the count below cannot be stale when the insert lands.
          await r.tasks.serialiseSubmits(actor.keyId);
          if (await r.tasks.countActive(actor.keyId) >= d.maxActiveTasksPerKey) {
            throw errors.tooManyActiveTasks(d.maxActiveTasksPerKey);
          }
          const now = d.now();
          await r.tasks.insert({
            id, key_id: actor.keyId, model: req.model.id, requested_model: req.requestedModel, provider,
            status: 'queued', progress: 0, prompt: req.prompt, negative_prompt: req.negativePrompt,
            aspect_ratio: req.aspectRatio, seconds: req.seconds, size: req.size, width: req.width, height: req.height,
            seed: req.seed, generate_audio: req.generateAudio ? 1 : 0, off_peak: req.offPeak ? 1 : 0, is_rec: req.isRec ? 1 : 0,
            callback_url: req.callbackUrl, options_json: JSON.stringify(req.options), ...inputs, extend_task_id: req.extendTaskId,
            credits_reserved: price, credits_charged: 0, credits_refunded: 0, created_at: now,
            idempotency_key: idem ?? null, request_hash: hash, optimized_prompt: optimized,
          });
          if (await r.ledger.reserve(actor.keyId, id, price, now) === undefined) {
            throw errors.insufficientCredits(price, (await r.ledger.balance(actor.keyId)) ?? 0);
          }
        });
      } catch (e) {
        // Nothing may be left behind by a submit that did not create a task.
        await d.blobs.deletePrefix(`inputs/${id}/`).catch(() => {});
        if (idem !== undefined && e instanceof DuplicateRecordError) {
          const winner = await tasks.findByIdempotencyKey(actor.keyId, idem);
          if (winner) return replayOrConflict(winner, hash);
        }
        throw e;
      }
      d.onQueued(id);
      return view((await tasks.find(id))!);
    },

    async get(actor: Actor, id: string): Promise<TaskObject> {
      return view(await ownedTask(actor, id));
    },

    /** The task object already serialised: the poll endpoint's fast path. */
    async getJson(actor: Actor, id: string): Promise<string> {
      const t = d.now();
      const hit = cache.get(id, actor.keyId, t);
      if (hit !== undefined) return hit;
      const row = await ownedTask(actor, id);
      const json = JSON.stringify(await view(row));
      cache.set(id, row.key_id, json, t);
      return json;
    },

    /** Drop the cached view of a task that changed in this process. */
    invalidate(id: string): void {
      cache.invalidate(id);
    },

    /** Newest first unless `order` is 'asc'; `after` is the last id of the previous page, in that order. */
    async list(actor: Actor, q: { limit: number; after?: string | undefined; status?: TaskStatus | undefined; order?: 'asc' | 'desc' | undefined }) {
      let after: { createdAt: number; id: string } | undefined;
      if (q.after) {
        const cursor = await tasks.find(q.after, actor.keyId);
        if (!cursor) throw errors.invalidField('after', `"after" must be the id of one of your tasks (got ${JSON.stringify(q.after)}).`);
        after = { createdAt: Number(cursor.created_at), id: cursor.id };
      }
      const rows = await tasks.list({ keyId: actor.keyId, limit: q.limit + 1, status: q.status, order: q.order, after });
      const page = await Promise.all(rows.slice(0, q.limit).map(view));
      return {
        object: 'list' as const,
        data: page,
        has_more: rows.length > q.limit,
        first_id: page[0]?.id ?? null,
        last_id: page.at(-1)?.id ?? null,
      };
    },

    async cancel(actor: Actor, id: string): Promise<TaskObject> {
      const row = await ownedTask(actor, id);
      const won = await d.lifecycle.cancel(id, actor.keyId, d.now(), 'cancelled', 'The task was cancelled by the user.');
      if (!won) {
        const now = await tasks.find(id, actor.keyId);
        throw errors.conflict('task_not_cancellable', `Task ${id} has already ended (status "${now?.status ?? row.status}") and cannot be cancelled.`);
      }
      cache.invalidate(id);
      d.onCancelled(id);
      return view((await tasks.find(id))!);
    },

    /** The blob behind GET …/content: the MP4, or the thumbnail JPEG. */
    async content(actor: Actor, id: string, variant: 'video' | 'thumbnail'): Promise<{ key: string; info: BlobInfo }> {
      const row = await ownedTask(actor, id);
      if (row.status !== 'succeeded') {
        throw errors.conflict('task_not_succeeded', `Task ${id} is "${row.status}"; its content is available once it has succeeded.`);
      }
      if (row.expires_at != null && Number(row.expires_at) < d.now()) throw errors.contentExpired(id);
      const key = variant === 'thumbnail' ? row.thumbnail_key : row.output_key;
      const info = key ? await d.blobs.stat(key) : undefined;
      if (!key || !info) throw errors.notFound('content', id, 'task_id');
      return { key, info };
    },
  };
}

export type TaskService = ReturnType<typeof createTaskService>;
