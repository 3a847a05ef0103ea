import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import type { Database } from './schema.ts';
import { checkSqliteFile } from './sqlite-check.ts';
import { AsyncBusySqliteDialect, type StatementSource } from './sqlite-driver.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface Db {
  readonly kysely: Kysely<Database>;
  readonly dialect: Dialect;
  /** A cheap round trip. */
  ping(): Promise<void>;
  /**
   * Readiness: can the database be read, and is it intact? SQLite opens the
   * file afresh and runs quick_check off the event loop; PostgreSQL answers
   * a query. Never throws.
   */
  check(): Promise<{ ok: boolean; detail?: string }>;
  /**
   * Tell other processes that work is waiting on `channel` (PostgreSQL
   * NOTIFY). SQLite has no such thing: it is one machine, and workers there
   * are woken in-process and by polling.
   */
  notify(channel: string): Promise<void>;
  /** Call `fn` whenever another process notifies `channel`; returns an unsubscribe. */
  listen(channel: string, fn: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export class DatabaseOpenError extends Error {
  constructor(file: string, cause: unknown) {
    super(`Cannot open the SQLite database ${file}: ${(cause as Error)?.message ?? String(cause)}. `
      + 'Restore it from a backup, or move it aside to start with an empty database (REELAY_DATA_DIR or DATABASE_URL says where it is).', { cause });
    this.name = 'DatabaseOpenError';
  }
}

/**
 * `busyTimeoutMs`: how long a query waits for another process's write lock
 * (the CLI beside a server) before SQLITE_BUSY reaches the caller — waited
 * asynchronously by the driver (see sqlite-driver.ts), never on the event loop.
 */
export function openSqlite(file: string, busyTimeoutMs = 5000): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  let sqlite: SQLite.Database | undefined;
  try {
    sqlite = new SQLite(file);
    // WAL lets readers (polls) proceed while a writer commits.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    // 0: never sleep inside a call (that would block the event loop); the driver retries instead.
    sqlite.pragma('busy_timeout = 0');
    sqlite.pragma('foreign_keys = ON');
  } catch (e) {
    // A corrupt or foreign file: say which file, or the operator is left guessing.
    try { sqlite?.close(); } catch { /* already unusable */ }
    throw new DatabaseOpenError(file, e);
  }
  const handle = sqlite;
  const kysely = new Kysely<Database>({ dialect: new AsyncBusySqliteDialect(statementCache(handle), { budgetMs: busyTimeoutMs }) });
  return {
    kysely,
    dialect: 'sqlite',
    async ping() {
      handle.prepare('select 1').get();
    },
    check: () => checkSqliteFile(file, Math.min(busyTimeoutMs, 1000)),
    async notify() {},
    async listen() {
      return async () => {};
    },
    async close() {
      await kysely.destroy();
    },
  };
}

/**
 * Kysely prepares every statement anew; preparing costs more than running a
 * primary-key lookup (measured: ~70 µs vs ~6 µs), so keep statements by SQL text.
 */
function statementCache(sqlite: SQLite.Database): StatementSource {
  const statements = new Map<string, SQLite.Statement>();
  return {
    prepare(text: string) {
      let st = statements.get(text);
      if (!st) {
        if (statements.size >= 1000) statements.clear(); // queries with inlined values must not grow this forever
        st = sqlite.prepare(text);
        statements.set(text, st);
      }
      return st;
    },
    inTransaction: () => sqlite.inTransaction,
    close() {
      statements.clear();
      sqlite.close();
    },
  };
}

// bigint (int8) and numeric (sum/avg) arrive as strings by default; our values
// (unix ms, credits) are well within 2^53, so numbers are exact and simpler.
const PG_TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
};

export interface PostgresOptions {
  /** Use (and create) this schema instead of public: tests get a fresh one each. */
  schema?: string;
  max?: number;
}

export async function openPostgres(url: string, opts: PostgresOptions = {}): Promise<Db> {
  const schema = opts.schema;
  if (schema && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
  const clientConfig = {
    connectionString: url,
    types: PG_TYPES,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  };
  if (schema) {
    const c = new pg.Client(clientConfig);
    await c.connect();
    try {
      await c.query(`create schema if not exists ${schema}`);
    } finally {
      await c.end();
    }
  }
  const pool = new pg.Pool({ ...clientConfig, max: opts.max ?? 10 });
  // An idle client that errors (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const listeners: pg.Client[] = [];
  return {
    kysely,
    dialect: 'postgres',
    async ping() {
      await pool.query('select 1');
    },
    async check() {
      try {
        await pool.query('select 1');
        return { ok: true };
      } catch (e) {
        return { ok: false, detail: (e as Error).message };
      }
    },
    async notify(channel) {
      await pool.query('select pg_notify($1, $2)', [channel, '']);
    },
    async listen(channel, fn) {
      // A dedicated connection: LISTEN state belongs to a session, so it can't come from the pool.
      const client = new pg.Client(clientConfig);
      client.on('error', () => {});
      client.on('notification', (n) => { if (n.channel === channel) fn(); });
      await client.connect();
      await client.query(`listen "${channel.replace(/"/g, '')}"`);
      listeners.push(client);
      return async () => {
        listeners.splice(listeners.indexOf(client), 1);
        await client.end().catch(() => {});
      };
    },
    async close() {
      await Promise.all(listeners.splice(0).map((c) => c.end().catch(() => {})));
      await kysely.destroy();
    },
  };
}
