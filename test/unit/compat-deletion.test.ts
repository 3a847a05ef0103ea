import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/infra/db/connect.ts';
import { dialects } from '../helpers/databases.ts';
import { migrateToLatest } from '../../src/infra/db/migrate.ts';
import { tasksRepo, type NewTask, type TasksRepo } from '../../src/infra/db/tasks-repo.ts';
import { keysRepo } from '../../src/infra/db/keys-repo.ts';
import { createTaskDeletion, type TaskDeletionDeps } from '../../src/domain/task-deletion.ts';
import { errors, type ApiError } from '../../src/domain/errors.ts';
import type { TaskObject } from '../../src/domain/task-schemas.ts';

function newTask(id: string, keyId = 'key_a'): NewTask {
  return {
    id, key_id: keyId, model: 'veo-2.0-generate-001', provider: 'local', status: 'queued', progress: 0, prompt: 'p',
    negative_prompt: null, aspect_ratio: '16:9', seconds: 5, size: '720p', width: 1280, height: 720, seed: null,
    generate_audio: 0, off_peak: 0, is_rec: 0, callback_url: null, options_json: '{}', input_keys: '[]',
    credits_reserved: 0, credits_charged: 0, credits_refunded: 0, created_at: 1, idempotency_key: null, request_hash: null, optimized_prompt: null,
  };
}

/** deleted_at on the real schema: the same suite on SQLite and (when configured) PostgreSQL. */
for (const dialect of dialects) {
  describe.skipIf(!dialect.available)(`markDeleted on ${dialect.name}`, () => {
    let db: Db;
    let drop: () => Promise<void>;
    let repo: TasksRepo;
    beforeEach(async () => {
      let schema: string | undefined;
      ({ db, drop, schema } = await dialect.open());
      await migrateToLatest(db.kysely, schema);
      for (const k of ['key_a', 'key_b']) {
        await keysRepo(db.kysely).insert({ id: k, name: k, key_hash: k, key_prefix: 'p', webhook_secret: 'w', created_at: 0, revoked_at: null });
      }
      repo = tasksRepo(db.kysely, db.dialect);
    });
    afterEach(async () => { await drop(); });

    it('hides an ended task from find and list, once, for its own key only; active tasks are refused', async () => {
      await repo.insert(newTask('t1'));
      await repo.insert(newTask('t2'));
      expect(await repo.markDeleted('t1', 'key_a', 10)).toBe(false); // still queued
      await repo.cancel('t1', 'key_a', 5, 'cancelled', 'c');
      expect(await repo.markDeleted('t1', 'key_b', 10)).toBe(false); // not that key's
      expect(await repo.markDeleted('t1', 'key_a', 10)).toBe(true);
      expect(await repo.markDeleted('t1', 'key_a', 11)).toBe(false); // already deleted
      expect(await repo.find('t1')).toBeUndefined();
      expect(await repo.find('t1', 'key_a')).toBeUndefined();
      expect((await repo.list({ keyId: 'key_a', limit: 10 })).map((r) => r.id)).toEqual(['t2']);
      expect((await repo.find('t2'))?.deleted_at).toBeNull();
    });
  });
}

describe('task deletion', () => {
  const actor = { keyId: 'key_a' };
  function fake(status: TaskObject['status'], over: Partial<TaskDeletionDeps> = {}) {
    const calls: string[] = [];
    const deps: TaskDeletionDeps = {
      repo: {
        find: async () => undefined,
        markDeleted: async (id) => { calls.push(`mark ${id}`); return true; },
      },
      blobs: { deletePrefix: async (p) => { calls.push(`rm ${p}`); } },
      tasks: {
        get: async (_a, id) => ({ id, status } as TaskObject),
        cancel: async (_a, id) => { calls.push(`cancel ${id}`); return { id, status: 'cancelled' } as TaskObject; },
        invalidate: (id) => { calls.push(`invalidate ${id}`); },
      },
      now: () => 42,
      ...over,
    };
    return { deps, calls, deletion: createTaskDeletion(deps) };
  }

  it('cancels an active task, hides it, then removes its files', async () => {
    const { calls, deletion } = fake('processing');
    expect(await deletion.delete(actor, 't1')).toEqual({ id: 't1' });
    expect(calls).toEqual(['cancel t1', 'mark t1', 'invalidate t1', 'rm outputs/t1/', 'rm inputs/t1/']);
  });

  it('does not cancel an ended task; a task that ended meanwhile (409 on cancel) is still deleted', async () => {
    const ended = fake('succeeded');
    await ended.deletion.delete(actor, 't1');
    expect(ended.calls[0]).toBe('mark t1');

    const raced = fake('queued');
    raced.deps.tasks.cancel = async () => { throw errors.conflict('task_not_cancellable', 'ended'); };
    await raced.deletion.delete(actor, 't1');
    expect(raced.calls).toContain('mark t1');
  });

  it('a concurrent delete that won makes this one a 404; an unknown task is the service\'s 404', async () => {
    const lost = fake('failed');
    lost.deps.repo.markDeleted = async () => false;
    const e = (await lost.deletion.delete(actor, 't1').catch((x: unknown) => x)) as ApiError;
    expect(e.status).toBe(404);
    expect(lost.calls.some((c) => c.startsWith('rm'))).toBe(false);

    const unknown = fake('failed');
    unknown.deps.tasks.get = async () => { throw errors.notFound('task', 'x', 'task_id'); };
    expect(((await unknown.deletion.delete(actor, 'x').catch((x: unknown) => x)) as ApiError).status).toBe(404);
  });

  it('a file store failure is reported, not thrown: the task is deleted either way', async () => {
    const seen: string[] = [];
    const { deletion } = fake('failed', {
      blobs: { deletePrefix: async () => { throw new Error('s3 down'); } },
      onBlobError: (id, err) => seen.push(`${id}: ${(err as Error).message}`),
    });
    expect(await deletion.delete(actor, 't1')).toEqual({ id: 't1' });
    expect(seen).toEqual(['t1: s3 down', 't1: s3 down']);
  });
});
