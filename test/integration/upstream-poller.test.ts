import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, waitFor, waitForTask, type TestServer } from '../helpers/server.ts';
import { OMNI, startGeminiFake, type GeminiFake } from '../fakes/gemini.ts';
import { PG_URL, dropSchema, freshSchema } from '../helpers/databases.ts';
import { submit, type UpstreamTask } from '../helpers/upstream.ts';
import { openStore, type Store } from '../../src/store.ts';

const KEY = 'AIza-poller-test-key-0123456789';
// What the Gemini API serves today: Omni through the Interactions API (UPSTREAM.md §0, §1.3).
const MODEL = { model: OMNI, seconds: 4 };
let fake: GeminiFake;
let fakeB: GeminiFake;

beforeAll(async () => {
  fake = await startGeminiFake(KEY);
  fakeB = await startGeminiFake(KEY);
});
afterAll(async () => {
  await fake?.close();
  await fakeB?.close();
});

const submits = (f: GeminiFake) => f.requests.filter((r) => r.method === 'POST' && r.path === '/v1beta/interactions').length;
/** Polls of one job; a task's upstream id is `interactions/<id>`, polled at GET /v1beta/interactions/<id>. */
const pollsOf = (f: GeminiFake, job: string) => f.requests.filter((r) => r.method === 'GET' && r.path === `/v1beta/${job}`).length;

