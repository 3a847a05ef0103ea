/**
 * Issue 19 §10, the low findings, each as the probe found it: a 500 or a wrong answer before, the
 * documented one now. (Readiness with a full disk or a corrupt database: readiness.test.ts.)
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFfmpeg } from '../../src/infra/ffmpeg/run-ffmpeg.ts';
import { ProviderError } from '../../src/providers/provider.ts';
import { classifyFailure } from '../../src/worker/failure.ts';
import { cli } from '../helpers/child-server.ts';
import { makeImage, dataUri } from '../helpers/images.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { startServer, waitFor, type TaskJson, type TestServer } from '../helpers/server.ts';

const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const execFileP = promisify(execFile);
const S = '/v1/video/generations';
type ErrorJson = { error: { code: string; message: string; param?: string | null } };
type GoogleErrorJson = { error: { code: number; status: string; details: { reason: string }[] } };

let png: string;
let s: TestServer;
beforeAll(async () => {
  png = (await makeImage(64, 36)).toString('base64');
  s = await startServer({ REELAY_ROLE: 'api', REELAY_ADMIN_TOKEN: 'admin-token-0123456789' });
});
afterAll(async () => { await s?.close(); });

const nativeBody = (extra: Record<string, unknown> = {}) => ({ model: 'veo-2.0-generate-001', prompt: 'p', aspect_ratio: '16:9', images: [`data:image/png;base64,${png}`], ...extra });

describe('hostile values on the Google surfaces are 400s, not 500s', () => {
  const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
  const paths = ['/v1beta/models/veo-3.1-generate-preview:predictLongRunning', '/v1beta1/publishers/google/models/veo-3.1-generate-preview:predictLongRunning'];
  const google = (path: string, text: string) => fetch(`${s.base}${path}`, { method: 'POST', headers: { 'x-goog-api-key': s.key, 'content-type': 'application/json' }, body: text });
  const request = (sampleCount: string) => `{"instances":[{"prompt":"p","image":{"bytesBase64Encoded":"${png}","mimeType":"image/png"}}],"parameters":{"durationSeconds":8,"sampleCount":${sampleCount}}}`;

  it.each(paths)('%s: sampleCount {"toString": 1} (an object whose conversion throws) and a 200 000-deep array', async (path) => {
    for (const value of ['{"toString":1}', deep, '[1]', 'true']) {
      const res = await google(path, request(value));
      expect(res.status, value.slice(0, 20)).toBe(400);
      const body = (await res.json()) as GoogleErrorJson;
      expect(body.error.status).toBe('INVALID_ARGUMENT');
      expect(body.error.details[0]!.reason).toBe('invalid_parameters.sampleCount');
    }
    // The spellings of one stay fine.
    for (const one of ['1', '"1"']) expect((await google(path, request(one))).status).toBe(200);
  });
});

describe('JSON bodies', () => {
  it('a body using "__proto__" (or constructor.prototype) is named as such, not called invalid JSON', async () => {
    for (const text of ['{"__proto__":{"admin":true},"model":"veo-2.0-generate-001"}', '{"model":"x","images":[{"constructor":{"prototype":{"a":1}}}]}']) {
      const res = await s.api(S, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as ErrorJson;
      expect(error.code).toBe('forbidden_json_key');
      expect(error.message).toMatch(/valid JSON but uses the key "(__proto__|constructor\.prototype)"/);
    }
    const broken = await s.api(S, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":' });
    expect(((await broken.json()) as ErrorJson).error.code).toBe('invalid_json');
    const google = await fetch(`${s.base}/v1beta/models/veo-2.0-generate-001:predictLongRunning`, {
      method: 'POST', headers: { 'x-goog-api-key': s.key, 'content-type': 'application/json' }, body: '{"__proto__":{}}',
    });
    expect(((await google.json()) as GoogleErrorJson).error.details[0]!.reason).toBe('forbidden_json_key');
  });
});

describe('admin: a refused key creation creates nothing', () => {
  it('POST /admin/keys with credits over the grant limit: 400, and no key exists afterwards', async () => {
    const admin = { authorization: 'Bearer admin-token-0123456789' };
    const before = (await s.app.keys.list()).length;
    const res = await s.api('/admin/keys', { method: 'POST', headers: admin, json: { name: 'too rich', credits: 2_000_000_000 } });
    expect(res.status).toBe(400);
    expect(await s.app.keys.list()).toHaveLength(before);
    expect(((await res.json()) as ErrorJson).error.param).toBe('credits');
    expect((await s.api('/admin/keys', { method: 'POST', headers: admin, json: { name: 'rich', credits: 1_000_000_000 } })).status).toBe(200);
    expect(await s.app.keys.list()).toHaveLength(before + 1);
  });
});

describe('webhook secret rotation keeps its promises', () => {
  it('a second rotation while the first overlap runs is refused; overlap 0 replaces the current secret and leaves the earlier one signing', async () => {
    const w = await startServer({ REELAY_WEBHOOK_BACKOFF_SCALE: '0.0005' });
    const rx = await startReceiver();
    try {
      const k = await w.app.keys.create('rotating');
      await w.app.credits.grant(k.id, 1_000_000, 'test');
      const auth = { authorization: `Bearer ${k.key}` };
      const rotate = (overlap_seconds: number) => w.api('/v1/webhooks/secret/rotate', { method: 'POST', headers: auth, json: { overlap_seconds } });

      const first = await rotate(3600);
      expect(first.status).toBe(200);
      const s1 = (await first.json()) as { webhook_secret: string; previous_secret_valid_until: number };
      // The original secret was promised an hour; a second rotation with an overlap would drop it early.
      const second = await rotate(3600);
      expect(second.status).toBe(409);
      const { error } = (await second.json()) as ErrorJson;
      expect(error.code).toBe('webhook_rotation_in_overlap');
      expect(error.message).toContain(new Date(s1.previous_secret_valid_until * 1000).toISOString().slice(0, 16));
      // Replacing the current secret at once (say it leaked) is allowed, and leaves the original's promise alone.
      const replaced = await rotate(0);
      expect(replaced.status).toBe(200);
      const s2 = (await replaced.json()) as { webhook_secret: string };

      const t = (await (await w.api(S, { method: 'POST', headers: auth, json: nativeBody({ callback_url: rx.url }) })).json()) as TaskJson;
      await w.api(`${S}/${t.id}/cancel`, { method: 'POST', headers: auth });
      await waitFor(async () => rx.received.length >= 1);
      const m = rx.received[0]!;
      const headers = { 'webhook-id': String(m.headers['webhook-id']), 'webhook-timestamp': String(m.headers['webhook-timestamp']), 'webhook-signature': String(m.headers['webhook-signature']) };
      expect(() => new Webhook(k.webhook_secret).verify(m.body, headers)).not.toThrow();
      expect(() => new Webhook(s2.webhook_secret).verify(m.body, headers)).not.toThrow();
      expect(() => new Webhook(s1.webhook_secret).verify(m.body, headers)).toThrow();
    } finally {
      await rx.close();
      await w.close();
    }
  });
});

describe('animated images', () => {
  it('an animated PNG (APNG) is refused like any animated image (docs/api.md: invalid_image)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reelay-apng-'));
    try {
      const file = join(dir, 'a.png');
      await execFileP(FFMPEG, ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x36:rate=4', '-frames:v', '3', '-plays', '0', '-f', 'apng', file]);
      const apng = await readFile(file);
      expect(apng.includes(Buffer.from('acTL'))).toBe(true);
      const res = await s.api(S, { method: 'POST', json: nativeBody({ images: [dataUri(apng, 'image/png')] }) });
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as ErrorJson;
      expect(error).toMatchObject({ code: 'invalid_image', param: 'images' });
      expect(error.message).toMatch(/is animated; send a single still image/);
      // A still PNG of the same size still goes through.
      expect((await s.api(S, { method: 'POST', json: nativeBody() })).status).toBe(200);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a full disk', () => {
  it('ffmpeg writing to a full scratch disk fails the task as storage_full, not internal_error or render_failed', async () => {
    // /dev/full: every write fails with ENOSPC, as on a full scratch directory.
    const failed = await runFfmpeg(FFMPEG, ['-y', '-f', 'lavfi', '-i', 'color=size=64x36:duration=1', '-f', 'mp4', '/dev/full']).then(() => null, (e: unknown) => e);
    expect(failed).toBeInstanceOf(Error);
    // The thumbnail step throws ffmpeg's own error; the local renderer wraps its failure in a ProviderError.
    expect(classifyFailure(failed).code).toBe('storage_full');
    expect(classifyFailure(new ProviderError('render_failed', 'The local renderer failed to encode the video.', { cause: failed })).code).toBe('storage_full');
    expect(classifyFailure(new ProviderError('render_failed', 'x')).code).toBe('render_failed');
  });

  it('a full data disk at submit (storing the image, or SQLite growing): 503 storage_full with Retry-After, not 500', async () => {
    let full = false;
    const d = await startServer({ REELAY_ROLE: 'api' }, {
      wrapBlobs: (b) => ({
        ...b,
        put: async (key, data, type) => {
          if (full) throw Object.assign(new Error(`ENOSPC: no space left on device, write '${key}'`), { code: 'ENOSPC' });
          return b.put(key, data, type);
        },
      }),
    });
    try {
      full = true;
      const blob = await d.api(S, { method: 'POST', json: nativeBody() });
      expect(blob.status).toBe(503);
      expect(Number(blob.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await blob.json()) as ErrorJson).error).toMatchObject({ code: 'storage_full', message: expect.not.stringMatching(/ENOSPC|inputs\//) });
      full = false;

      // SQLite cannot grow the file: what a full disk does to the database (SQLITE_FULL).
      const pages = (await sql<{ page_count: number }>`pragma page_count`.execute(d.app.store.db.kysely)).rows[0]!.page_count;
      await sql.raw(`pragma max_page_count = ${pages}`).execute(d.app.store.db.kysely);
      let res: Response | undefined;
      for (let i = 0; i < 50 && (!res || res.status === 200); i++) res = await d.api(S, { method: 'POST', json: nativeBody({ prompt: 'x'.repeat(4000) }) });
      expect(res!.status).toBe(503);
      expect(Number(res!.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await res!.json()) as ErrorJson).error.code).toBe('storage_full');
    } finally {
      await d.close();
    }
  });
});

describe('a corrupt database file', () => {
  it('the command exits naming the file (and what to do), not just "file is not a database"', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reelay-corrupt-'));
    try {
      const file = join(dir, 'reelay.sqlite');
      await writeFile(file, Buffer.alloc(8192, 'garbage!'));
      const r = await cli(['keys', 'list'], { REELAY_DATA_DIR: dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(file);
      expect(r.stderr).toMatch(/not a database/);
      expect(r.stderr).toMatch(/backup/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
