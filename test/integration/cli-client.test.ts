import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/child-server.ts';
import { makeImage } from '../helpers/images.ts';
import { probeBytes } from '../helpers/ffprobe.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

// The server runs in this process; the CLI is the real `reelay` in a child process, talking HTTP.
let s: TestServer; // renders
let q: TestServer; // API only: tasks stay queued
let dir: string;
let image: string;
beforeAll(async () => {
  [s, q, dir] = await Promise.all([startServer(), startServer({ REELAY_ROLE: 'api' }), mkdtemp(join(tmpdir(), 'reelay-cli-client-'))]);
  image = join(dir, 'start.png');
  await writeFile(image, await makeImage(320, 180));
});
afterAll(async () => {
  await Promise.all([s?.close(), q?.close()]);
  await rm(dir, { recursive: true, force: true });
});

// A fresh data dir per run: a fixed one would keep a database from earlier runs (and their migrations).
const env: Record<string, string> = {};
beforeAll(async () => { env.REELAY_DATA_DIR = await mkdtemp(join(tmpdir(), 'reelay-cli-client-data-')); });
afterAll(async () => { await rm(env.REELAY_DATA_DIR!, { recursive: true, force: true }); });
const on = (server: TestServer, key = server.key) => ['--base-url', server.base, '--api-key', key];
const tiny = ['--model', 'veo-3.0-fast-generate-001', '--seconds', '4', '--size', '720p'];

describe('reelay generate', () => {
  it('--wait --out renders, logs progress lines (not a TTY) and writes an MP4', async () => {
    const out = join(dir, 'video.mp4');
    const r = await cli(['generate', '--image', image, '--prompt', 'slow push in', ...tiny, '--wait', '--out', out, ...on(s)], env);
    expect(r.stderr).toMatch(/Submitted task_\w+/);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('\r');
    expect(r.stderr).toMatch(/task_\w+ succeeded +100%/);
    expect(r.stdout).toMatch(/task_\w+ succeeded: 4 s, 1280x720, with audio/);
    expect(r.stdout).toContain(`Saved:  ${out}`);
    const facts = await probeBytes(await readFile(out));
    expect(facts.videoCodec).toBe('h264');
    expect([facts.width, facts.height]).toEqual([1280, 720]);
    expect(Math.abs(facts.duration - 4)).toBeLessThan(0.1);
  });

  it('--json without --wait prints the queued task; the env vars work instead of flags', async () => {
    const r = await cli(['generate', '--image', image, '--prompt', 'pan left', ...tiny, '--json'],
      { ...env, REELAY_BASE_URL: q.base, REELAY_API_KEY: q.key });
    expect(r.code, r.stderr).toBe(0);
    const task = JSON.parse(r.stdout) as { id: string; status: string; aspect_ratio: string };
    expect(task).toMatchObject({ status: 'queued', aspect_ratio: '16:9' });
  });

  it('follows a portrait image with 9:16 when --aspect-ratio is not given', async () => {
    const portrait = join(dir, 'portrait.png');
    await writeFile(portrait, await makeImage(180, 320));
    const r = await cli(['generate', '--image', portrait, '--prompt', 'tilt up', ...tiny, '--json', ...on(q)], env);
    expect(JSON.parse(r.stdout)).toMatchObject({ aspect_ratio: '9:16' });
  });
});

