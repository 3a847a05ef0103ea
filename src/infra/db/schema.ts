import type { Generated } from 'kysely';
import type { ApiKeyRecord, CreditEntryRecord, TaskRecord, WebhookAttemptRecord, WebhookEventRecord } from '../../domain/records.ts';

// The domain owns the records (src/domain/records.ts); the tables are those
// records, so the two cannot drift. Only tables the domain never sees are declared here.
export type { TaskStatus } from '../../domain/task-states.ts';
export type { CreditKind, WebhookEventStatus } from '../../domain/records.ts';
export type TasksTable = TaskRecord;
export type ApiKeysTable = ApiKeyRecord;
export type WebhookEventsTable = WebhookEventRecord;
export type WebhookAttemptsTable = WebhookAttemptRecord;
export type CreditEntriesTable = CreditEntryRecord;

export interface MetaTable {
  name: string;
  value: string;
}

/** A channel's (upstream_model '') or a channel × model's health (migration 0007). */
export interface ChannelHealthTable {
  channel: string;
  upstream_model: string;
  failures: number;
  rests: number;
  rest_until: number | null;
  last_error_code: string | null;
  last_error: string | null;
  last_error_at: number | null;
  last_success_at: number | null;
}
export type ChannelHealthRow = ChannelHealthTable;

export interface Database {
  tasks: TasksTable;
  channel_health: ChannelHealthTable;
  api_keys: ApiKeysTable;
  credit_entries: CreditEntriesTable;
  webhook_events: WebhookEventsTable;
  webhook_attempts: WebhookAttemptsTable;
  reelay_meta: MetaTable;
}

export type TaskRow = TasksTable;
export type ApiKeyRow = ApiKeysTable;
// Kept for future auto-increment tables (ledger, outbox).
export type { Generated };
