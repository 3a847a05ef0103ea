import { sql, type Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/infra/db/connect.ts';
import { MIGRATIONS, MigrationError, migrateToLatest, type Migration } from '../../src/infra/db/migrate.ts';
import { dialects, PG_SKIP_REASON } from '../helpers/databases.ts';

const createTable = (name: string): Migration => ({ up: async (db) => { await db.schema.createTable(name).addColumn('id', 'integer').execute(); } });

async function tables(db: Db, schema?: string): Promise<string[]> {
  const r = db.dialect === 'sqlite'
    ? await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`.execute(db.kysely)
    : await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = ${schema} order by table_name`.execute(db.kysely);
  return r.rows.map((x) => x.name);
}

const applied = async (db: Kysely<any>, schema?: string) =>
  (await sql<{ name: string }>`select name from ${sql.table(schema ? `${schema}.reelay_migrations` : 'reelay_migrations')} order by name`.execute(db)).rows.map((r) => r.name);

for (const dialect of dialects) {
  describe.skipIf(!dialect.available)(`migrations on ${dialect.name}${dialect.available ? '' : ` (${PG_SKIP_REASON})`}`, () => {
    let db: Db;
    let schema: string | undefined;
    let drop: () => Promise<void>;
    beforeEach(async () => { ({ db, schema, drop } = await dialect.open()); });
    afterEach(async () => { await drop(); });

    it('apply in order, once; a second run is a no-op', async () => {
      expect(await migrateToLatest(db.kysely, schema)).toEqual(Object.keys(MIGRATIONS).sort());
      expect(await migrateToLatest(db.kysely, schema)).toEqual([]);
    });

    it('a failing migration leaves the schema and the migration table exactly as they were; earlier ones stay applied', async () => {
      const failing: Migration = {
        async up(trx) {
          await trx.schema.createTable('half_done').addColumn('id', 'integer').execute();
          await trx.schema.alterTable('first').addColumn('extra', 'text').execute();
          throw new Error('boom in the middle');
        },
      };
      await expect(migrateToLatest(db.kysely, schema, { '0001_first': createTable('first'), '0002_failing': failing, '0003_after': createTable('after') }))
        .rejects.toThrow(MigrationError);
      expect(await applied(db.kysely, schema)).toEqual(['0001_first']);
      expect(await tables(db, schema)).toEqual(['first', 'reelay_migrations']);
      const cols = db.dialect === 'sqlite'
        ? (await sql<{ name: string }>`select name from pragma_table_info('first')`.execute(db.kysely)).rows.map((r) => r.name)
        : (await sql<{ name: string }>`select column_name as name from information_schema.columns where table_schema = ${schema} and table_name = 'first'`.execute(db.kysely)).rows.map((r) => r.name);
      expect(cols).toEqual(['id']);
      // Fixed, it runs from where it stopped.
      expect(await migrateToLatest(db.kysely, schema, { '0001_first': createTable('first'), '0002_failing': createTable('fixed'), '0003_after': createTable('after') }))
        .toEqual(['0002_failing', '0003_after']);
    });

    it('refuses a database migrated by a newer Reelay', async () => {
      await migrateToLatest(db.kysely, schema, { '0001_first': createTable('first'), '0002_newer': createTable('newer') });
      await expect(migrateToLatest(db.kysely, schema, { '0001_first': createTable('first') })).rejects.toThrow(/newer Reelay.*0002_newer/);
    });

    it('two migrators at once apply each migration exactly once', async () => {
      const runs: string[] = [];
      const counted = (name: string): Migration => ({ up: async (trx) => { runs.push(name); await createTable(name).up(trx); } });
      const set = { '0001_a': counted('a'), '0002_b': counted('b') };
      const [x, y] = await Promise.all([migrateToLatest(db.kysely, schema, set), migrateToLatest(db.kysely, schema, set)]);
      expect([...x, ...y].sort()).toEqual(['0001_a', '0002_b']);
      expect(runs.sort()).toEqual(['a', 'b']);
    });
  });
}