describe('the upstream poller', () => {
  it('holds a worker slot only while submitting: one worker has six upstream jobs in flight at once', async () => {
    const s = await startServer({ GEMINI_API_KEY: KEY, GEMINI_BASE_URL: fake.baseUrl, REELAY_WORKER_CONCURRENCY: '1', REELAY_UPSTREAM_POLL_MS: '50', REELAY_UPSTREAM_POLL_MAX_MS: '100' });
    try {
      fake.pollsUntilDone = 1e9;
      const before = submits(fake);
      const ids = await Promise.all(Array.from({ length: 6 }, () => submit(s, MODEL)));
      await waitFor(async () => submits(fake) - before === 6, 10_000);
      const rows = await Promise.all(ids.map((id) => s.app.store.tasks.find(id)));
      for (const r of rows) {
        expect(r?.status).toBe('processing');
        expect(r?.upstream_channel).toBe('gemini');
        expect(r?.upstream_id).toMatch(/^interactions\/v1_/);
      }
      // Every job is being polled, none waits for a worker.
      await waitFor(async () => rows.every((r) => pollsOf(fake, r!.upstream_id!) >= 2), 10_000);

      fake.pollsUntilDone = 0;
      for (const id of ids) expect(((await waitForTask(s, id, 20_000)).task as UpstreamTask).status).toBe('succeeded');
      const metrics = await (await fetch(`${s.base}/metrics`)).text();
      expect(metrics).toMatch(/reelay_upstream_poll_duration_seconds_count\{channel="gemini",outcome="pending"\} [1-9]/);
      expect(metrics).toMatch(/reelay_upstream_job_duration_seconds_count\{provider="gemini",outcome="succeeded"\} 6/);
      expect(metrics).toMatch(/reelay_upstream_in_flight 0/);
    } finally {
      fake.pollsUntilDone = 2;
      await s.close();
    }
  });

  it('a restart resumes polling the same upstream job (nothing is submitted twice)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reelay-poller-'));
    const env = { GEMINI_API_KEY: KEY, GEMINI_BASE_URL: fake.baseUrl, REELAY_DATA_DIR: dir, REELAY_UPSTREAM_POLL_MS: '50', REELAY_UPSTREAM_POLL_MAX_MS: '100' };
    try {
      fake.pollsUntilDone = 1e9;
      const a = await startServer(env);
      const id = await submit(a, MODEL);
      const op = await waitFor(async () => (await a.app.store.tasks.find(id))?.upstream_id ?? undefined, 10_000);
      const before = submits(fake);
      await waitFor(async () => pollsOf(fake, op) >= 1, 10_000);
      await a.close();

      fake.pollsUntilDone = 0;
      const b = await startServer(env);
      try {
        const row = await waitFor(async () => {
          const r = await b.app.store.tasks.find(id);
          return r?.status === 'succeeded' ? r : undefined;
        }, 20_000);
        expect(submits(fake)).toBe(before);
        expect(JSON.parse(row.metadata_json!)).toMatchObject({ provider: 'gemini', channel: 'gemini', upstream: { id: op } });
      } finally {
        await b.close();
      }
    } finally {
      fake.pollsUntilDone = 2;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a job the upstream forgot is submitted again once; forgotten twice, the task fails upstream_lost_job, refunded', async () => {
    const s = await startServer({ GEMINI_API_KEY: KEY, GEMINI_BASE_URL: fake.baseUrl, REELAY_UPSTREAM_POLL_MS: '20', REELAY_UPSTREAM_POLL_MAX_MS: '50' });
    // An unknown interaction id is a 400 "Invalid interaction name" there, not a 404 (UPSTREAM.md §1.3).
    const forgot = { status: 400, message: 'Invalid interaction name' };
    try {
      fake.pollsUntilDone = 0;
      let before = submits(fake);
      fake.script.poll.push(forgot);
      const t = (await waitForTask(s, await submit(s, MODEL), 20_000)).task as UpstreamTask;
      expect(t.status).toBe('succeeded');
      expect(submits(fake) - before).toBe(2);
      // The video came from the second interaction, the one still known upstream.
      expect(pollsOf(fake, (t.metadata as { upstream: { id: string } }).upstream.id)).toBe(1);

      before = submits(fake);
      fake.script.poll.push(forgot, forgot);
      const lost = (await waitForTask(s, await submit(s, MODEL), 20_000)).task as UpstreamTask;
      expect(lost.status).toBe('failed');
      expect(lost.error?.code).toBe('upstream_lost_job');
      expect(lost.credits.refunded).toBe(lost.credits.reserved);
      expect(submits(fake) - before).toBe(2);
    } finally {
      fake.pollsUntilDone = 2;
      fake.script.poll.length = 0;
      await s.close();
    }
  });

  it('a hung result download is bounded and retried, and other jobs finish meanwhile', async () => {
    const s = await startServer({
      GEMINI_API_KEY: KEY, GEMINI_BASE_URL: fake.baseUrl, REELAY_UPSTREAM_POLL_MS: '20', REELAY_UPSTREAM_POLL_MAX_MS: '50',
      REELAY_UPSTREAM_DOWNLOAD_TIMEOUT_MS: '3000', REELAY_WORKER_CONCURRENCY: '4', REELAY_UPSTREAM_MAX_POLL_FAILURES: '3',
      // A short lease: a job claimed again while its failed download is still being cleaned up is skipped (still
      // "in hand") and waits for that lease to lapse; with the default 30 s that outlasts this test.
      REELAY_LEASE_MS: '2000',
    });
    try {
      fake.hangDownloads = 1;
      const downloads = fake.downloads;
      const stuck = await submit(s, MODEL);
      await waitFor(async () => fake.downloads > downloads, 10_000);
      const others = await Promise.all(Array.from({ length: 3 }, () => submit(s, MODEL)));
      for (const id of others) expect(((await waitForTask(s, id, 10_000)).task as UpstreamTask).status).toBe('succeeded');
      // The others went through while the first download hung: it is still unfinished.
      expect((await s.app.store.tasks.find(stuck))?.status).toBe('processing');
      const t = (await waitForTask(s, stuck, 20_000)).task as UpstreamTask;
      expect(t.status).toBe('succeeded');
      // Bounded, then fetched again: two downloads for the stuck job, one for each of the others.
      expect(fake.downloads - downloads).toBe(5);

      // Hanging every time: three attempts, then a clear failure and a refund.
      fake.hangDownloads = 3;
      const before = fake.downloads;
      const doomed = (await waitForTask(s, await submit(s, MODEL), 30_000)).task as UpstreamTask;
      expect(doomed.status).toBe('failed');
      expect(doomed.error?.code).toBe('upstream_timeout');
      expect(doomed.error?.message).toMatch(/download took longer than 3 s/);
      expect(doomed.credits.refunded).toBe(doomed.credits.reserved);
      expect(fake.downloads - before).toBe(3);
    } finally {
      fake.hangDownloads = 0;
      await s.close();
    }
  });

  it('a poll slower than the lease keeps its lease (no second poller, no duplicate poll)', async () => {
    const slow = await startGeminiFake(KEY, { latencyMs: 900 });
    const s = await startServer({
      GEMINI_API_KEY: KEY, GEMINI_BASE_URL: slow.baseUrl, REELAY_LEASE_MS: '500', REELAY_UPSTREAM_TIMEOUT_MS: '5000',
      REELAY_UPSTREAM_POLL_MS: '20', REELAY_UPSTREAM_POLL_MAX_MS: '20', REELAY_WORKER_CONCURRENCY: '3',
    });
    try {
      slow.pollsUntilDone = 1;
      const ids = await Promise.all(Array.from({ length: 3 }, () => submit(s, MODEL)));
      for (const id of ids) {
        const t = (await waitForTask(s, id, 30_000)).task as UpstreamTask;
        expect(t.status).toBe('succeeded');
        // One pending answer, one done: each poll outlived the 0.5 s lease and was still the only one.
        expect(pollsOf(slow, (t.metadata as { upstream: { id: string } }).upstream.id)).toBe(2);
      }
    } finally {
      await s.close();
      await slow.close();
    }
  });

  it('a job found finished after its deadline is still collected; throttling does not count as failure', async () => {
    const s = await startServer({
      GEMINI_API_KEY: KEY, GEMINI_BASE_URL: fake.baseUrl, REELAY_UPSTREAM_MAX_WAIT_MS: '1000',
      REELAY_UPSTREAM_POLL_MS: '1500', REELAY_UPSTREAM_POLL_MAX_MS: '1500',
    });
    try {
      fake.pollsUntilDone = 0;
      // The first poll comes after the 1 s limit, and the job is done by then: the video is collected, not refunded.
      const late = (await waitForTask(s, await submit(s, MODEL), 20_000)).task as UpstreamTask;
      expect(late.status).toBe('succeeded');
    } finally {
      fake.pollsUntilDone = 2;
      await s.close();
    }
    const t = await startServer({ GEMINI_API_KEY: KEY, GEMINI_BASE_URL: fake.baseUrl, REELAY_UPSTREAM_POLL_MS: '20', REELAY_UPSTREAM_MAX_POLL_FAILURES: '2' });
    try {
      fake.pollsUntilDone = 0;
      fake.script.poll.push(...Array.from({ length: 3 }, () => ({ status: 429, message: 'Resource has been exhausted (e.g. check quota).' })));
      const started = Date.now();
      const task = (await waitForTask(t, await submit(t, MODEL), 20_000)).task as UpstreamTask;
      expect(task.status).toBe('succeeded');
      // Each 429 paused the channel (1 s without Retry-After) rather than hammering it.
      expect(Date.now() - started).toBeGreaterThanOrEqual(2500);
    } finally {
      fake.pollsUntilDone = 2;
      fake.script.poll.length = 0;
      await t.close();
    }
  });

  it('a lapsed poll lease is taken over by another poller; the render queue never takes an upstream job', async () => {
    const s = await startServer({ REELAY_ROLE: 'api' });
    try {
      const id = await submit(s, MODEL);
      const t = s.app.store.tasks;
      const now = Date.now();
      const claimed = await t.claimNext('w1', now, 1000);
      expect(claimed?.id).toBe(id);
      expect(await t.handOffToPoller(id, 'w1', { channel: 'gemini', provider: 'gemini', upstreamId: 'interactions/v1_x', submittedAt: now, nextPollAt: now, json: '{}' })).toBe(true);
      expect(await t.claimNext('w2', now + 60_000, 1000)).toBeUndefined();
      expect((await t.claimDuePolls('p1', now, 30_000, 10, 'gemini')).map((r) => r.id)).toEqual([id]);
      // Leased: nobody else polls it…
      expect(await t.claimDuePolls('p2', now + 1000, 30_000, 10, 'gemini')).toEqual([]);
      // …until p1 dies and its lease lapses.
      expect((await t.claimDuePolls('p2', now + 31_000, 30_000, 10, 'gemini')).map((r) => r.id)).toEqual([id]);
      expect(await t.reschedulePoll(id, 'p1', { nextPollAt: now + 40_000, polls: 1, failures: 0, progress: 5 })).toBe(false);
      expect(await t.reschedulePoll(id, 'p2', { nextPollAt: now + 40_000, polls: 1, failures: 0, progress: 5 })).toBe(true);
      // Claims are per channel; a callback makes a job due now.
      expect(await t.claimDuePolls('p3', now + 50_000, 30_000, 10, 'vertex')).toEqual([]);
      expect(await t.pollSoon(id, now + 1)).toBe(true);
      expect((await t.claimDuePolls('p3', now + 2, 30_000, 10, 'gemini')).map((r) => r.id)).toEqual([id]);
      // A callback while p3 polls is not lost: the reschedule keeps "poll now" instead of its own later time.
      expect(await t.pollSoon(id, now + 3)).toBe(true);
      expect(await t.reschedulePoll(id, 'p3', { nextPollAt: now + 90_000, polls: 2, failures: 0, progress: 5, claimedNextPollAt: now + 2 + 30_000 })).toBe(true);
      expect((await t.claimDuePolls('p4', now + 4, 30_000, 10, 'gemini')).map((r) => r.id)).toEqual([id]);
      // Without a callback, the poll's own next time stands.
      expect(await t.reschedulePoll(id, 'p4', { nextPollAt: now + 90_000, polls: 3, failures: 0, progress: 5, claimedNextPollAt: now + 4 + 30_000 })).toBe(true);
      expect(await t.claimDuePolls('p5', now + 60_000, 30_000, 10, 'gemini')).toEqual([]);
    } finally {
      await s.close();
    }
  });
});

