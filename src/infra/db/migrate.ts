import type { Kysely } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration';
import * as m0001 from './migrations/0001_init.ts';
import * as m0002 from './migrations/0002_credits.ts';
import * as m0004 from './migrations/0004_webhooks.ts';
import * as m0005 from './migrations/0005_task_deleted_at.ts';
import * as m0006 from './migrations/0006_upstream_polling.ts';

/**
 * Forward-only, numbered migrations compiled into the build (no directory
 * scanning, so a bundled or installed copy migrates the same way).
 */
const MIGRATIONS: Record<string, Migration> = {
  '0001_init': m0001,
  '0002_credits': m0002,
  '0004_webhooks': m0004,
  // 0003 is unused: numbers only ever go up, even when a planned migration is dropped.
  '0005_task_deleted_at': m0005,
  '0006_upstream_polling': m0006,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

/**
 * `schema` (PostgreSQL): where the bookkeeping tables live. Kysely looks for
 * them by introspection across all schemas, so without it another schema's
 * tables in the same database would be mistaken for ours.
 */
export async function migrateToLatest(db: Kysely<any>, schema?: string): Promise<string[]> {
  const migrator = new Migrator({
    db, provider, migrationTableName: 'reelay_migrations', migrationLockTableName: 'reelay_migrations_lock',
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw new Error('database migration failed', { cause: error });
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
