import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import type { Reelay } from '../app.ts';

const DEMO_MODEL = 'veo-3.1-fast-generate-001';

/** A start image drawn here, so the demo needs no file or network. */
function demoSvg(): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="1280" height="720">
  <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#1d3b73"/><stop offset="0.6" stop-color="#f4a259"/><stop offset="1" stop-color="#f7d08a"/></linearGradient></defs>
  <rect width="1280" height="720" fill="url(#sky)"/>
  <circle cx="900" cy="360" r="90" fill="#fff2c4"/>
  <polygon points="0,720 0,470 220,330 420,500 640,300 900,520 1100,380 1280,480 1280,720" fill="#2e2a4f"/>
  <polygon points="0,720 0,580 300,500 600,610 860,520 1280,640 1280,720" fill="#191733"/>
  <text x="60" y="100" font-family="sans-serif" font-size="56" font-weight="700" fill="#ffffff">Reelay</text>
</svg>`;
}

/** The dev key lives in the data folder (mode 600) so every `npm start` can print a working key. */
async function devKey(app: Reelay): Promise<string> {
  const file = join(app.config.dataDir, 'dev-api-key');
  try {
    const key = (await readFile(file, 'utf8')).trim();
    await app.keys.authenticate(`Bearer ${key}`);
    return key;
  } catch {
    const created = await app.keys.create('dev (npm start)');
    await app.credits.grant(created.id, 100_000, 'dev key for npm start');
    await mkdir(app.config.dataDir, { recursive: true });
    await writeFile(file, `${created.key}\n`, { mode: 0o600 });
    await chmod(file, 0o600);
    return created.key;
  }
}

/** Print a usable key and a ready-to-paste curl, then render one demo video through the public API. */
export async function runDemo(app: Reelay, base: string): Promise<void> {
  const key = await devKey(app);
  const imagePath = join(app.config.dataDir, 'demo', 'start.png');
  await mkdir(join(app.config.dataDir, 'demo'), { recursive: true });
  await sharp(Buffer.from(demoSvg())).png().toFile(imagePath);
  const shown = relative(process.cwd(), imagePath) || imagePath;
  const curl = `curl -s ${base}/v1/video/generations \\\n    -H "Authorization: Bearer ${key}" \\\n    -F model=${DEMO_MODEL} -F aspect_ratio=16:9 -F seconds=4 \\\n    -F prompt="slow push in on the mountains at sunset" \\\n    -F images=@${shown}`;
  process.stdout.write(`
================================================================
 Reelay is running at ${base}
 Dev API key:  ${key}
 API docs:     ${base}/docs

 Submit a video:
  ${curl}

 Poll it:
  curl -s ${base}/v1/video/generations/TASK_ID -H "Authorization: Bearer ${key}"
================================================================
`);
  const form = new FormData();
  form.set('model', DEMO_MODEL);
  form.set('aspect_ratio', '16:9');
  form.set('seconds', '4');
  form.set('prompt', 'slow push in on the mountains at sunset');
  form.set('images', new Blob([await readFile(imagePath)], { type: 'image/png' }), 'start.png');
  const headers = { authorization: `Bearer ${key}` };
  const res = await fetch(`${base}/v1/video/generations`, { method: 'POST', body: form, headers });
  let task = (await res.json()) as { id: string; status: string; progress: number; url: string | null; error: unknown };
  if (!res.ok) throw new Error(`demo submit failed: ${JSON.stringify(task)}`);
  process.stdout.write(`[demo] rendering ${task.id} with the local renderer…\n`);
  while (task.status === 'queued' || task.status === 'processing') {
    await new Promise((r) => setTimeout(r, 1000));
    task = (await (await fetch(`${base}/v1/video/generations/${task.id}`, { headers })).json()) as typeof task;
  }
  if (task.status === 'succeeded') process.stdout.write(`[demo] done: ${task.url}\n`);
  else process.stdout.write(`[demo] ${task.status}: ${JSON.stringify(task.error)}\n`);
}