describe('a channel that is no longer configured', () => {
  it('its in-flight jobs fail with a refund once past the wait limit (nobody can collect them)', async () => {
    const s = await startServer({ REELAY_UPSTREAM_MAX_WAIT_MS: '60000' });
    try {
      const t = s.app.store.tasks;
      const id = await submit(s, MODEL);
      await s.app.worker?.stop(1000);
      const now = Date.now();
      // As if a channel "gemini-old" accepted it (then was renamed in the config).
      await s.app.store.db.kysely.updateTable('tasks')
        .set({ status: 'processing', lease_owner: 'w', lease_expires_at: now + 60_000 }).where('id', '=', id).execute();
      expect(await t.handOffToPoller(id, 'w', { channel: 'gemini-old', provider: 'gemini', upstreamId: 'interactions/v1_y', submittedAt: now - 30_000, nextPollAt: now, json: '{}' })).toBe(true);
      // Within the wait limit nothing happens: the channel may come back.
      await s.app.runMaintenance();
      expect((await t.find(id))?.status).toBe('processing');
      await s.app.store.db.kysely.updateTable('tasks').set({ upstream_submitted_at: now - 120_000 }).where('id', '=', id).execute();
      await s.app.runMaintenance();
      const row = await t.find(id);
      expect(row?.status).toBe('failed');
      expect(row?.error_code).toBe('provider_unavailable');
      expect(Number(row?.credits_refunded)).toBe(Number(row?.credits_reserved));
    } finally {
      await s.close();
    }
  });
});

