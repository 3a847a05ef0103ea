import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage, dataUri } from '../helpers/images.ts';
import { startServer, waitForTask, type TaskJson, type TestServer } from '../helpers/server.ts';

describe('faults', () => {
  let s: TestServer;
  let diskFull = false;
  beforeAll(async () => {
    s = await startServer({}, {
      // A disk that fills up while the render is being stored.
      wrapBlobs: (b) => ({
        ...b,
        putFile: async (key, path, type) => {
          if (diskFull) throw Object.assign(new Error(`ENOSPC: no space left on device, write '${path}'`), { code: 'ENOSPC' });
          return b.putFile(key, path, type);
        },
      }),
    });
  });
  afterAll(async () => { await s?.close(); });

  const submit = async () => {
    const res = await s.api('/v1/video/generations', { method: 'POST', json: { model: 'veo-2.0-generate-001', prompt: 'x', aspect_ratio: '16:9', images: [dataUri(await makeImage(160, 90))] } });
    return (await res.json()) as TaskJson & { credits: { reserved: number; refunded: number } };
  };

  it('disk full while storing the video: the task fails with storage_full and a refund, the server stays healthy', async () => {
    diskFull = true;
    const t = await submit();
    const { task } = await waitForTask(s, t.id);
    expect(task.status).toBe('failed');
    expect(task.error?.code).toBe('storage_full');
    expect(task.error?.message).not.toMatch(/ENOSPC|\/tmp|write '/);
    expect(task.credits).toEqual({ reserved: t.credits.reserved, charged: 0, refunded: t.credits.reserved });
    expect((await fetch(`${s.base}/readyz`)).status).toBe(200);

    diskFull = false;
    const ok = await submit();
    expect((await waitForTask(s, ok.id)).task.status).toBe('succeeded');
  });

  it('a locked database: a short lock is waited out, a long one is a 503 with Retry-After (no 500), then service resumes', async () => {
    const busy = await startServer({ REELAY_ROLE: 'api', REELAY_SQLITE_BUSY_TIMEOUT_MS: '300' });
    // Another process holds SQLite's write lock for `ms`, then commits (it must be a separate
    // process: a blocked better-sqlite3 call in this one would also block the lock holder).
    const holdLock = async (ms: number) => {
      const child = spawn(process.execPath, ['-e', `
        const db = new (require('better-sqlite3'))(process.argv[1]);
        db.exec('BEGIN IMMEDIATE'); console.log('locked');
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${ms});
        db.exec('COMMIT'); db.close();`, busy.app.config.databaseFile], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((r) => child.stdout.once('data', () => r()));
      // Wrapped: an async function returning a bare promise would make the caller wait for the release.
      return { released: new Promise<void>((r) => child.once('exit', () => r())) };
    };
    try {
      const body = { model: 'veo-2.0-generate-001', prompt: 'x', aspect_ratio: '16:9', images: [dataUri(await makeImage(64, 36))] };
      // Held briefly: the submit waits and succeeds.
      let lock = await holdLock(100);
      expect((await busy.api('/v1/video/generations', { method: 'POST', json: body })).status).toBe(200);
      await lock.released;
      // Held past the busy timeout: a clear 503 asking for a retry.
      lock = await holdLock(1500);
      const blocked = await Promise.all(Array.from({ length: 3 }, () => busy.api('/v1/video/generations', { method: 'POST', json: body })));
      await lock.released;
      for (const r of blocked) {
        expect(r.status).toBe(503);
        expect(r.headers.get('retry-after')).toBe('1');
        expect(((await r.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'service_unavailable' });
      }
      expect((await busy.api('/v1/video/generations', { method: 'POST', json: body })).status).toBe(200);
      const books = await busy.app.store.ledger.sumOfEntries((await busy.app.store.keys.list())[0]!.id);
      expect(books).toBe(await busy.app.store.ledger.balance((await busy.app.store.keys.list())[0]!.id));
    } finally {
      await busy.close();
    }
  });
});
