import type { Config } from './config.ts';
import { openSqlite, type Db } from './infra/db/connect.ts';
import { migrateToLatest } from './infra/db/migrate.ts';
import { tasksRepo, type TasksRepo } from './infra/db/tasks-repo.ts';
import { keysRepo, type KeysRepo } from './infra/db/keys-repo.ts';
import { metaRepo } from './infra/db/meta-repo.ts';

export interface Store {
  db: Db;
  tasks: TasksRepo;
  keys: KeysRepo;
  meta: ReturnType<typeof metaRepo>;
}

/** Open the configured database and bring its schema up to date (the server and the CLI share this). */
export async function openStore(config: Config): Promise<Store> {
  const db = openSqlite(config.databaseFile);
  await migrateToLatest(db.kysely);
  return { db, tasks: tasksRepo(db.kysely, db.dialect), keys: keysRepo(db.kysely), meta: metaRepo(db.kysely) };
}
