import { sql, type Kysely } from 'kysely';

/**
 * The render queue is fair across keys: a claim ranks candidates by how many
 * tasks their key has in a worker's hands. This partial index holds only
 * those rows (processing, no upstream job yet) — a few per worker — so the
 * count costs the same beside ten thousand upstream jobs in flight. The query
 * spells the terms as written here (tasks-repo.ts, IN_A_WORKER): SQLite
 * matches partial-index terms literally.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // The filtered columns lead (SQLite's planner takes a partial index only when it also narrows by its columns;
  // with key_id alone it read every processing row through the status index instead).
  await sql`create index tasks_in_a_worker on tasks (status, upstream_id, lease_expires_at, key_id)
    where status = 'processing' and upstream_id is null`.execute(db);
}
