import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // A cached balance per key, changed only together with a ledger entry in one
  // transaction; the conditional UPDATE on it is what makes concurrent
  // reservations safe on both SQLite and PostgreSQL without explicit locks.
  await db.schema.alterTable('api_keys').addColumn('balance', 'bigint', (c) => c.notNull().defaultTo(0)).execute();

  await db.schema
    .createTable('credit_entries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('key_id', 'text', (c) => c.notNull().references('api_keys.id'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('balance_after', 'bigint', (c) => c.notNull())
    .addColumn('task_id', 'text')
    .addColumn('note', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('credit_entries_key_created').on('credit_entries').columns(['key_id', 'created_at']).execute();
  // Each task is reserved, charged and refunded at most once, whatever races happen above.
  await db.schema
    .createIndex('credit_entries_task_kind')
    .on('credit_entries')
    .columns(['task_id', 'kind'])
    .unique()
    .where('task_id', 'is not', null)
    .execute();

  await db.schema.alterTable('tasks').addColumn('optimized_prompt', 'text').execute();
}