describe('reelay generate: last frame, references, extension', () => {
  const fast = ['--model', 'veo-3.1-fast-generate-001'];

  it('--reference (repeated) uploads the files as reference_images, in order, --last-frame as images[1]; without --model the choice takes references', async () => {
    const refs = await Promise.all(['#10c010', '#1010e0'].map(async (c, i) => {
      const file = join(dir, `ref-${i}.png`);
      const bytes = await sharp({ create: { width: 200, height: 200, channels: 3, background: c } }).png().toBuffer();
      await writeFile(file, bytes);
      return { file, bytes };
    }));
    const r = await cli(['generate', '--image', image, '--prompt', 'the product turns', ...fast, '--reference', refs[0]!.file, '--reference', refs[1]!.file, '--json', ...on(q)], env);
    expect(r.code, r.stderr).toBe(0);
    const task = JSON.parse(r.stdout) as { id: string; seconds: string };
    // Veo 3.1 renders references at 8 s: the default follows.
    expect(task.seconds).toBe('8');
    const stored = await Promise.all([0, 1].map((i) => readFile(join(q.dataDir, 'blobs', 'inputs', task.id, `ref-${i}.png`))));
    expect(stored).toEqual(refs.map((x) => x.bytes));

    // --last-frame: the second image, stored as the task's last frame.
    const withLast = JSON.parse((await cli(['generate', '--image', image, '--last-frame', refs[0]!.file, '--prompt', 'x', ...fast, '--json', ...on(q)], env)).stdout) as { id: string };
    expect(await readFile(join(q.dataDir, 'blobs', 'inputs', withLast.id, '1.png'))).toEqual(refs[0]!.bytes);

    const chosen = JSON.parse((await cli(['generate', '--image', image, '--prompt', 'x', '--reference', refs[0]!.file, '--json', ...on(q)], env)).stdout) as { model: string };
    const { data } = (await (await q.api('/v1/models')).json()) as { data: { id: string; reference_images: unknown }[] };
    expect(data.find((m) => m.id === chosen.model)?.reference_images).not.toBeNull();
  });

  it('--extend TASK_ID continues a succeeded task with its model: the saved video is the source and the added seconds', async () => {
    const first = await cli(['generate', '--image', image, '--prompt', 'slow push in', ...fast, '--seconds', '4', '--wait', '--json', ...on(s)], env);
    expect(first.code, first.stderr).toBe(0);
    const source = JSON.parse(first.stdout) as { id: string };
    const out = join(dir, 'extended.mp4');
    const r = await cli(['generate', '--extend', source.id, '--prompt', 'the camera keeps going', '--out', out, '--json', ...on(s)], env);
    expect(r.code, r.stderr).toBe(0);
    const task = JSON.parse(r.stdout) as { model: string; extend_task_id: string; seconds: string; aspect_ratio: string };
    expect(task).toMatchObject({ model: 'veo-3.1-fast-generate-001', extend_task_id: source.id, seconds: '7', aspect_ratio: '16:9' });
    expect((await probeBytes(await readFile(out))).duration).toBeCloseTo(4 + 7, 0);
  });

  it('--extend with --image is a usage error; an unknown task is the API\'s 404', async () => {
    const both = await cli(['generate', '--extend', 'task_x', '--image', image, '--prompt', 'x', ...fast, ...on(q)], env);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--extend continues that task\'s video from its last frame: drop --image and --last-frame');
    const unknown = await cli(['generate', '--extend', 'task_nope', '--prompt', 'x', ...fast, ...on(q)], env);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('task_not_found');
  });
});

