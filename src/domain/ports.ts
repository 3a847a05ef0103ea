import type { ApiKeyRecord, CreditEntryRecord, TaskRecord, WebhookAttemptRecord, WebhookEventRecord } from './records.ts';
import type { TaskStatus } from './task-states.ts';

/**
 * What the domain needs from the world, in its own terms. Infrastructure
 * implements these (src/infra/db, src/infra/blob, src/infra/images) and the
 * composition root (src/compose) hands the implementations in; the domain
 * imports nothing from there.
 */

// ---- Stores ---------------------------------------------------------------

/**
 * A task as submitted: the columns the worker, the poller and the ending fill
 * in later are left out; the creative inputs default to none ('[]', null).
 */
export type NewTask = Omit<TaskRecord,
  'requested_model' | 'started_at' | 'completed_at' | 'expires_at' | 'lease_owner' | 'lease_expires_at' | 'attempts' | 'output_key' |
  'thumbnail_key' | 'metadata_json' | 'error_code' | 'error_message' | 'deleted_at' | `upstream_${string}` | 'reference_keys' | 'extend_task_id'>
  & Partial<Pick<TaskRecord, 'reference_keys' | 'extend_task_id'>>;

export interface TaskListQuery {
  keyId: string;
  limit: number;
  status?: TaskStatus | undefined;
  /** Newest first (the default) or oldest first. */
  order?: 'asc' | 'desc' | undefined;
  /** Cursor: return tasks strictly after this one in that order. */
  after?: { createdAt: number; id: string } | undefined;
}

/** The stored output of a task that succeeded. */
export interface Completion {
  outputKey: string;
  thumbnailKey: string;
  metadataJson: string;
  expiresAt: number;
}

/**
 * Tasks. Deleted tasks are invisible to `find` and `list`. The three endings
 * return the ended task, or undefined when another writer ended it first (the
 * status guard of task-states.ts decides the single winner of a race).
 */
export interface TaskStore {
  /** Throws DuplicateRecordError when the key already has a task with this Idempotency-Key. */
  insert(task: NewTask & { requested_model?: string | null }): Promise<void>;
  find(id: string, keyId?: string): Promise<TaskRecord | undefined>;
  findByIdempotencyKey(keyId: string, idempotencyKey: string): Promise<TaskRecord | undefined>;
  releaseIdempotencyKey(keyId: string, idempotencyKey: string, olderThan: number): Promise<void>;
  /** Newest first unless `order` says otherwise. */
  list(q: TaskListQuery): Promise<TaskRecord[]>;
  /**
   * Inside a transaction: until it ends, no other submit of this key gets
   * past this point, so counting its active tasks and inserting one cannot
   * interleave with another submit's (the per-key limit holds under concurrency).
   */
  serialiseSubmits(keyId: string): Promise<void>;
  countActive(keyId: string): Promise<number>;
  /** Hide an ended task of this key; false when not its, still active, or already deleted. */
  markDeleted(id: string, keyId: string, now: number): Promise<boolean>;
  complete(id: string, workerId: string, now: number, c: Completion): Promise<TaskRecord | undefined>;
  fail(id: string, workerId: string, now: number, code: string, message: string): Promise<TaskRecord | undefined>;
  /** `keyId` null: a system cancel (any owner). */
  cancel(id: string, keyId: string | null, now: number, code: string, message: string): Promise<TaskRecord | undefined>;
}

export type NewApiKey = Omit<ApiKeyRecord, 'balance' | 'webhook_secret_previous' | 'webhook_secret_previous_until'>;

export interface KeyStore {
  insert(row: NewApiKey): Promise<void>;
  /** The old secret keeps signing until `overlapUntil`; false when the key is unknown or revoked. */
  rotateWebhookSecret(id: string, secret: string, overlapUntil: number): Promise<boolean>;
  findByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  find(id: string): Promise<ApiKeyRecord | undefined>;
  list(): Promise<ApiKeyRecord[]>;
  revoke(id: string, now: number): Promise<boolean>;
}

