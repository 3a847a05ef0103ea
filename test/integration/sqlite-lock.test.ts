// Issue 19 §5: a SQLite lock held by another process must not freeze the server. The waits for
// it happen off the event loop: liveness answers while the lock is held, a submit that can wait
// it out succeeds once it is released, and submits that cannot all get their 503 within
// REELAY_SQLITE_BUSY_TIMEOUT_MS of asking — not one budget after another.
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { makeImage, dataUri } from '../helpers/images.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/**
 * Another process takes SQLite's write lock on `file` and holds it until told to let go (`release()`),
 * or on its own after `maxMs`. Which one happened is the verdict: a server whose event loop is frozen
 * by the lock cannot answer anything until the holder gives up on its own.
 */
async function holdLock(file: string, maxMs: number) {
  const child = spawn(process.execPath, ['-e', `
    const db = new (require('better-sqlite3'))(process.argv[1]);
    db.exec('BEGIN IMMEDIATE'); console.log('locked');
    const end = (why) => { db.exec('COMMIT'); db.close(); console.log(why); process.exit(0); };
    const timer = setTimeout(() => end('timeout'), ${maxMs});
    process.stdin.once('data', () => { clearTimeout(timer); end('asked'); });`, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  await new Promise<void>((r) => child.stdout.on('data', (d: string) => { out += d; if (out.includes('locked')) r(); }));
  const released = new Promise<string>((r) => child.once('exit', () => r(out.includes('asked') ? 'asked' : 'timeout')));
  return {
    released,
    release() {
      child.stdin.end('release\n');
      return released;
    },
  };
}

describe('a SQLite lock held by another process', () => {
  let s: TestServer | undefined;
  afterEach(async () => { await s?.close(); s = undefined; });

  const body = async () => ({ model: 'veo-2.0-generate-001', prompt: 'x', aspect_ratio: '16:9', images: [dataUri(await makeImage(64, 36))] });

  it('liveness keeps answering while a write waits for the lock; the write then succeeds', async () => {
    s = await startServer({ REELAY_ROLE: 'api', REELAY_SQLITE_BUSY_TIMEOUT_MS: '20000' });
    const keyId = (await s.app.keys.list())[0]!.id;
    const lock = await holdLock(s.app.config.databaseFile, 4000);
    // A grant is a write transaction. Started before any request is sent (a promise chain with no
    // I/O reaches the database at once), it is already waiting for the lock when /healthz is asked:
    // a wait inside the SQLite call would hold this very process — /healthz and the release with it.
    let granted = false;
    const grant = s.app.credits.grant(keyId, 5, 'during a foreign lock').then((b) => { granted = true; return b; });
    for (let i = 0; i < 3; i++) expect((await fetch(`${s.base}/healthz`)).status).toBe(200);
    expect(granted).toBe(false);
    // All three answered while the lock was still held: we let go only now, not the holder on its own.
    expect(await lock.release()).toBe('asked');
    expect(await grant).toBe(10_000_005);
  });

  it('submits that cannot wait long enough all get 503 + Retry-After within the budget, while the lock is held', async () => {
    s = await startServer({ REELAY_ROLE: 'api', REELAY_SQLITE_BUSY_TIMEOUT_MS: '500' });
    const json = await body();
    expect((await s.api('/v1/video/generations', { method: 'POST', json })).status).toBe(200);

    // Eight at once. Waited for one after another (the old synchronous busy_timeout), they would
    // take 8 × 500 ms: the holder would give up first, and the later ones would succeed late.
    const lock = await holdLock(s.app.config.databaseFile, 2500);
    const blocked = await Promise.all(Array.from({ length: 8 }, () => s!.api('/v1/video/generations', { method: 'POST', json })));
    // Reads are not writes: WAL lets them through while the lock is held.
    const polled = await s.api('/v1/video/generations?limit=1');
    expect(await lock.release()).toBe('asked');
    for (const r of blocked) {
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('1');
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('service_unavailable');
    }
    expect(polled.status).toBe(200);
    expect((await s.api('/v1/video/generations', { method: 'POST', json })).status).toBe(200);
  });
});
