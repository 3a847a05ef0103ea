import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLifecycle } from '../../src/domain/task-lifecycle.ts';
import type { MaintenanceRun } from '../../src/worker/maintenance.ts';
import { makeImage, dataUri } from '../helpers/images.ts';
import { capturingRepo, sqlitePlan } from '../helpers/query-plan.ts';
import { storedTask } from '../helpers/stored-task.ts';
import { startServer, waitFor, waitForTask, type TaskJson, type TestServer } from '../helpers/server.ts';

// Reelay's interface (src/app.ts) types runMaintenance() as it was before this sweep; the run reports the sweep too.
const maintain = async (s: TestServer) => (await s.app.runMaintenance()) as MaintenanceRun;

const body = (img: string, extra: Record<string, unknown> = {}) =>
  ({ model: 'veo-3.0-fast-generate-001', prompt: 'push in', aspect_ratio: '16:9', seconds: 4, images: [img], ...extra });

describe('an ended task keeps no files it does not need', () => {
  let s: TestServer;
  let img: string;
  let clock = Date.now();
  beforeAll(async () => {
    img = dataUri(await makeImage(320, 180));
    // API role: nothing renders unless a test says so, and the test drives the clock.
    s = await startServer({ REELAY_ROLE: 'api' }, { now: () => clock });
  });
  afterAll(async () => { await s?.close(); });

  async function submitted(): Promise<{ id: string; inputs: string[] }> {
    const res = await s.api('/v1/video/generations', { method: 'POST', json: body(img) });
    expect(res.status).toBe(200);
    const id = ((await res.json()) as TaskJson).id;
    const inputs = JSON.parse((await s.app.store.tasks.find(id))!.input_keys) as string[];
    for (const k of inputs) expect(await s.app.blobs.stat(k)).toBeDefined();
    return { id, inputs };
  }
  const gone = async (keys: string[]) => (await Promise.all(keys.map((k) => s.app.blobs.stat(k)))).every((x) => x === undefined);

  it('a cancel removes the inputs at once, and the task records that they are gone', async () => {
    const { id, inputs } = await submitted();
    expect(inputs).toHaveLength(1);
    expect((await s.api(`/v1/video/generations/${id}/cancel`, { method: 'POST' })).status).toBe(200);
    await waitFor(() => gone(inputs), 5000, 10);
    await waitFor(async () => (await s.app.store.tasks.find(id))!.input_keys === '[]', 5000, 10);
  });

  it('a failure removes the inputs and any output a render left; a success keeps its output and drops its inputs', async () => {
    const failed = await submitted();
    const claimed = await s.app.store.tasks.claimNext('w-test', clock, 60_000);
    expect(claimed?.id).toBe(failed.id);
    await s.app.blobs.put(`outputs/${failed.id}/video.mp4`, Buffer.from('partial'), 'video/mp4');
    expect(await s.app.lifecycle.fail(failed.id, 'w-test', clock, 'render_failed', 'test')).toBeDefined();
    await waitFor(() => gone([...failed.inputs, `outputs/${failed.id}/video.mp4`]), 5000, 10);

    const ok = await submitted();
    expect((await s.app.store.tasks.claimNext('w-test', clock, 60_000))?.id).toBe(ok.id);
    const out = { outputKey: `outputs/${ok.id}/video.mp4`, thumbnailKey: `outputs/${ok.id}/thumbnail.jpg` };
    await s.app.blobs.put(out.outputKey, Buffer.from('video'), 'video/mp4');
    await s.app.blobs.put(out.thumbnailKey, Buffer.from('jpeg'), 'image/jpeg');
    expect(await s.app.lifecycle.complete(ok.id, 'w-test', clock, { ...out, metadataJson: '{}', expiresAt: clock + 3600_000 })).toBeDefined();
    await waitFor(() => gone(ok.inputs), 5000, 10);
    expect(await s.app.blobs.stat(out.outputKey)).toBeDefined();
    expect(await s.app.blobs.stat(out.thumbnailKey)).toBeDefined();
  });

  it('maintenance removes what an ending interrupted by a crash left, once, and never touches an active task', async () => {
    const active = await submitted();
    const crashed = await submitted();
    // The ending commits but its process dies before removing files: an ending with no after-commit hook.
    expect(await createLifecycle(s.app.store).cancel(crashed.id, null, clock, 'cancelled', 'test')).toBeDefined();
    expect(await gone(crashed.inputs)).toBe(false);
    // Within the grace the ending's own removal may still be under way: left alone.
    expect((await maintain(s)).endedFilesRemoved).toBe(0);
    clock += 61_000;
    const run = await maintain(s);
    expect(run.endedFilesRemoved).toBe(1);
    expect(await gone(crashed.inputs)).toBe(true);
    expect((await s.app.store.tasks.find(crashed.id))!.input_keys).toBe('[]');
    expect((await maintain(s)).endedFilesRemoved).toBe(0);
    for (const k of active.inputs) expect(await s.app.blobs.stat(k)).toBeDefined();
  });

  it('the sweep reads only the tasks it cleans: SQLite searches the partial index', async () => {
    const { repo, last } = capturingRepo(s.app.store.db.kysely, 'sqlite');
    await repo.endedWithFiles(clock);
    expect((await sqlitePlan(s.app.store.db.kysely, last())).join('\n')).toMatch(/^SEARCH tasks USING INDEX tasks_files_left \(completed_at<\?\)$/);
  });
});

