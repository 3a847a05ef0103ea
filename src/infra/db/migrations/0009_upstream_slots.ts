import type { Kysely } from 'kysely';

/**
 * Self-hosted GPU servers run a fixed number of jobs at once, so Reelay holds
 * their queue (channel slots):
 * - `upstream_not_before`: a task that found every server of its model full
 *   (or busy, or down) waits in the queue until then; a freed slot clears it.
 * - `upstream_done_at`: the server reported the job done, so its slot is free
 *   while Reelay still downloads the video.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tasks').addColumn('upstream_not_before', 'bigint').execute();
  await db.schema.alterTable('tasks').addColumn('upstream_done_at', 'bigint').execute();
  // Waking a model's waiting tasks reads only the few rows that wait (the column is null everywhere else).
  await db.schema.createIndex('tasks_upstream_waiting').on('tasks').columns(['upstream_not_before']).execute();
}
