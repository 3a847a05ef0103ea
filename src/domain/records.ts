import type { TaskStatus } from './task-states.ts';

/**
 * The records the domain reads and writes through its stores (ports.ts). They
 * mirror the tables one to one: infra/db/schema.ts names them as its tables,
 * so a column added there is a field added here. Booleans are 0/1 and times
 * unix milliseconds, so one schema serves SQLite and PostgreSQL alike.
 */
export interface TaskRecord {
  id: string;
  key_id: string;
  model: string;
  /** The name the client sent when it was an alias of `model` (migration 0008); null otherwise. */
  requested_model: string | null;
  provider: string;
  status: TaskStatus;
  progress: number;
  prompt: string;
  negative_prompt: string | null;
  aspect_ratio: string;
  seconds: number;
  size: string;
  width: number;
  height: number;
  seed: number | null;
  generate_audio: number;
  off_peak: number;
  is_rec: number;
  callback_url: string | null;
  /** Provider-specific options (e.g. Vidu audio settings), JSON. */
  options_json: string;
  /**
   * Blob keys of every input image, JSON array: the frames [first, last?],
   * then the reference images; '[]' once an ended task's inputs are removed.
   */
  input_keys: string;
  /** Which of `input_keys` are `reference_images` (`inputs/<task>/ref-<n>.<ext>`), JSON array (migration 0010). */
  reference_keys: string;
  /** The succeeded task whose video this one continues (`extend_task_id`), or null. */
  extend_task_id: string | null;
  output_key: string | null;
  thumbnail_key: string | null;
  /** Facts measured from the output file, JSON. */
  metadata_json: string | null;
  error_code: string | null;
  error_message: string | null;
  credits_reserved: number;
  credits_charged: number;
  credits_refunded: number;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  expires_at: number | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  attempts: number;
  idempotency_key: string | null;
  request_hash: string | null;
  /** is_rec: the prompt the local optimiser wrote (the renderer uses it). */
  optimized_prompt: string | null;
  /** When the owner deleted the task (unix ms); a deleted task answers 404 everywhere. */
  deleted_at: number | null;
  /** The upstream job (set once a channel accepted it); the poller owns the task from then on. */
  upstream_channel: string | null;
  upstream_id: string | null;
  upstream_submitted_at: number | null;
  upstream_next_poll_at: number | null;
  upstream_polls: number;
  /** Consecutive retryable poll failures. */
  upstream_failures: number;
  upstream_json: string | null;
  /** Waiting for a free slot on a self-hosted server: not dispatched before this (migration 0009). */
  upstream_not_before: number | null;
  /** The server reported the job done: its slot is free while the video downloads. */
  upstream_done_at: number | null;
}

export interface ApiKeyRecord {
  id: string;
  name: string;
  key_hash: string;
  key_prefix: string;
  webhook_secret: string;
  created_at: number;
  revoked_at: number | null;
  /** Always equal to the sum of this key's credit entries (changed only with one). */
  balance: number;
  webhook_secret_previous: string | null;
  webhook_secret_previous_until: number | null;
}

export type WebhookEventStatus = 'pending' | 'delivered' | 'failed';

/** One webhook event in the outbox (one id per event: redeliveries reuse it). */
export interface WebhookEventRecord {
  id: string;
  task_id: string;
  key_id: string;
  type: string;
  url: string;
  payload: string;
  status: WebhookEventStatus;
  attempts: number;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  created_at: number;
  delivered_at: number | null;
}

export interface WebhookAttemptRecord {
  id: string;
  event_id: string;
  attempted_at: number;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  success: number;
}

export type CreditKind = 'grant' | 'reserve' | 'charge' | 'refund' | 'adjust';

export interface CreditEntryRecord {
  id: string;
  key_id: string;
  kind: CreditKind;
  /** Signed change to the balance: reserve < 0, refund > 0, charge 0 (it makes a reservation final). */
  amount: number;
  balance_after: number;
  task_id: string | null;
  note: string | null;
  created_at: number;
}