describe('several channels', () => {
  it('priority picks the channel; a 429 fails over; the task stays pinned to the channel that accepted it', async () => {
    const s = await startServer({
      REELAY_UPSTREAM_POLL_MS: '50', REELAY_UPSTREAM_POLL_MAX_MS: '100',
      REELAY_UPSTREAM_CHANNELS: JSON.stringify([
        { name: 'gemini-a', provider: 'gemini', apiKey: KEY, baseUrl: fake.baseUrl, priority: 1 },
        { name: 'gemini-b', provider: 'gemini', apiKey: KEY, baseUrl: fakeB.baseUrl },
      ]),
    });
    try {
      const first = (await waitForTask(s, await submit(s, MODEL), 20_000)).task as UpstreamTask;
      expect(first.status).toBe('succeeded');
      expect(first.metadata).toMatchObject({ channel: 'gemini-a' });

      fake.script.submit.push({ status: 429, message: 'Resource has been exhausted (e.g. check quota).' });
      const beforeA = fake.requests.length;
      const t = (await waitForTask(s, await submit(s, MODEL), 20_000)).task as UpstreamTask;
      expect(t.status).toBe('succeeded');
      expect(t.metadata).toMatchObject({ provider: 'gemini', channel: 'gemini-b', failover_from: ['gemini-a'] });
      const op = (t.metadata as { upstream: { id: string } }).upstream.id;
      expect(pollsOf(fakeB, op)).toBeGreaterThan(0);
      // Channel A saw only the refused submit: no poll and no download for B's job.
      expect(fake.requests.slice(beforeA).map((r) => r.method)).toEqual(['POST']);
    } finally {
      await s.close();
    }
  });

  it('each channel keeps to its own rate limit however many jobs are in flight', async () => {
    const s = await startServer({
      REELAY_UPSTREAM_POLL_MS: '20', REELAY_UPSTREAM_POLL_MAX_MS: '20', REELAY_WORKER_CONCURRENCY: '4',
      REELAY_UPSTREAM_CHANNELS: JSON.stringify([{ name: 'slow', provider: 'gemini', apiKey: KEY, baseUrl: fakeB.baseUrl, ratePerSecond: 10 }]),
    });
    try {
      fakeB.pollsUntilDone = 1e9;
      const ids = await Promise.all(Array.from({ length: 8 }, () => submit(s, MODEL)));
      await waitFor(async () => (await Promise.all(ids.map((id) => s.app.store.tasks.find(id)))).every((r) => r?.upstream_id), 10_000);
      // Time the next 20 calls. At 10/s their slots span 1.9 s; up to 8 (one per job) may have fallen due before
      // the count began and start late, together: at least 12 slots, 1.1 s, lie ahead. Unlimited, 8 jobs every
      // 20 ms, the 20 calls would take ~50 ms. A lower bound: load only makes them slower, never faster.
      const calls = () => fakeB.requests.length;
      const start = calls();
      const t0 = Date.now();
      await waitFor(async () => calls() >= start + 20, 30_000, 5);
      expect(Date.now() - t0).toBeGreaterThanOrEqual((20 - 8 - 1) * 100);
      for (const id of ids) await s.api(`/v1/video/generations/${id}/cancel`, { method: 'POST' });
    } finally {
      fakeB.pollsUntilDone = 2;
      await s.close();
    }
  });
});