/** The credit ledger. Each move returns the balance after it, or undefined when refused (unknown key, or not enough credits). */
export interface LedgerStore {
  reserve(keyId: string, taskId: string, price: number, now: number): Promise<number | undefined>;
  charge(keyId: string, taskId: string, now: number): Promise<number | undefined>;
  refund(keyId: string, taskId: string, amount: number, now: number, note: string): Promise<number | undefined>;
  /** Positive: a grant; negative: an adjustment, refused below zero. */
  grant(keyId: string, amount: number, now: number, note: string | null): Promise<number | undefined>;
  balance(keyId: string): Promise<number | undefined>;
  recent(keyId: string, limit: number): Promise<CreditEntryRecord[]>;
  reservedInFlight(keyId: string): Promise<number>;
}

export type NewWebhookEvent = Pick<WebhookEventRecord, 'id' | 'task_id' | 'key_id' | 'type' | 'url' | 'payload' | 'created_at'>;

/** The webhook outbox, as the domain sees it (the dispatcher claims and delivers). */
export interface OutboxStore {
  insert(e: NewWebhookEvent): Promise<void>;
  forTask(taskId: string): Promise<WebhookEventRecord[]>;
  find(id: string): Promise<WebhookEventRecord | undefined>;
  attempts(eventIds: string[]): Promise<WebhookAttemptRecord[]>;
  /** Send the same event again now; false while a delivery of it is under way. */
  requeue(id: string, now: number): Promise<boolean>;
}

export interface Stores {
  tasks: TaskStore;
  keys: KeyStore;
  ledger: LedgerStore;
  outbox: OutboxStore;
}

export interface Transactor {
  /** Run `fn` in one transaction with stores bound to it: all of it happens, or none. */
  transaction<T>(fn: (s: Stores) => Promise<T>): Promise<T>;
}

/** The stores, and a way into a transaction over them. */
export type Storage = Stores & Transactor;

/** A store refused an insert because a unique key is taken (e.g. a racing submit with the same Idempotency-Key). */
export class DuplicateRecordError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DuplicateRecordError';
  }
}

// ---- Blobs, images, the renderer's words ------------------------------------

export interface BlobInfo {
  size: number;
  contentType: string;
}

/** The blob operations the domain uses; keys are slash-separated paths (`inputs/<task>/0.png`). */
export interface Blobs {
  put(key: string, data: Buffer, contentType: string): Promise<void>;
  /** Moves (or uploads) a local file to `key`; the file may be gone afterwards. */
  putFile(key: string, path: string, contentType: string): Promise<void>;
  stat(key: string): Promise<BlobInfo | undefined>;
  deletePrefix(prefix: string): Promise<void>;
}

/** What an accepted input image is, measured from its content. */
export interface ImageFacts {
  format: 'png' | 'jpeg' | 'webp';
  mime: string;
  ext: string;
  /** As displayed, i.e. after EXIF orientation. */
  width: number;
  height: number;
}

/** An image's bytes: in memory (JSON bodies, downloads), or a file (multipart parts, spooled as they arrived). */
export type ImageInput = Buffer | { path: string; size: number };

/**
 * Judge an image (`param` names it in messages: "images[0]"); an image it
 * refuses is the caller's 400 (ApiError code invalid_image, param "images").
 */
export type InspectImage = (input: ImageInput, param: string) => Promise<ImageFacts>;
/** Download a user's image URL; a refused or failed fetch is the caller's 400 (param "images"). */
export type FetchImage = (url: string, param: string) => Promise<Buffer>;

/** How the local renderer reads a prompt: which of the things it acts on the prompt already names. */
export interface PromptReading {
  /** `unnamed`: the renderer would choose a move itself; `still`: the prompt asks for a static camera. */
  camera: 'unnamed' | 'still' | 'moving';
  speedNamed: boolean;
  lookNamed: boolean;
  /** A sound the renderer has a bed for (otherwise it plays its ambient fallback). */
  soundNamed: boolean;
}

/** The local renderer's camera and sound vocabulary, for the is_rec optimiser (prompt-optimizer.ts). */
export interface PromptVocabulary {
  read(prompt: string): PromptReading;
}
