import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPostgres, openSqlite, type Db } from '../../src/infra/db/connect.ts';

export const PG_URL = process.env.TEST_DATABASE_URL;
export const PG_SKIP_REASON = 'PostgreSQL tests skipped: set TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test); .ci/run sets it.';
if (!PG_URL) console.warn(`\n[reelay tests] ${PG_SKIP_REASON}\n`);

/** A fresh, empty database of each dialect available here: a SQLite file, and a new PostgreSQL schema. */
export const dialects: { name: 'sqlite' | 'postgres'; available: boolean; open(): Promise<{ db: Db; schema?: string; drop(): Promise<void> }> }[] = [
  {
    name: 'sqlite',
    available: true,
    async open() {
      const dir = await mkdtemp(join(tmpdir(), 'reelay-db-'));
      const db = openSqlite(join(dir, 'db.sqlite'));
      return { db, drop: async () => { await db.close(); await rm(dir, { recursive: true, force: true }); } };
    },
  },
  {
    name: 'postgres',
    available: Boolean(PG_URL),
    async open() {
      const schema = freshSchema();
      const db = await openPostgres(PG_URL!, { schema });
      return { db, schema, drop: async () => { await db.close(); await dropSchema(schema); } };
    },
  },
];

export const freshSchema = () => `reelay_t_${randomBytes(6).toString('hex')}`;

export async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`drop schema if exists ${schema} cascade`);
  } finally {
    await c.end();
  }
}
