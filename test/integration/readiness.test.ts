// Issue 19 §4 and §10: /readyz (no auth) used to spawn `ffmpeg -version` and `ffprobe -version` for every
// request, and said "ready" with a full disk or a corrupt database. Now each check is cached for a few
// seconds and refreshed single-flight, and the checks are real: free space where Reelay writes, and the
// database file opened afresh and checked for integrity.
import { chmod, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.ts';

type Ready = { status: string; checks: Record<string, { ok: boolean; detail?: string }> };
const readyz = async (s: TestServer) => {
  const r = await fetch(`${s.base}/readyz`);
  return { status: r.status, body: (await r.json()) as Ready };
};

describe('readiness', () => {
  let dir: string;
  let ffmpeg: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reelay-ready-'));
    // An ffmpeg that counts its runs, then is the real one.
    ffmpeg = join(dir, 'ffmpeg');
    await writeFile(ffmpeg, `#!/bin/sh\necho run >> "$0.runs"\nexec ${process.env.FFMPEG_PATH ?? 'ffmpeg'} "$@"\n`);
    await chmod(ffmpeg, 0o755);
  });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });
  const runs = async () => (await readFile(`${ffmpeg}.runs`, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;

  it('200 concurrent /readyz run each check once; the results are refreshed once they are old', async () => {
    let skew = 0;
    const s = await startServer({ REELAY_ROLE: 'api', FFMPEG_PATH: ffmpeg }, { now: () => Date.now() + skew });
    try {
      const answers = await Promise.all(Array.from({ length: 200 }, () => readyz(s)));
      expect(answers.every((a) => a.status === 200 && a.body.status === 'ready')).toBe(true);
      expect(answers[0]!.body.checks).toMatchObject({ database: { ok: true }, disk: { ok: true }, ffmpeg: { ok: true } });
      expect(await runs()).toBe(1);
      expect((await readyz(s)).status).toBe(200);
      expect(await runs()).toBe(1);
      // A minute later (the test's clock), the next request refreshes them — once, for all who ask.
      skew += 61_000;
      await Promise.all(Array.from({ length: 20 }, () => readyz(s)));
      expect(await runs()).toBe(2);
    } finally {
      await s.close();
    }
  });

  it('too little free disk space where Reelay writes: 503, saying which directory and how much is needed', async () => {
    const s = await startServer({ REELAY_ROLE: 'api', REELAY_MIN_FREE_DISK_MB: '100000000' });
    try {
      const { status, body } = await readyz(s);
      expect(status).toBe(503);
      expect(body.status).toBe('not_ready');
      expect(body.checks.disk!.ok).toBe(false);
      // An API node spools multipart uploads to its scratch directory, so that is watched too.
      expect(body.checks.disk!.detail).toMatch(/the data directory has \d+ MB free; the scratch directory has \d+ MB free; at least 100000000 MB must be free \(REELAY_MIN_FREE_DISK_MB\)/);
      expect(body.checks.disk!.detail).not.toContain(s.dataDir);
      expect(body.checks.database!.ok).toBe(true);
    } finally {
      await s.close();
    }
  });

  it('a database file corrupted under a running server: 503 once the check is refreshed', async () => {
    let skew = 0;
    const s = await startServer({ REELAY_ROLE: 'api' }, { now: () => Date.now() + skew });
    const file = s.app.config.databaseFile;
    const header = Buffer.alloc(16);
    const fh = await open(file, 'r+');
    try {
      expect((await readyz(s)).status).toBe(200);
      // Everything in the main file (not in the WAL, which would mask page 1), then break its header.
      await sql`pragma wal_checkpoint(truncate)`.execute(s.app.store.db.kysely);
      await fh.read(header, 0, 16, 0);
      await fh.write(Buffer.from('not a database!!'), 0, 16, 0);
      // The file is read once a minute (a check of every page costs in proportion to it): a minute later, it is.
      skew += 30_000;
      expect((await readyz(s)).status).toBe(200);
      skew += 31_000;
      const { status, body } = await readyz(s);
      expect(status).toBe(503);
      expect(body.checks.database).toEqual({ ok: false, detail: expect.stringMatching(/not a database/) });
      expect(body.checks.database!.detail).not.toContain(file);
    } finally {
      await fh.write(header, 0, 16, 0);
      await fh.close();
      await s.close();
    }
  });
});
