import type SQLite from 'better-sqlite3';
import {
  CompiledQuery, SelectQueryNode, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler,
  type DatabaseConnection, type Dialect, type Driver, type Kysely, type QueryCompiler, type QueryResult,
} from 'kysely';

/** Prepares a statement (the caller may cache them by SQL text). */
export interface StatementSource {
  prepare(sql: string): SQLite.Statement;
  /** Whether the handle is inside an explicit transaction right now. */
  inTransaction(): boolean;
  close(): void;
}

export interface BusyPolicy {
  /** How long a query may wait for another process's lock, counted from when it asked for the connection. */
  budgetMs: number;
  now?: () => number;
}

/** Plain SQLITE_BUSY (and recovery) are worth another try; BUSY_SNAPSHOT is not (the transaction's snapshot is stale). */
const RETRYABLE = new Set(['SQLITE_BUSY', 'SQLITE_BUSY_RECOVERY', 'SQLITE_BUSY_TIMEOUT']);
/** SQLite's own busy handler waits 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms; the same shape, kept short. */
const BACKOFF_MS = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50];

export const isRetryableBusy = (e: unknown) => RETRYABLE.has(String((e as { code?: unknown } | null)?.code ?? ''));

/**
 * Kysely's SQLite dialect, with one change: a lock held by another process is
 * waited for *asynchronously*. better-sqlite3 applies busy_timeout by sleeping
 * inside the call, i.e. on the event loop, so a foreign lock froze every
 * request (liveness included) for the whole timeout, once per statement. The
 * handle runs with busy_timeout 0 instead; a statement that meets SQLITE_BUSY
 * is retried after a short setTimeout until the caller's budget, counted from
 * when it asked for the connection, then the SQLITE_BUSY error goes up to the
 * HTTP error handler's 503. Between tries outside a transaction the handle is
 * lent to the next caller, so reads (which WAL lets through) are not stuck
 * behind a waiting writer, and every waiting writer gives up on its own
 * deadline rather than one budget after the other.
 */
export class AsyncBusySqliteDialect implements Dialect {
  readonly #statements: StatementSource;
  readonly #policy: BusyPolicy;
  constructor(statements: StatementSource, policy: BusyPolicy) {
    this.#statements = statements;
    this.#policy = policy;
  }
  createDriver(): Driver { return new AsyncBusyDriver(this.#statements, this.#policy); }
  createQueryCompiler(): QueryCompiler { return new SqliteQueryCompiler(); }
  // The driver serialises callers itself (it has to see when each one asked), so Kysely's own mutex is off.
  createAdapter() { return new SelfSerialisedAdapter(); }
  createIntrospector(db: Kysely<any>) { return new SqliteIntrospector(db); }
}

class SelfSerialisedAdapter extends SqliteAdapter {
  override get supportsMultipleConnections(): boolean { return true; }
}

/** A FIFO lock over the one handle; release hands it straight to the next in line. */
class HandleLock {
  #held = false;
  readonly #waiting: (() => void)[] = [];
  async acquire(): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }
  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#held = false;
  }
}

/** One better-sqlite3 handle, lent to one caller at a time (a transaction spans several queries). */
class AsyncBusyDriver implements Driver {
  readonly #statements: StatementSource;
  readonly #policy: BusyPolicy;
  readonly #lock = new HandleLock();
  constructor(statements: StatementSource, policy: BusyPolicy) {
    this.#statements = statements;
    this.#policy = policy;
  }
  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const now = this.#policy.now ?? Date.now;
    const deadline = now() + this.#policy.budgetMs;
    await this.#lock.acquire();
    return new BusyRetryingConnection(this.#statements, this.#lock, deadline, now);
  }

  async releaseConnection(): Promise<void> {
    this.#lock.release();
  }

  // IMMEDIATE: take the write lock up front. A deferred transaction that reads and then writes
  // fails its upgrade at once with SQLITE_BUSY_SNAPSHOT under contention, which no wait can fix.
  async beginTransaction(c: DatabaseConnection) { await c.executeQuery(CompiledQuery.raw('begin immediate')); }
  async commitTransaction(c: DatabaseConnection) { await c.executeQuery(CompiledQuery.raw('commit')); }
  async rollbackTransaction(c: DatabaseConnection) { await c.executeQuery(CompiledQuery.raw('rollback')); }
  async savepoint(c: DatabaseConnection, name: string) { await c.executeQuery(CompiledQuery.raw(`savepoint "${name}"`)); }
  async rollbackToSavepoint(c: DatabaseConnection, name: string) { await c.executeQuery(CompiledQuery.raw(`rollback to "${name}"`)); }
  async releaseSavepoint(c: DatabaseConnection, name: string) { await c.executeQuery(CompiledQuery.raw(`release "${name}"`)); }
  async destroy(): Promise<void> { this.#statements.close(); }
}

class BusyRetryingConnection implements DatabaseConnection {
  readonly #statements: StatementSource;
  readonly #lock: HandleLock;
  readonly #deadline: number;
  readonly #now: () => number;
  constructor(statements: StatementSource, lock: HandleLock, deadline: number, now: () => number) {
    this.#statements = statements;
    this.#lock = lock;
    this.#deadline = deadline;
    this.#now = now;
  }

  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return this.#run<R>(q);
      } catch (e) {
        const wait = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]!;
        // Out of budget: the SQLITE_BUSY error itself goes up (the error handler answers 503 + Retry-After).
        if (!isRetryableBusy(e) || this.#now() + wait > this.#deadline) throw e;
        await this.#pause(wait);
      }
    }
  }

  /** Outside a transaction nothing of ours is on the handle: let others use it meanwhile. */
  async #pause(ms: number): Promise<void> {
    const lend = !this.#statements.inTransaction();
    if (lend) this.#lock.release();
    await new Promise((r) => setTimeout(r, ms));
    if (lend) await this.#lock.acquire();
  }

  #run<R>(q: CompiledQuery): QueryResult<R> {
    const stmt = this.#statements.prepare(q.sql);
    if (stmt.reader) return { rows: stmt.all(q.parameters as unknown[]) as R[] };
    const { changes, lastInsertRowid } = stmt.run(q.parameters as unknown[]);
    return { insertId: BigInt(lastInsertRowid), numAffectedRows: BigInt(changes), rows: [] };
  }

  async *streamQuery<R>(q: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(q.query)) throw new Error('the SQLite driver streams select queries only');
    for (const row of this.#statements.prepare(q.sql).iterate(q.parameters as unknown[])) yield { rows: [row as R] };
  }
}
