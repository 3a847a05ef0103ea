import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('key_prefix', 'text', (c) => c.notNull())
    // Signs this key's webhooks (Standard Webhooks); must be readable to sign, unlike the key itself.
    .addColumn('webhook_secret', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .execute();

  await db.schema
    .createTable('tasks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('key_id', 'text', (c) => c.notNull().references('api_keys.id'))
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('progress', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('prompt', 'text', (c) => c.notNull())
    .addColumn('negative_prompt', 'text')
    .addColumn('aspect_ratio', 'text', (c) => c.notNull())
    .addColumn('seconds', 'integer', (c) => c.notNull())
    .addColumn('size', 'text', (c) => c.notNull())
    .addColumn('width', 'integer', (c) => c.notNull())
    .addColumn('height', 'integer', (c) => c.notNull())
    .addColumn('seed', 'bigint')
    .addColumn('generate_audio', 'integer', (c) => c.notNull())
    .addColumn('off_peak', 'integer', (c) => c.notNull())
    .addColumn('is_rec', 'integer', (c) => c.notNull())
    .addColumn('callback_url', 'text')
    .addColumn('options_json', 'text', (c) => c.notNull())
    .addColumn('input_keys', 'text', (c) => c.notNull())
    .addColumn('output_key', 'text')
    .addColumn('thumbnail_key', 'text')
    .addColumn('metadata_json', 'text')
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('credits_reserved', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('credits_charged', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('credits_refunded', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('started_at', 'bigint')
    .addColumn('completed_at', 'bigint')
    .addColumn('expires_at', 'bigint')
    .addColumn('lease_owner', 'text')
    .addColumn('lease_expires_at', 'bigint')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('idempotency_key', 'text')
    .addColumn('request_hash', 'text')
    .execute();

  // Listing is per key, newest first, cursor on (created_at, id).
  await db.schema.createIndex('tasks_key_created').on('tasks').columns(['key_id', 'created_at', 'id']).execute();
  // The tasks table is the queue: claim scans queued/processing rows in age order.
  await db.schema.createIndex('tasks_status_created').on('tasks').columns(['status', 'created_at']).execute();
  await db.schema
    .createIndex('tasks_idempotency')
    .on('tasks')
    .columns(['key_id', 'idempotency_key'])
    .unique()
    .where('idempotency_key', 'is not', null)
    .execute();

  await db.schema
    .createTable('reelay_meta')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
}
