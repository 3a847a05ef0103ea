import { sql, type Kysely } from 'kysely';

/**
 * An ended task's files are removed right after it ends, and `input_keys`
 * becomes '[]' once they are gone. Maintenance looks for ended tasks where
 * that did not happen (a crash in between): this partial index holds only
 * those rows, so the look costs the same at a thousand tasks or ten million.
 *
 * "Ended" is `completed_at is not null` (the three endings set it, nothing
 * else does) rather than a status list: a query on `completed_at < ?` implies
 * it, while a status term would have SQLite prefer an index on status and
 * read every ended task. The query repeats `input_keys <> '[]'` literally
 * (tasks-repo.ts, ENDED_WITH_FILES): SQLite matches partial-index terms as written.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index tasks_files_left on tasks (completed_at) where input_keys <> '[]' and completed_at is not null`.execute(db);
  // Ended tasks whose files Reelay already removed: deleted ones (both prefixes), and succeeded ones
  // whose expired outputs were purged (inputs went with them). What remains to sweep is what leaked.
  await sql`update tasks set input_keys = '[]'
    where input_keys <> '[]' and completed_at is not null
      and (deleted_at is not null or (status = 'succeeded' and output_key is null))`.execute(db);
}
