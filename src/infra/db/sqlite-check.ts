import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface DbCheck {
  ok: boolean;
  detail?: string;
}

/**
 * Runs in a worker thread: a fresh read-only connection (so nothing is
 * answered from the server connection's page cache) opens the file and runs
 * quick_check, which reads every page. The check costs time in proportion to
 * the file, so it never runs on the event loop.
 */
const CHECK_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
let db;
try {
  db = new Database(workerData.file, { readonly: true, fileMustExist: true, timeout: workerData.busyMs });
  const rows = db.pragma('quick_check(5)');
  const problems = rows.map((r) => String(Object.values(r)[0])).filter((m) => m !== 'ok');
  parentPort.postMessage(problems.length ? { ok: false, detail: ('integrity check failed: ' + problems.join('; ')).slice(0, 300) } : { ok: true });
} catch (e) {
  parentPort.postMessage({ ok: false, detail: String(e && e.message || e).slice(0, 300) });
} finally {
  try { db && db.close(); } catch {}
}`;

const betterSqlite = createRequire(import.meta.url).resolve('better-sqlite3');

/** How long one integrity check may take before readiness calls it failed (a huge or wedged file). */
const CHECK_TIMEOUT_MS = 30_000;

/** Open `file` afresh and check its integrity, off the event loop. */
export function checkSqliteFile(file: string, busyMs: number): Promise<DbCheck> {
  if (file === ':memory:') return Promise.resolve({ ok: true });
  return new Promise((resolve) => {
    const worker = new Worker(CHECK_SOURCE, { eval: true, workerData: { module: betterSqlite, file, busyMs } });
    worker.unref(); // a check in flight never keeps a stopping process alive
    const done = (r: DbCheck) => {
      clearTimeout(timer);
      resolve(r);
      void worker.terminate();
    };
    const timer = setTimeout(() => done({ ok: false, detail: `integrity check did not finish in ${CHECK_TIMEOUT_MS / 1000} s` }), CHECK_TIMEOUT_MS);
    timer.unref();
    worker.once('message', (m: DbCheck) => done({ ok: Boolean(m.ok), ...(m.detail ? { detail: m.detail } : {}) }));
    worker.once('error', (e) => done({ ok: false, detail: `integrity check could not run: ${e.message}` }));
  });
}
