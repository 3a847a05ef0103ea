import { sql, type Kysely } from 'kysely';

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
  // The poller's query: processing tasks with an upstream job, due first. Partial so
  // the index holds only in-flight upstream jobs, not every task ever made.
  await sql`create index tasks_upstream_due on tasks (upstream_next_poll_at) where status = 'processing' and upstream_id is not null`.execute(db);
}
