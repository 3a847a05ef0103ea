import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { createReelay, type Reelay, type ReelayOverrides } from '../../src/app.ts';
import { dropSchema, freshSchema } from './databases.ts';

export interface TestServer {
  app: Reelay;
  base: string;
  key: string;
  dataDir: string;
  /** fetch against the server with the test key (override with headers.authorization). */
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  newKey(name?: string): Promise<string>;
  close(): Promise<void>;
}

/** A real server on a loopback port with a real SQLite file and blob folder in a temp dir. */
export async function startServer(env: Record<string, string> = {}, overrides: ReelayOverrides = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'reelay-test-'));
  // On PostgreSQL each server gets its own schema, dropped on close.
  const ownSchema = env.DATABASE_URL && !env.DATABASE_SCHEMA ? freshSchema() : undefined;
  if (ownSchema) env = { ...env, DATABASE_SCHEMA: ownSchema };
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', REELAY_DATA_DIR: dataDir, REELAY_ALLOW_PRIVATE_URLS: '1',
    REELAY_WORKER_POLL_MS: '50', REELAY_WORKER_CONCURRENCY: '1', LOG_LEVEL: 'silent',
    // Limits have their own tests; elsewhere they would only get in the way.
    REELAY_MAX_ACTIVE_TASKS_PER_KEY: '100000', REELAY_RATE_LIMIT_PER_MINUTE: '10000000', REELAY_MAX_CONCURRENT_SUBMITS: '10000',
    REELAY_IMAGE_MEGAPIXELS_PER_MINUTE: '100000000', REELAY_SUBMIT_MEGABYTES_PER_MINUTE: '100000000', REELAY_PROBES_PER_SECOND: '1000000', REELAY_LIMIT_HOLD_MS: '0', ...env,
  });
  const app = await createReelay(config, { logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), ...overrides });
  const base = await app.listen();
  // Test keys start rich so billing never gets in the way of what a test is about.
  const grantKey = async (name: string) => {
    const k = await app.keys.create(name);
    await app.credits.grant(k.id, 10_000_000, 'test grant');
    return k.key;
  };
  const key = await grantKey('test');
  const api: TestServer['api'] = (path, init = {}) => {
    const { json, headers, ...rest } = init;
    const h = new Headers(headers);
    if (!h.has('authorization')) h.set('authorization', `Bearer ${key}`);
    if (json !== undefined) h.set('content-type', 'application/json');
    return fetch(`${base}${path}`, { ...rest, headers: h, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) });
  };
  return {
    app, base, key, dataDir, api,
    newKey: (name = 'other') => grantKey(name),
    async close() {
      await app.close(2000);
      await rm(dataDir, { recursive: true, force: true });
      if (ownSchema) await dropSchema(ownSchema);
    },
  };
}

export interface TaskJson {
  id: string;
  task_id: string;
  status: string;
  progress: number;
  url: string | null;
  thumbnail_url: string | null;
  metadata: { duration: number; fps: number; width: number; height: number; seed: number; has_audio: boolean } | null;
  error: { code: string; message: string } | null;
  [k: string]: unknown;
}

/** Poll until the task ends (or the timeout), returning every progress value seen. */
export async function waitForTask(s: TestServer, id: string, timeoutMs = 60_000, key?: string) {
  const seen: number[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await s.api(`/v1/video/generations/${id}`, key ? { headers: { authorization: `Bearer ${key}` } } : {});
    const t = (await res.json()) as TaskJson;
    seen.push(t.progress);
    if (['succeeded', 'failed', 'cancelled'].includes(t.status)) return { task: t, progress: seen };
    if (Date.now() > deadline) throw new Error(`task ${id} still ${t.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function waitFor<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 30_000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
