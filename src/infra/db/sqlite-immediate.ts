import { sql, type Kysely } from 'kysely';

/**
 * A SQLite write transaction that starts with BEGIN IMMEDIATE: a deferred one
 * that reads first and then writes while another process holds the write lock
 * fails at once with SQLITE_BUSY (the busy wait is not applied to that
 * upgrade), whereas IMMEDIATE waits for the lock like any other statement.
 */
export async function sqliteImmediate<DB, T>(db: Kysely<DB>, fn: (conn: Kysely<DB>) => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    try {
      const result = await fn(conn);
      await sql`commit`.execute(conn);
      return result;
    } catch (e) {
      await sql`rollback`.execute(conn).catch(() => {});
      throw e;
    }
  });
}