describe.skipIf(!PG_URL)('the upstream poller on PostgreSQL', () => {
  it('two nodes share the in-flight jobs: each submitted once, all finished, leases respected', async () => {
    const schema = freshSchema();
    // Two nodes on one machine: one database, one blob folder (as they would share S3).
    const dir = await mkdtemp(join(tmpdir(), 'reelay-poller-pg-'));
    const env = {
      DATABASE_URL: PG_URL!, DATABASE_SCHEMA: schema, REELAY_DATA_DIR: dir, GEMINI_API_KEY: KEY, GEMINI_BASE_URL: fake.baseUrl,
      REELAY_UPSTREAM_POLL_MS: '20', REELAY_UPSTREAM_POLL_MAX_MS: '60', REELAY_WORKER_CONCURRENCY: '4',
    };
    const a = await startServer(env);
    const b = await startServer({ ...env, REELAY_ROLE: 'worker' });
    let store: Store | undefined;
    try {
      fake.pollsUntilDone = 4;
      const before = submits(fake);
      const ids = await Promise.all(Array.from({ length: 30 }, () => submit(a, MODEL)));
      for (const id of ids) expect(((await waitForTask(a, id, 30_000)).task as UpstreamTask).status).toBe('succeeded');
      expect(submits(fake) - before).toBe(30);
      // Every job was polled exactly until done (4 pending + 1 done): no two nodes polled one job at once.
      const rows = await Promise.all(ids.map((id) => a.app.store.tasks.find(id)));
      for (const r of rows) expect(pollsOf(fake, r!.upstream_id!)).toBe(5);

      // The lease rules on PostgreSQL: a leased job is skipped; a lapsed lease is taken over.
      // The job never finishes here, so node a's own poller cannot end the task before the checks below.
      fake.pollsUntilDone = 1_000_000;
      const id = await submit(a, MODEL);
      await waitFor(async () => (await a.app.store.tasks.find(id))?.upstream_id ?? undefined, 10_000);
      // Both nodes stopped first: a poller still running could hold the row in its own UPDATE just when a claim
      // below runs, and SKIP LOCKED rightly skips it (the suite saw the first claim come back empty).
      await b.close();
      await a.close();
      store = await openStore(a.app.config);
      const t = store.tasks;
      const now = Date.now() + 60_000;
      await t.pollSoon(id, now - 1);
      const first = await t.claimDuePolls('p1', now, 30_000, 10, 'gemini');
      expect(first.map((r) => r.id)).toContain(id);
      expect(await t.claimDuePolls('p2', now + 1000, 30_000, 10, 'gemini')).toEqual([]);
      expect((await t.claimDuePolls('p2', now + 31_000, 30_000, 10, 'gemini')).map((r) => r.id)).toContain(id);
    } finally {
      await store?.db.close();
      fake.pollsUntilDone = 2;
      await a.close().catch(() => {});
      await b.close().catch(() => {});
      await dropSchema(schema);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
