import type { Kysely } from 'kysely';

/**
 * A claim breaks ties between keys by when each was last served (the latest
 * started_at of its tasks): with one worker slot no key ever holds a task at
 * claim time, so without it the queue was plain FIFO. This index makes that
 * one seek per key instead of a walk over the key's tasks.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('tasks_key_started').on('tasks').columns(['key_id', 'started_at']).execute();
}
