import type { Kysely } from 'kysely';
import type { Config } from './config.ts';
import { openPostgres, openSqlite, type Db, type Dialect } from './infra/db/connect.ts';
import { migrateToLatest } from './infra/db/migrate.ts';
import { sqliteImmediate } from './infra/db/sqlite-immediate.ts';
import { tasksRepo, type TasksRepo } from './infra/db/tasks-repo.ts';
import { keysRepo, type KeysRepo } from './infra/db/keys-repo.ts';
import { ledgerRepo, type LedgerRepo } from './infra/db/ledger-repo.ts';
import { metaRepo } from './infra/db/meta-repo.ts';
import { outboxRepo, type OutboxRepo } from './infra/db/outbox-repo.ts';
import type { Database } from './infra/db/schema.ts';
import { channelHealthRepo, type ChannelHealthRepo } from './infra/db/channel-health-repo.ts';
import type { Stores, Transactor } from './domain/ports.ts';

/** The repositories: the domain's store ports (extending them makes the compiler check each one) and what else workers use. */
export interface Repos extends Stores {
  tasks: TasksRepo;
  keys: KeysRepo;
  ledger: LedgerRepo;
  outbox: OutboxRepo;
}

/** The domain's Storage (ports and a transaction over them), plus what only infrastructure uses. */
export interface Store extends Repos, Transactor {
  db: Db;
  meta: ReturnType<typeof metaRepo>;
  channelHealth: ChannelHealthRepo;
  /** Run `fn` in one database transaction with repos bound to it (all or nothing). */
  transaction<T>(fn: (repos: Repos) => Promise<T>): Promise<T>;
}

function repos(db: Kysely<Database>, dialect: Dialect): Repos {
  return { tasks: tasksRepo(db, dialect), keys: keysRepo(db), ledger: ledgerRepo(db), outbox: outboxRepo(db, dialect) };
}

/** Open the configured database and bring its schema up to date (the server and the CLI share this). */
export async function openStore(config: Config): Promise<Store> {
  const db = config.databaseUrl
    ? await openPostgres(config.databaseUrl, config.databaseSchema ? { schema: config.databaseSchema } : {})
    : openSqlite(config.databaseFile, config.sqliteBusyTimeoutMs);
  await migrateToLatest(db.kysely, config.databaseUrl ? (config.databaseSchema ?? 'public') : undefined);
  return {
    db,
    ...repos(db.kysely, db.dialect),
    meta: metaRepo(db.kysely),
    channelHealth: channelHealthRepo(db.kysely),
    transaction: (fn) => db.dialect === 'sqlite'
      ? sqliteImmediate(db.kysely, (conn) => fn(repos(conn, db.dialect)))
      : db.kysely.transaction().execute((trx) => fn(repos(trx, db.dialect))),
  };
}