describe('an Idempotency-Key whose task was deleted', () => {
  let s: TestServer;
  let img: string;
  beforeAll(async () => {
    img = dataUri(await makeImage(320, 180));
    s = await startServer({ REELAY_ROLE: 'api' });
  });
  afterAll(async () => { await s?.close(); });

  it('is refused with 409 idempotency_key_deleted: the deleted task stays gone and no second task is made', async () => {
    const headers = { 'idempotency-key': 'idem-deleted-1' };
    const first = await s.api('/v1/video/generations', { method: 'POST', headers, json: body(img) });
    expect(first.status).toBe(200);
    const id = ((await first.json()) as TaskJson).id;
    expect((await s.api(`/v1/videos/${id}`, { method: 'DELETE' })).status).toBe(200);

    const replay = await s.api('/v1/video/generations', { method: 'POST', headers, json: body(img) });
    expect(replay.status).toBe(409);
    const err = ((await replay.json()) as { error: { code: string; message: string } }).error;
    expect(err.code).toBe('idempotency_key_deleted');
    expect(err.message).toContain(id);
    expect((await s.api(`/v1/video/generations/${id}`)).status).toBe(404);
    const list = (await (await s.api('/v1/video/generations')).json()) as { data: TaskJson[] };
    expect(list.data.map((t) => t.id)).not.toContain(id);
    expect(list.data).toHaveLength(0);
  });
});

describe('listing oldest first (GET /v1/videos?order=asc)', () => {
  let s: TestServer;
  let keyId: string;
  let auth: { authorization: string };
  const expected: { id: string; created_at: number }[] = [];
  beforeAll(async () => {
    s = await startServer({ REELAY_ROLE: 'api' });
    const k = await s.app.keys.create('lister');
    keyId = k.id;
    auth = { authorization: `Bearer ${k.key}` };
    // Ties on created_at (several tasks in one millisecond) are ordered by id, across page boundaries too.
    const t0 = Date.now() - 1_000_000;
    for (let i = 0; i < 23; i++) {
      const t = storedTask(keyId, t0 + Math.floor(i / 4) * 1000);
      await s.app.store.tasks.insert(t);
      expected.push({ id: t.id, created_at: t.created_at });
    }
    expected.sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    // Another key's tasks in between: never listed.
    await s.app.store.tasks.insert(storedTask((await s.app.keys.create('other')).id, t0 + 1500));
  });
  afterAll(async () => { await s?.close(); });

  async function walk(order: 'asc' | 'desc', limit: number): Promise<string[]> {
    const seen: string[] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 50; guard++) {
      const res = await fetch(`${s.base}/v1/videos?order=${order}&limit=${limit}${after ? `&after=${after}` : ''}`, { headers: auth });
      expect(res.status).toBe(200);
      const page = (await res.json()) as { data: { id: string }[]; has_more: boolean; first_id: string | null; last_id: string | null };
      expect(page.first_id).toBe(page.data[0]?.id ?? null);
      expect(page.last_id).toBe(page.data.at(-1)?.id ?? null);
      seen.push(...page.data.map((v) => v.id));
      if (!page.has_more) break;
      after = page.last_id;
    }
    return seen;
  }

  it('pages through every task once, in (created_at, id) order, both ways', async () => {
    const ids = expected.map((t) => t.id);
    for (const limit of [1, 3, 4, 5, 100]) {
      expect(await walk('asc', limit)).toEqual(ids);
      expect(await walk('desc', limit)).toEqual([...ids].reverse());
    }
  });

  it('seeks the index to the cursor instead of reading the tasks before it', async () => {
    const { repo, last } = capturingRepo(s.app.store.db.kysely, 'sqlite');
    const mid = expected[10]!;
    for (const order of ['asc', 'desc'] as const) {
      const rows = await repo.list({ keyId, limit: 3, order, after: { createdAt: mid.created_at, id: mid.id } });
      const i = order === 'asc' ? 11 : 9;
      expect(rows.map((r) => r.id)).toEqual((order === 'asc' ? expected.slice(i, i + 3) : expected.slice(i - 2, i + 1).reverse()).map((t) => t.id));
      const plan = (await sqlitePlan(s.app.store.db.kysely, last())).join('\n');
      expect(plan).toMatch(new RegExp(`SEARCH tasks USING INDEX tasks_key_created \\(key_id=\\? AND created_at${order === 'asc' ? '>' : '<'}\\?\\)`));
      // The index's order is the listing's: no sort of everything the key has.
      expect(plan).not.toMatch(/TEMP B-TREE/);
    }
  });
});

describe('a task rendered by the worker', () => {
  let s: TestServer;
  beforeAll(async () => { s = await startServer(); });
  afterAll(async () => { await s?.close(); });

  it('a task that succeeds through the worker keeps its video and drops its inputs', async () => {
    const res = await s.api('/v1/video/generations', { method: 'POST', json: body(dataUri(await makeImage(320, 180))) });
    const id = ((await res.json()) as TaskJson).id;
    const inputs = JSON.parse((await s.app.store.tasks.find(id))!.input_keys) as string[];
    const { task } = await waitForTask(s, id);
    expect(task.status).toBe('succeeded');
    await waitFor(async () => (await Promise.all(inputs.map((k) => s.app.blobs.stat(k)))).every((x) => x === undefined), 5000, 10);
    expect((await fetch(task.url!)).status).toBe(200);
  });
});
