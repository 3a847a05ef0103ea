// The vendor doc's one request example, pasted as a new user would (issue: "The
// vendor doc's own request example works as written"); only the image URL is ours.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage } from '../helpers/images.ts';
import { probeBytes } from '../helpers/ffprobe.ts';
import { startServer, waitForTask, type TestServer } from '../helpers/server.ts';

let s: TestServer;
let images: Server;
let base: string;
let fetches = 0;

beforeAll(async () => {
  const portrait = await makeImage(360, 640, 'png');
  const square = await makeImage(300, 290, 'png');
  images = createServer((req, res) => {
    fetches++;
    const body = req.url === '/dance_start_frame.png' ? portrait : req.url === '/square.png' ? square : null;
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => images.listen(0, '127.0.0.1', r));
  const addr = images.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  s = await startServer();
});
afterAll(async () => {
  await s?.close();
  await new Promise((r) => images.close(r));
});

describe('the vendor doc\'s request example', () => {
  it('works verbatim: the alias names Vidu Q3 Turbo, the aspect ratio comes from the start image, a 7 s video comes back', async () => {
    const example = `{"model": "Veoq3-turbo",
 "prompt": "Contemporary dance, the people in the picture are performing contemporary dance.",
 "images": ["${base}/dance_start_frame.png"],
 "duration": 7}`;
    const before = fetches;
    const res = await fetch(`${s.base}/v1/video/generations`, {
      method: 'POST', headers: { authorization: `Bearer ${s.key}`, 'content-type': 'application/json' }, body: example,
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const queued = (await res.json()) as { id: string; model: string; aspect_ratio: string; seconds: string; status: string };
    expect(queued).toMatchObject({ model: 'Veoq3-turbo', aspect_ratio: '9:16', seconds: '7', status: 'queued' });
    // The image was fetched once, for the aspect ratio and the task alike.
    expect(fetches - before).toBe(1);
    const { task } = await waitForTask(s, queued.id, 120_000);
    expect(task.status).toBe('succeeded');
    expect(task).toMatchObject({ model: 'Veoq3-turbo', provider: 'local', aspect_ratio: '9:16' });
    expect(task.metadata).toMatchObject({ resolved_model: 'viduq3-turbo', width: 720, height: 1280 });
    expect(task.metadata!.duration).toBeCloseTo(7, 1);
    const video = await probeBytes(await (await fetch(task.url!)).arrayBuffer());
    expect(video.duration).toBeCloseTo(7, 1);
  });

  it('aliases match without regard to case; an explicit aspect_ratio keeps every rule it had', async () => {
    const post = (json: unknown) => s.api('/v1/video/generations', { method: 'POST', json });
    const lower = await post({ model: 'veoq3-TURBO', prompt: 'p', images: [`${base}/square.png`], duration: 2, size: '540p' });
    expect(lower.status).toBe(200);
    expect(await lower.json()).toMatchObject({ model: 'veoq3-TURBO', aspect_ratio: '1:1' });
    const wrong = await post({ model: 'Veoq3-turbo', prompt: 'p', aspect_ratio: '21:9', images: [`${base}/square.png`], duration: 2 });
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('invalid_aspect_ratio');
    // Nearest supported ratio for a Veo model (16:9 or 9:16 only): a square leans to neither, a slightly wide one to 16:9.
    const veo = await post({ model: 'veo-3.1-fast-generate-001', prompt: 'p', images: [`${base}/square.png`], seconds: 4 });
    expect(((await veo.json()) as { aspect_ratio: string }).aspect_ratio).toBe('16:9');
    // A pixel size decides before the image is fetched.
    const before = fetches;
    const px = await post({ model: 'veo-3.1-fast-generate-001', prompt: 'p', images: [`${base}/dance_start_frame.png`], size: '1280x720', seconds: 4 });
    expect(await px.json()).toMatchObject({ aspect_ratio: '16:9', size: '1280x720' });
    expect(fetches - before).toBe(1);
    // A bad request costs no download: the other rules are checked first.
    const beforeBad = fetches;
    const bad = await post({ model: 'Veoq3-turbo', prompt: 'p', images: [`${base}/dance_start_frame.png`], duration: 99 });
    expect(bad.status).toBe(400);
    expect(fetches).toBe(beforeBad);
    const models = (await (await s.api('/v1/models')).json()) as { data: { id: string; aliases: string[] }[] };
    expect(models.data.find((m) => m.id === 'viduq3-turbo')!.aliases).toEqual(['Veoq3-turbo']);
  });
});
