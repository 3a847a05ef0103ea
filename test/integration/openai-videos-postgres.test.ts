// Slot reservations across processes: several worker nodes share one PostgreSQL database, and a self-hosted server
// still never gets more jobs than its maxConcurrent (issue 17). Also the repository's race, on both dialects.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, type Db } from '../../src/infra/db/connect.ts';
import { migrateToLatest } from '../../src/infra/db/migrate.ts';
import { keysRepo } from '../../src/infra/db/keys-repo.ts';
import { tasksRepo, type NewTask } from '../../src/infra/db/tasks-repo.ts';
import { startGpuServer, type GpuServer } from '../fakes/openai-videos.ts';
import { dialects, dropSchema, freshSchema, PG_URL } from '../helpers/databases.ts';
import { startServer, waitForTask, type TestServer } from '../helpers/server.ts';
import { submit, type UpstreamTask } from '../helpers/upstream.ts';

const CATALOG = fileURLToPath(new URL('../../docs/examples/self-hosted-catalog.json', import.meta.url));

const task = (id: string, createdAt: number): NewTask => ({
  id, key_id: 'key_a', model: 'wan2.2-i2v-a14b', provider: 'openai-videos', status: 'queued', progress: 0, prompt: 'p',
  negative_prompt: null, aspect_ratio: '16:9', seconds: 2, size: '480p', width: 832, height: 480, seed: null,
  generate_audio: 0, off_peak: 0, is_rec: 0, callback_url: null, options_json: '{}', input_keys: '[]',
  credits_reserved: 0, credits_charged: 0, credits_refunded: 0, created_at: createdAt, idempotency_key: null, request_hash: null, optimized_prompt: null,
});

for (const dialect of dialects) {
  describe.skipIf(!dialect.available)(`slot reservations on ${dialect.name}`, () => {
    const opened: { drop(): Promise<void> }[] = [];
    afterEach(async () => { for (const o of opened.splice(0)) await o.drop(); });

    it('twelve workers race for a two-slot server from two connections: exactly two win; a lapsed reservation holds nothing', async () => {
      const first = await dialect.open();
      opened.push(first);
      await migrateToLatest(first.db.kysely, first.schema);
      // A second pool on the same database: another node.
      const second: Db = first.schema ? await openPostgres(PG_URL!, { schema: first.schema }) : first.db;
      if (first.schema) opened.unshift({ drop: () => second.close() });
      await keysRepo(first.db.kysely).insert({ id: 'key_a', name: 'a', key_hash: 'h', key_prefix: 'p', webhook_secret: 'w', created_at: 0, revoked_at: null });
      const repos = [tasksRepo(first.db.kysely, first.db.dialect), tasksRepo(second.kysely, second.dialect)];
      for (let i = 0; i < 12; i++) await repos[0]!.insert(task(`t${i}`, i));
      const claimed = await Promise.all(Array.from({ length: 12 }, (_, i) => repos[i % 2]!.claimNext(`w${i}`, 100, 10_000)));
      const won = await Promise.all(claimed.map((row, i) => repos[i % 2]!.reserveSlot(row!.id, `w${i}`, 'gpu', 2, 100)));
      expect(won.filter(Boolean)).toHaveLength(2);
      expect(await repos[0]!.slotsInUse(['gpu'], 100)).toEqual({ gpu: 2 });
      // Once the reserving workers' leases lapse (they died), the slots are free again.
      expect(await repos[1]!.slotsInUse(['gpu'], 20_000)).toEqual({});
      // A task that waits: its attempt is not counted and it is queued again, held until its time or a wake.
      const loser = claimed[won.indexOf(false)]!;
      const w = `w${claimed.indexOf(loser)}`;
      expect(await repos[0]!.waitForSlot(loser.id, w, 'wan2.2-i2v-a14b', 5000, 100)).toBe(true);
      const waiting = await repos[0]!.find(loser.id);
      expect(waiting).toMatchObject({ status: 'queued', attempts: 0, started_at: null, upstream_not_before: 5000, upstream_channel: null });
      expect(await repos[0]!.wakeWaiting(['wan2.2-i2v-a14b'])).toBeGreaterThan(0);
      expect((await repos[0]!.find(loser.id))!.upstream_not_before).toBeNull();
    });
  });
}

describe.skipIf(!PG_URL)('two worker nodes on PostgreSQL share one two-GPU server', () => {
  const schema = freshSchema();
  let shared: string;
  let g: GpuServer;
  let nodes: TestServer[] = [];
  beforeAll(async () => {
    g = await startGpuServer({ dialect: 'vllm-omni', model: 'Wan-AI/Wan2.2-I2V-A14B-Diffusers', slots: 2, jobMs: 250 });
    shared = await mkdtemp(join(tmpdir(), 'reelay-pg-gpu-'));
    const env = {
      DATABASE_URL: PG_URL ?? '', DATABASE_SCHEMA: schema, REELAY_DATA_DIR: shared, REELAY_CATALOG: CATALOG, REELAY_WORKER_CONCURRENCY: '3',
      REELAY_UPSTREAM_CHANNELS: JSON.stringify([{ name: 'gpu', provider: 'openai-videos', dialect: 'vllm-omni', baseUrl: g.baseUrl,
        models: ['wan2.2-i2v-a14b'], maxConcurrent: 2, pollMs: 40 }]),
    };
    nodes = [await startServer(env), await startServer(env)];
  });
  afterAll(async () => {
    for (const n of nodes) await n.close();
    await g?.close();
    await dropSchema(schema);
    await rm(shared, { recursive: true, force: true });
  });

  it('ten tasks submitted on both nodes: never more than two jobs on the server, never a 503, every task done on its first attempt', async () => {
    const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => submit(nodes[i % 2]!, { model: 'wan2.2-i2v-a14b', seconds: 2, size: '480p' }).then((id) => ({ id, node: nodes[i % 2]! }))));
    const tasks = await Promise.all(ids.map(async ({ id, node }) => (await waitForTask(node, id, 60_000)).task as UpstreamTask));
    expect(tasks.map((t) => t.status)).toEqual(Array(10).fill('succeeded'));
    expect(g.maxRunning).toBe(2);
    expect(g.busyAnswers).toBe(0);
    expect(g.created).toHaveLength(10);
    for (const { id, node } of ids) expect(Number((await node.app.store.tasks.find(id))!.attempts)).toBe(1);
  });
});