describe('reelay status, tasks, cancel, credits', () => {
  it('status, cancel and a second cancel (an API error → 3)', async () => {
    const { id } = JSON.parse((await cli(['generate', '--image', image, '--prompt', 'x', ...tiny, '--json', ...on(q)], env)).stdout) as { id: string };
    const status = await cli(['status', id, ...on(q)], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^${id}\\n  status +queued \\(0%\\)`));
    expect(JSON.parse((await cli(['status', id, '--json', ...on(q)], env)).stdout)).toMatchObject({ id, status: 'queued' });

    const cancelled = await cli(['cancel', id, ...on(q)], env);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toMatch(/^Cancelled task_\w+ at 0%; \d+ credits refunded\./);
    const again = await cli(['cancel', id, '--json', ...on(q)], env);
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/already|cancelled/);
    expect(again.stderr).toContain('task_not_cancellable');
    expect(JSON.parse(again.stdout)).toMatchObject({ error: { code: 'task_not_cancellable', status: 409 } });

    // A client command never reads the server's settings: an invalid one in the environment does not stop it.
    const broken = await cli(['status', id, '--json', ...on(q)], { ...env, PORT: 'not-a-port', REELAY_UPSTREAM_CHANNELS: '[{' });
    expect(broken.code, broken.stderr).toBe(0);
    expect(JSON.parse(broken.stdout)).toMatchObject({ id, status: 'cancelled' });
    const admin = await cli(['keys', 'list'], { ...env, PORT: 'not-a-port' });
    expect(admin.code).toBe(2);
    expect(admin.stderr).toContain('PORT');
  });

  it('tasks prints an aligned table (newest first) and --json an array', async () => {
    const key = await q.newKey('table');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.unshift((JSON.parse((await cli(['generate', '--image', image, '--prompt', `p${i}`, ...tiny, '--json', ...on(q, key)], env)).stdout) as { id: string }).id);
    const r = await cli(['tasks', '--limit', '2', ...on(q, key)], env);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^ID +STATUS +PROGRESS +MODEL +SECONDS +SIZE +CREATED/);
    const col = lines[0]!.indexOf('STATUS');
    for (const l of lines.slice(1)) expect(l.slice(col)).toMatch(/^queued +0% +veo-3\.0-fast-generate-001 +4 +720p /);
    expect(lines.slice(1).map((l) => l.split(' ')[0])).toEqual(ids.slice(0, 2));
    const json = JSON.parse((await cli(['tasks', '--limit', '5', '--status', 'queued', '--json', ...on(q, key)], env)).stdout) as { id: string }[];
    expect(json.map((t) => t.id)).toEqual(ids);
  });

  it("credits shows the caller's balance; credits grant/show stay the admin commands", async () => {
    const r = await cli(['credits', ...on(q)], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Balance: [\d,]+ credits/);
    expect(r.stdout).toContain('grant');
    expect(JSON.parse((await cli(['credits', '--json', ...on(q)], env)).stdout)).toMatchObject({ object: 'credit_balance' });
    const admin = await cli(['credits', 'show'], env);
    expect(admin.code).toBe(2);
    expect(admin.stderr).toContain('credits show needs KEY_ID');
  });
});

describe('which server', () => {
  // The test server listens on 127.0.0.1 and a random port: what HOST and PORT say for a server started with them.
  const port = () => new URL(q.base).port;

  it('without --base-url or REELAY_BASE_URL, a client command talks to http://HOST:PORT', async () => {
    const r = await cli(['tasks', '--json'], { ...env, REELAY_BASE_URL: '', HOST: '127.0.0.1', PORT: port(), REELAY_API_KEY: q.key });
    expect(r.code, r.stderr).toBe(0);
    expect(Array.isArray(JSON.parse(r.stdout))).toBe(true);
    // A server listening on every interface is reached on loopback.
    const any = await cli(['tasks', '--json'], { ...env, REELAY_BASE_URL: '', HOST: '0.0.0.0', PORT: port(), REELAY_API_KEY: q.key });
    expect(any.code, any.stderr).toBe(0);
  });

  it('REELAY_BASE_URL wins over HOST and PORT, and --base-url over both', async () => {
    const wrong = 'http://127.0.0.1:9'; // discard port: nothing answers there
    const viaEnv = await cli(['tasks', '--json'], { ...env, REELAY_BASE_URL: q.base, PORT: '9', REELAY_API_KEY: q.key });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    const viaFlag = await cli(['tasks', '--json', '--base-url', q.base], { ...env, REELAY_BASE_URL: wrong, REELAY_API_KEY: q.key });
    expect(viaFlag.code, viaFlag.stderr).toBe(0);
    const unreachable = await cli(['tasks'], { ...env, REELAY_BASE_URL: '', PORT: '9', REELAY_API_KEY: q.key });
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain('http://127.0.0.1:9');
    const badPort = await cli(['tasks'], { ...env, REELAY_BASE_URL: '', PORT: 'eighty', REELAY_API_KEY: q.key });
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toContain('PORT=eighty is not a port');
  });
});

describe('exit codes', () => {
  it("usage errors → 2, with the command's synopsis (never the whole usage)", async () => {
    for (const [args, synopsis] of [
      [['generate', '--prompt', 'no image', ...on(q)], 'Usage: reelay generate --image FILE --prompt TEXT [options]'],
      [['generate', '--image', image, '--prompt', 'x', '--seconds', 'four', ...on(q)], 'Usage: reelay generate'],
      [['status', ...on(q)], 'Usage: reelay status TASK_ID [--json]'],
      [['tasks', '--status', 'done', ...on(q)], 'Usage: reelay tasks'],
      [['tasks', '--frobnicate', ...on(q)], 'Usage: reelay tasks'],
    ] as [string[], string][]) {
      const r = await cli(args, env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^reelay: .+\n/);
      expect(r.stderr).toContain(synopsis);
      expect(r.stderr).not.toContain('Usage: reelay <command>');
    }
  });

  it('what is not a usage mistake (an unreadable file, no API key) → 2 with one line', async () => {
    const noFile = await cli(['generate', '--image', join(dir, 'missing.png'), '--prompt', 'x', ...on(q)], env);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toBe(`reelay: cannot read --image ${join(dir, 'missing.png')}: ENOENT\n`);
    const noKey = await cli(['status', 'task_x', '--base-url', q.base], { ...env, REELAY_API_KEY: '' });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toBe('reelay: no API key: set REELAY_API_KEY or pass --api-key (create one with `reelay keys create --name NAME --credits 5000`)\n');
  });

  it("a bad key → 3 with the API's message", async () => {
    const r = await cli(['tasks', ...on(q, 'rly_not_a_key')], env);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('Invalid API key.');
    expect(r.stderr).toContain('invalid_api_key');
  });

  it('an invalid request → 3 naming the field', async () => {
    const r = await cli(['generate', '--image', image, '--prompt', 'x', '--model', 'veo-3.0-fast-generate-001', '--seconds', '5', ...on(q)], env);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('invalid_seconds');
  });

  it('a task that fails → 4', async () => {
    const broken = await startServer({ FFMPEG_PATH: '/nonexistent/ffmpeg' });
    try {
      const out = join(dir, 'never.mp4');
      const r = await cli(['generate', '--image', image, '--prompt', 'x', ...tiny, '--wait', '--out', out, ...on(broken)], env);
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toMatch(/task task_\w+ failed: .+\(ffmpeg_unavailable|render_failed\)/);
      await expect(readFile(out)).rejects.toThrow();
    } finally {
      await broken.close();
    }
  });
});
