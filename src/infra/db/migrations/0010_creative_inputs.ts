import type { Kysely } from 'kysely';

/**
 * The creative inputs of a submit (API.md §3):
 * - `reference_keys`: which of `input_keys` are `reference_images` (JSON
 *   array; `input_keys` holds every input file, so the sweep of ended tasks'
 *   files sees a task whose only inputs are references);
 * - `extend_task_id`: the succeeded task whose video this one continues.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tasks').addColumn('reference_keys', 'text', (c) => c.notNull().defaultTo('[]')).execute();
  await db.schema.alterTable('tasks').addColumn('extend_task_id', 'text').execute();
}
