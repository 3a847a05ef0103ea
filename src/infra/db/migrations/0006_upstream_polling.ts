import type { Kysely } from 'kysely';

/**
 * An upstream job outlives the worker that submitted it: its channel, id and
 * poll schedule live on the task, so any node's poller can pick it up (and a
 * crash never re-submits a job that the upstream already accepted).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tasks').addColumn('upstream_channel', 'text').execute();
  await db.schema.alterTable('tasks').addColumn('upstream_id', 'text').execute();
  await db.schema.alterTable('tasks').addColumn('upstream_submitted_at', 'bigint').execute();
  await db.schema.alterTable('tasks').addColumn('upstream_next_poll_at', 'bigint').execute();
  await db.schema.alterTable('tasks').addColumn('upstream_polls', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('tasks').addColumn('upstream_failures', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  /** Facts from the submit (failover path) that end up in the task's metadata. */
  await db.schema.alterTable('tasks').addColumn('upstream_json', 'text').execute();
  // The poller's query: one channel's processing tasks, due first. (A partial index
  // on in-flight jobs was measured being skipped by SQLite for a scan + sort.)
  await db.schema.createIndex('tasks_upstream_due').on('tasks').columns(['status', 'upstream_channel', 'upstream_next_poll_at']).execute();
  // Every submit counts the key's active tasks (REELAY_MAX_ACTIVE_TASKS_PER_KEY); by
  // (key_id, created_at) that count read every task the key ever made.
  await db.schema.createIndex('tasks_key_status').on('tasks').columns(['key_id', 'status']).execute();
}
