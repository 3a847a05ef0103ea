import { sql, type Kysely, type Transaction } from 'kysely';
import { sqliteImmediate } from './sqlite-immediate.ts';
import * as m0001 from './migrations/0001_init.ts';
import * as m0002 from './migrations/0002_credits.ts';
import * as m0004 from './migrations/0004_webhooks.ts';
import * as m0005 from './migrations/0005_task_deleted_at.ts';
import * as m0006 from './migrations/0006_upstream_polling.ts';
import * as m0007 from './migrations/0007_channel_health.ts';
import * as m0008 from './migrations/0008_requested_model.ts';
import * as m0009 from './migrations/0009_upstream_slots.ts';
import * as m0010 from './migrations/0010_creative_inputs.ts';
import * as m0011 from './migrations/0011_ended_files.ts';
import * as m0012 from './migrations/0012_rendering_by_key.ts';
import * as m0013 from './migrations/0013_key_last_served.ts';

export interface Migration {
  up(db: Kysely<any>): Promise<void>;
}

/**
 * Forward-only, numbered migrations compiled into the build (no directory
 * scanning, so a bundled or installed copy migrates the same way).
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_init': m0001,
  '0002_credits': m0002,
  // 0003 is unused: numbers only ever go up, even when a planned migration is dropped.
  '0004_webhooks': m0004,
  '0005_task_deleted_at': m0005,
  '0006_upstream_polling': m0006,
  '0007_channel_health': m0007,
  '0008_requested_model': m0008,
  '0009_upstream_slots': m0009,
  '0010_creative_inputs': m0010,
  '0011_ended_files': m0011,
  '0012_rendering_by_key': m0012,
  '0013_key_last_served': m0013,
};

/** The bookkeeping table (the columns Kysely's Migrator used, so databases it migrated carry on). */
const TABLE = 'reelay_migrations';
/** Any constant shared by every Reelay process: the advisory lock that serialises migrators on PostgreSQL. */
const PG_LOCK_KEY = 7_302_915_842;

export class MigrationError extends Error {}

/**
 * Bring the schema up to date, each migration in its own transaction on
 * SQLite and PostgreSQL: a failing migration leaves the schema and the
 * migration table exactly as they were before it (earlier ones stay
 * applied). Concurrent migrators (several nodes starting at once) are
 * serialised — an advisory lock on PostgreSQL, the write lock of BEGIN
 * IMMEDIATE on SQLite — and each re-reads what is applied inside its
 * transaction. A database migrated by a newer Reelay is refused.
 *
 * `schema` (PostgreSQL): where the bookkeeping table lives.
 */
export async function migrateToLatest(db: Kysely<any>, schema?: string, migrations: Readonly<Record<string, Migration>> = MIGRATIONS): Promise<string[]> {
  const dialect = schema !== undefined ? 'postgres' : await detectDialect(db);
  const table = schema ? sql.table(`${schema}.${TABLE}`) : sql.table(TABLE);
  // Under the lock too: two PostgreSQL sessions racing on CREATE TABLE IF NOT EXISTS can both try to create it.
  await inTransaction(db, dialect, (trx) => sql`create table if not exists ${table} (name varchar(255) not null primary key, timestamp varchar(255) not null)`.execute(trx));
  const names = Object.keys(migrations).sort();
  const applied = await appliedNames(db, table);
  const unknown = applied.filter((n) => !Object.hasOwn(migrations, n));
  if (unknown.length) {
    throw new MigrationError(`The database was migrated by a newer Reelay (unknown migrations: ${unknown.join(', ')}); upgrade this Reelay or use another database.`);
  }
  const done: string[] = [];
  for (const name of names) {
    if (applied.includes(name)) continue;
    const ran = await inTransaction(db, dialect, async (trx) => {
      // Another node may have applied it while we waited for the lock.
      if ((await appliedNames(trx, table)).includes(name)) return false;
      await migrations[name]!.up(trx);
      await sql`insert into ${table} (name, timestamp) values (${name}, ${new Date().toISOString()})`.execute(trx);
      return true;
    }).catch((e: unknown) => {
      throw new MigrationError(`database migration ${name} failed; the schema is as it was before it`, { cause: e });
    });
    if (ran) done.push(name);
  }
  return done;
}

async function appliedNames(db: Kysely<any>, table: ReturnType<typeof sql.table>): Promise<string[]> {
  const r = await sql<{ name: string }>`select name from ${table} order by name`.execute(db);
  return r.rows.map((x) => x.name);
}

async function detectDialect(db: Kysely<any>): Promise<'sqlite' | 'postgres'> {
  try {
    await sql`select sqlite_version()`.execute(db);
    return 'sqlite';
  } catch {
    return 'postgres';
  }
}

async function inTransaction<T>(db: Kysely<any>, dialect: 'sqlite' | 'postgres', fn: (trx: Kysely<any>) => Promise<T>): Promise<T> {
  if (dialect === 'postgres') {
    return db.transaction().execute(async (trx: Transaction<any>) => {
      await sql`select pg_advisory_xact_lock(${PG_LOCK_KEY})`.execute(trx);
      return fn(trx);
    });
  }
  // SQLite: BEGIN IMMEDIATE takes the write lock at once, so concurrent migrators queue on it.
  return sqliteImmediate(db, fn);
}
