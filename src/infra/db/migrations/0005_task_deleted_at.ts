import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // A deleted task keeps its row (its ledger entries and webhook events point at it)
  // but is invisible to its key: every read filters on deleted_at IS NULL.
  await db.schema.alterTable('tasks').addColumn('deleted_at', 'bigint').execute();
}
