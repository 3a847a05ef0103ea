import { CompiledQuery, type Kysely, type KyselyPlugin } from 'kysely';
import type { Database } from '../../src/infra/db/schema.ts';
import { tasksRepo } from '../../src/infra/db/tasks-repo.ts';
import type { Dialect } from '../../src/infra/db/connect.ts';

/**
 * The tasks repository over `db`, remembering the SQL it sends: a test runs a
 * real repository query, then asks the database how it executed exactly that
 * statement (EXPLAIN), instead of asserting on a copy of the query.
 */
export function capturingRepo(db: Kysely<Database>, dialect: Dialect) {
  const sent: CompiledQuery[] = [];
  const plugin: KyselyPlugin = {
    transformQuery: ({ node, queryId }) => {
      sent.push(db.getExecutor().compileQuery(node, queryId));
      return node;
    },
    transformResult: async ({ result }) => result,
  };
  return { repo: tasksRepo(db.withPlugin(plugin), dialect), last: () => sent.at(-1)! };
}

/** SQLite's plan of a statement, one line per step (e.g. `SEARCH tasks USING INDEX tasks_key_created (key_id=? AND created_at>?)`). */
export async function sqlitePlan(db: Kysely<Database>, q: CompiledQuery): Promise<string[]> {
  const r = await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${q.sql}`, [...q.parameters]));
  return r.rows.map((x) => x.detail);
}

interface PgNode {
  'Node Type': string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PgNode[];
}

/**
 * PostgreSQL's executed plan of a statement: every node type, the indexes
 * used, and the table rows the scans read (returned plus filtered out).
 */
export async function pgPlan(db: Kysely<Database>, q: CompiledQuery): Promise<{ nodes: string[]; indexes: string[]; rowsRead: number }> {
  const r = await db.executeQuery<{ 'QUERY PLAN': [{ Plan: PgNode }] }>(
    CompiledQuery.raw(`explain (analyze, format json) ${q.sql}`, [...q.parameters]));
  const nodes: string[] = [];
  const indexes: string[] = [];
  let rowsRead = 0;
  const walk = (n: PgNode) => {
    nodes.push(n['Node Type']);
    if (n['Index Name']) indexes.push(n['Index Name']);
    if (/Scan/.test(n['Node Type'])) rowsRead += ((n['Actual Rows'] ?? 0) + (n['Rows Removed by Filter'] ?? 0)) * (n['Actual Loops'] ?? 1);
    for (const c of n.Plans ?? []) walk(c);
  };
  walk(r.rows[0]!['QUERY PLAN'][0].Plan);
  return { nodes, indexes, rowsRead };
}
