import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import sharp from 'sharp';
import { makeImage } from '../helpers/images.ts';
import { startServer, waitForTask, type TestServer } from '../helpers/server.ts';

// Debian's Chromium driven by playwright-core (no browser download). CI installs it:
//   command -v chromium || (apt-get update -qq && apt-get install -y -qq chromium)
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  process.stderr.write(`[reelay tests] console browser tests skipped: ${CHROMIUM} not found (apt-get install -y chromium).\n`);
}
// REELAY_DOCS_SCREENSHOTS=1 refreshes the README's screenshots in docs/; otherwise they go to test-artifacts/.
const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts');
const SHOTS = process.env.REELAY_DOCS_SCREENSHOTS === '1' ? join(import.meta.dirname, '../../docs') : ARTIFACTS;

interface CatalogModel {
  id: string; display_name: string; deprecated: boolean; available: boolean; audio: boolean; default_size: string;
  pricing: { credits_per_second: Record<string, number>; audio_credits_per_second: number };
}

/** What a newcomer should get: the cheapest current model with audio, per second at its default size. */
function cheapestWithAudio(models: CatalogModel[]): CatalogModel {
  const perSecond = (m: CatalogModel) => m.pricing.credits_per_second[m.default_size]! + m.pricing.audio_credits_per_second;
  return models.filter((m) => !m.deprecated && m.available && m.audio).reduce((a, b) => (perSecond(b) < perSecond(a) ? b : a));
}

const box = async (l: Locator) => {
  const b = await l.boundingBox();
  if (!b) throw new Error('element not rendered');
  return b;
};

describe.skipIf(!haveChromium)(`web console in Chromium${haveChromium ? '' : ` (skipped: ${CHROMIUM} not found; apt-get install -y chromium)`}`, () => {
  let s: TestServer;
  let context: BrowserContext;
  let profile: string;
  let page: Page;
  let models: CatalogModel[];
  const requests: string[] = [];
  /** The last-frame task the extend test continues. */
  let lastFrameTask = '';
  const viewport = { width: 1280, height: 860 };

  const useKey = async (key: string) => {
    await page.getByRole('textbox', { name: /^API key/ }).fill(key);
    await page.getByRole('button', { name: 'Use key' }).click();
    await expect.poll(() => page.locator('#key-status').textContent()).toMatch(/^Connected/);
  };
  const chooseImage = async (name: string, width: number, height: number) => {
    await page.getByLabel('Start image').setInputFiles({ name, mimeType: 'image/png', buffer: await makeImage(width, height) });
    await expect.poll(() => page.locator('#image-info').textContent()).toContain(`${width}×${height} px`);
  };
  const optionTexts = (id: string) => page.locator(`#${id} option`).allTextContents();
  /** Click Generate and return the new task's id, once the console says it was submitted. */
  const generateTask = async () => {
    await page.getByRole('button', { name: 'Generate video' }).click();
    await expect.poll(() => page.locator('#form-status').textContent()).toMatch(/^Submitted task_/);
    return /(task_\w+)/.exec((await page.locator('#form-status').textContent())!)![1]!;
  };

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    s = await startServer();
    models = ((await (await s.api('/v1/models')).json()) as { data: CatalogModel[] }).data;
    profile = await mkdtemp(join(tmpdir(), 'reelay-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport,
    });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.base });
    page = context.pages()[0] ?? await context.newPage();
    page.on('request', (r) => requests.push(r.url()));
    await mkdir(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await context?.close();
    await s?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it('before a key the pickers say where the dev key is; an image chosen first gets its aspect once the models load', async () => {
    await page.goto(`${s.base}/`);
    expect(await optionTexts('model')).toEqual(['Use an API key to load the models']);
    await expect.poll(() => page.locator('#pickers-hint').isVisible()).toBe(true);
    expect(await page.locator('#key-hint').textContent()).toMatch(/npm start[\s\S]*data\/dev-api-key/);

    await page.getByRole('button', { name: 'Generate video' }).click();
    await expect.poll(() => page.locator('#form-error').textContent()).toMatch(/Use an API key first/);
    expect(await page.locator('#form-error').isVisible()).toBe(true);

    await chooseImage('tall.png', 360, 640);
    await useKey(s.key);
    await expect.poll(() => page.getByLabel('Aspect ratio').inputValue()).toBe('9:16');
    expect(await page.locator('#pickers-hint').isVisible()).toBe(false);
    // Connecting answered the "use a key first" error, so it is gone.
    expect(await page.locator('#form-error').textContent()).toBe('');
  });

  it('defaults to the cheapest current model with audio; older names are grouped; sizes offer only their durations', async () => {
    const cheapest = cheapestWithAudio(models);
    expect(await page.getByLabel('Model', { exact: true }).inputValue()).toBe(cheapest.id);
    const older = (await page.evaluate(`[...document.querySelectorAll('#model optgroup[label^="Older names"] option')].map((o) => o.value)`)) as string[];
    expect(older.sort()).toEqual(models.filter((m) => m.deprecated).map((m) => m.id).sort());
    expect(await page.locator('#model optgroup[label="Current models"] option').count()).toBe(models.filter((m) => !m.deprecated).length);

    // seconds_by_size: Veo 3.1 Lite renders 1080p only at 8 s.
    await page.getByLabel('Model', { exact: true }).selectOption('veo-3.1-lite-generate-001');
    expect((await optionTexts('size')).filter((t) => t.endsWith('— 8 s only')).map((t) => t.split(' ')[0])).toEqual(['1080p']);
    await page.getByLabel('Size', { exact: true }).selectOption('1080p');
    expect(await optionTexts('seconds')).toEqual(['8 s']);
    expect(await page.locator('#seconds-note').textContent()).toContain('renders only 8 s');
    await page.getByLabel('Size', { exact: true }).selectOption('720p');
    expect(await optionTexts('seconds')).toEqual(['4 s', '6 s', '8 s']);

    // A deprecated name still works, says what replaces it, and one click moves to it.
    await page.getByLabel('Model', { exact: true }).selectOption('veo-3.1-fast-generate-preview');
    expect(await optionTexts('seconds')).toEqual(['8 s']);
    expect(await page.locator('#model-note').textContent()).toContain('older name');
    await page.getByRole('button', { name: 'Use Veo 3.1 Fast' }).click();
    expect(await page.getByLabel('Model', { exact: true }).inputValue()).toBe('veo-3.1-fast-generate-001');
  });

  it('a portrait image chosen after the key renders 9:16, framed as portrait in the preview; every new image re-picks the aspect', async () => {
    const aspect = page.getByLabel('Aspect ratio');
    await page.getByLabel('Model', { exact: true }).selectOption(cheapestWithAudio(models).id);
    await chooseImage('wide.png', 640, 360);
    expect(await aspect.inputValue()).toBe('16:9');
    await chooseImage('portrait.png', 720, 1280);
    expect(await aspect.inputValue()).toBe('9:16');
    const frame = await box(page.locator('#frame'));
    expect(frame.height).toBeGreaterThan(frame.width * 1.5);
    expect(await page.locator('#aspect-note').textContent()).toContain('nothing is cropped');

    // A 3:4 photo goes to 9:16 too, and the console says what the crop takes.
    await chooseImage('photo.png', 900, 1200);
    expect(await aspect.inputValue()).toBe('9:16');
    expect(await page.locator('#aspect-note').textContent()).toMatch(/left and right of the image are cropped \(75% of its width/);
    // A hand-picked landscape frame on a portrait photo is allowed, but called out.
    await aspect.selectOption('16:9');
    expect(await page.locator('#aspect-note').textContent()).toMatch(/top and bottom .* cropped[\s\S]*9:16 would fit this image better/);
    // …and the next image wins again.
    await chooseImage('portrait.png', 720, 1280);
    expect(await aspect.inputValue()).toBe('9:16');

    await page.getByLabel('Prompt', { exact: true }).fill('a slow tilt up the tower');
    await page.getByLabel('Seconds', { exact: true }).selectOption('4');
    const id = await generateTask();
    const { task } = await waitForTask(s, id);
    expect(task.aspect_ratio).toBe('9:16');
    expect(task.metadata!.height).toBeGreaterThan(task.metadata!.width);
  });

  it('paste a key, upload, pick, submit, watch the progress reach 100, play, download and copy the link; history shows time, cost, model', async () => {
    await chooseImage('start.png', 640, 360);
    expect(await page.locator('#image-info').textContent()).toContain('640×360 px, ratio 1.78:1');
    await page.getByLabel('Prompt', { exact: true }).fill('slow push in on the mountains');
    const model = cheapestWithAudio(models);
    await page.getByLabel('Model', { exact: true }).selectOption(model.id);
    await page.getByLabel('Size', { exact: true }).selectOption('720p');
    await page.getByLabel('Seconds', { exact: true }).selectOption('4');
    const p = model.pricing;
    const expected = Math.ceil(4 * (p.credits_per_second['720p']! + p.audio_credits_per_second));
    await expect.poll(() => page.locator('#price').textContent()).toBe(`${expected.toLocaleString('en-US')} credits`);

    const id = await generateTask();
    // Browser-side code is passed as strings (the project's TypeScript has no DOM lib) and polled
    // from here: waitForFunction would eval() inside the page, which the console's CSP forbids.
    await expect.poll(() => page.evaluate("document.getElementById('progress').value"), { timeout: 60_000 }).toBe(100);
    await expect.poll(() => page.locator('#status').textContent()).toMatch(/succeeded/);
    const videoDuration = () => page.evaluate(`(() => {
      const v = document.getElementById('player');
      return !v.hidden && Number.isFinite(v.duration) ? v.duration : 0;
    })()`) as Promise<number>;
    await expect.poll(videoDuration, { timeout: 30_000 }).toBeGreaterThan(0);
    expect(Math.abs((await videoDuration()) - 4)).toBeLessThanOrEqual(0.1);
    const task = (await (await s.api(`/v1/video/generations/${id}`)).json()) as { url: string; created_at: number; credits: { charged: number } };

    // Download saves the video under the task's name; Copy link puts a working link on the clipboard.
    const current = page.locator('#current-actions');
    const [download] = await Promise.all([page.waitForEvent('download'), current.getByRole('link', { name: `Download ${id}` }).click()]);
    expect(download.suggestedFilename()).toBe(`${id}.mp4`);
    expect((await stat((await download.path())!)).size).toBeGreaterThan(1000);
    await current.getByRole('button', { name: `Copy link to ${id}` }).click();
    await expect.poll(() => current.locator('.copied').textContent()).toMatch(/^Link copied; it works until/);
    const copied = (await page.evaluate('navigator.clipboard.readText()')) as string;
    expect(copied).toBe(new URL(task.url, s.base).href);
    const video = await fetch(copied);
    expect(video.status).toBe(200);
    expect(video.headers.get('content-type')).toContain('video/mp4');

    // The history row: status, model by name, when, what it cost, and the same actions.
    const row = page.locator('#tasks li', { has: page.getByRole('button', { name: `Play ${id}` }) });
    await expect.poll(() => row.locator('.badge').textContent()).toBe('succeeded');
    expect(await row.locator('.model').textContent()).toBe(model.display_name);
    expect(await row.locator('time').getAttribute('datetime')).toBe(new Date(task.created_at * 1000).toISOString());
    expect(task.credits.charged).toBe(expected);
    expect(await row.locator('.cost').textContent()).toBe(`${expected.toLocaleString('en-US')} credits`);
    expect(await row.getByRole('link', { name: `Download ${id}` }).count()).toBe(1);
    expect(await row.getByRole('button', { name: `Copy link to ${id}` }).count()).toBe(1);

    await page.evaluate("document.querySelector('#tasks li img.thumb').decode()");
    await page.evaluate(`new Promise((r) => { const v = document.getElementById('player'); v.addEventListener('seeked', r, { once: true }); v.currentTime = 2; })`);
    await page.screenshot({ path: join(SHOTS, 'console.png'), fullPage: true });
  });

  it('cancels an active task from the list', async () => {
    const res = await s.api('/v1/video/generations', {
      method: 'POST',
      json: { model: 'veo-3.0-fast-generate-001', prompt: 'x', aspect_ratio: '16:9', seconds: 8, size: '4k', images: [`data:image/png;base64,${(await makeImage(320, 180)).toString('base64')}`] },
    });
    const { id } = (await res.json()) as { id: string };
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByRole('button', { name: `Cancel ${id}` }).click();
    await expect.poll(async () => ((await (await s.api(`/v1/video/generations/${id}`)).json()) as { status: string }).status).toBe('cancelled');
    await expect.poll(() => page.getByRole('button', { name: `Cancel ${id}` }).count()).toBe(0);
  });

  it('a submit error shows next to Generate, in view, and goes once the form is fixed (a missing image; a 402)', async () => {
    const poor = await s.app.keys.create('poor');
    await s.app.credits.grant(poor.id, 40, 'test: too few credits for an 8 s video');
    await page.getByRole('button', { name: 'Forget' }).click();
    await useKey(poor.key);
    await expect.poll(() => page.locator('#balance').textContent()).toBe('Credits: 40');
    const model = cheapestWithAudio(models);
    const cost = (seconds: number, size: string) => seconds * (model.pricing.credits_per_second[size]! + model.pricing.audio_credits_per_second);
    expect(cost(8, '720p')).toBeGreaterThan(40);
    expect(cost(8, '1080p')).toBeGreaterThan(40);
    expect(cost(4, '720p')).toBeLessThanOrEqual(40);
    await page.getByLabel('Model', { exact: true }).selectOption(model.id);
    await page.getByLabel('Size', { exact: true }).selectOption('720p');
    await page.getByLabel('Seconds', { exact: true }).selectOption('8');
    await page.getByLabel('Start image').setInputFiles([]);
    await page.getByLabel('Prompt', { exact: true }).fill('waves rolling in');

    const error = page.locator('#form-error');
    const generate = page.getByRole('button', { name: 'Generate video' });
    const nextToGenerate = async () => {
      // In the form's action area, inside the viewport, and right above the button.
      expect(await page.locator('#generate .form-actions #form-error').count()).toBe(1);
      const e = await box(error), b = await box(generate);
      expect(e.y).toBeGreaterThanOrEqual(0);
      expect(e.y + e.height).toBeLessThanOrEqual(viewport.height);
      expect(b.y + b.height).toBeLessThanOrEqual(viewport.height);
      expect(b.y - (e.y + e.height)).toBeGreaterThanOrEqual(0);
      expect(b.y - (e.y + e.height)).toBeLessThan(40);
    };

    await generate.click();
    await expect.poll(() => error.textContent()).toMatch(/Choose a start image/);
    await nextToGenerate();
    expect(await page.getByLabel('Start image').getAttribute('aria-invalid')).toBe('true');
    await chooseImage('sea.png', 640, 360);
    await expect.poll(() => error.textContent()).toBe('');
    expect(await page.getByLabel('Start image').getAttribute('aria-invalid')).toBeNull();

    await page.evaluate('window.scrollTo(0, 0)');
    await generate.click();
    await expect.poll(() => error.textContent()).toMatch(`costs ${cost(8, '720p')} credits but the key's balance is 40`);
    await nextToGenerate();
    expect(await error.getAttribute('role')).toBe('alert');
    await page.screenshot({ path: join(ARTIFACTS, 'console-402.png') });

    // Still too dear at 1080p: the error stays; 4 s at 720p fits the balance: it goes.
    await page.getByLabel('Size', { exact: true }).selectOption('1080p');
    expect(await error.textContent()).toMatch(`costs ${cost(8, '720p')} credits`);
    await page.getByLabel('Size', { exact: true }).selectOption('720p');
    await page.getByLabel('Seconds', { exact: true }).selectOption('4');
    await expect.poll(() => error.textContent()).toBe('');
    expect(await error.isVisible()).toBe(false);

    await page.getByRole('button', { name: 'Forget' }).click();
    await useKey(s.key);
  });

  it('last frame and reference pickers show only for models that take them; a last frame ends the video; references are uploaded', async () => {
    const visible = async () => ({
      last: await page.locator('#last-frame-box').isVisible(), refs: await page.locator('#references-box').isVisible(),
    });
    const model = page.getByLabel('Model', { exact: true });
    await model.selectOption('veo-3.0-fast-generate-001');
    expect(await visible()).toEqual({ last: false, refs: false });
    await model.selectOption('veo-3.1-lite-generate-001');
    expect(await visible()).toEqual({ last: true, refs: false });
    await model.selectOption('gemini-omni-1.1-flash');
    expect(await visible()).toEqual({ last: false, refs: true });
    expect(await page.locator('#references-hint').textContent()).toMatch(/^Up to 3 pictures/);
    await model.selectOption('veo-3.1-fast-generate-001');
    expect(await visible()).toEqual({ last: true, refs: true });
    expect(await page.locator('#references-hint').textContent()).toMatch(/^Up to 2 pictures[\s\S]*renders 8 s/);

    const flat = (color: string) => sharp({ create: { width: 320, height: 180, channels: 3, background: color } }).png().toBuffer();
    const [red, green, blue] = await Promise.all(['#e01010', '#10c010', '#1010e0'].map(flat));
    await chooseImage('start.png', 640, 360);
    await page.getByLabel('Prompt', { exact: true }).fill('a slow push in');
    const refsInput = page.getByLabel('Reference images');
    await refsInput.setInputFiles([{ name: 'green.png', mimeType: 'image/png', buffer: green! }, { name: 'blue.png', mimeType: 'image/png', buffer: blue! }]);
    await expect.poll(() => page.locator('#references-info').textContent()).toMatch(/^2 reference pictures: green\.png, blue\.png/);
    // Veo 3.1 renders references at 8 s only: the seconds follow.
    expect(await optionTexts('seconds')).toEqual(['8 s']);
    expect(await page.locator('#seconds-note').textContent()).toContain('With reference images');

    // Both a last frame and references: refused in the form, before any upload.
    await page.getByLabel('Last frame').setInputFiles({ name: 'red.png', mimeType: 'image/png', buffer: red! });
    await expect.poll(() => page.locator('#last-frame-info').textContent()).toContain('the video ends on this image');
    await page.getByRole('button', { name: 'Generate video' }).click();
    await expect.poll(() => page.locator('#form-error').textContent()).toMatch(/cannot go together/);
    expect(await refsInput.getAttribute('aria-invalid')).toBe('true');
    await page.getByRole('button', { name: 'Remove the reference images' }).click();
    await expect.poll(() => page.locator('#form-error').textContent()).toBe('');
    expect(await optionTexts('seconds')).toEqual(['4 s', '6 s', '8 s']);

    // The last frame: the video ends on it.
    await page.getByLabel('Seconds', { exact: true }).selectOption('4');
    const lastId = await generateTask();
    const { task: last } = await waitForTask(s, lastId);
    expect(last).toMatchObject({ status: 'succeeded', model: 'veo-3.1-fast-generate-001', metadata: { camera: { last_frame: true } } });

    // References: uploaded as reference_images, in order, exactly these bytes.
    await page.getByRole('button', { name: 'Remove the last frame' }).click();
    await refsInput.setInputFiles([{ name: 'green.png', mimeType: 'image/png', buffer: green! }, { name: 'blue.png', mimeType: 'image/png', buffer: blue! }]);
    await expect.poll(() => page.locator('#references-info').textContent()).toMatch(/^2 reference pictures/);
    const refId = await generateTask();
    const stored = await Promise.all([0, 1].map((i) => readFile(join(s.dataDir, 'blobs', 'inputs', refId, `ref-${i}.png`))));
    expect(stored).toEqual([green, blue]);
    expect((await s.api(`/v1/video/generations/${refId}/cancel`, { method: 'POST' })).status).toBe(200);

    // A Vidu reference model takes 6 besides the start image: more files than multipart parts, sent as JSON.
    await model.selectOption('viduq1');
    expect(await page.locator('#references-hint').textContent()).toMatch(/^Up to 6 pictures/);
    const four = [red, green, blue, red].map((buffer, i) => ({ name: `ref${i}.png`, mimeType: 'image/png', buffer: buffer! }));
    await refsInput.setInputFiles(four);
    await expect.poll(() => page.locator('#references-info').textContent()).toMatch(/^4 reference pictures/);
    const viduId = await generateTask();
    expect(await Promise.all([0, 1, 2, 3].map((i) => readFile(join(s.dataDir, 'blobs', 'inputs', viduId, `ref-${i}.png`))))).toEqual(four.map((f) => f.buffer));
    expect((await s.api(`/v1/video/generations/${viduId}/cancel`, { method: 'POST' })).status).toBe(200);
    await page.getByRole('button', { name: 'Remove the reference images' }).click();
    await model.selectOption('veo-3.1-fast-generate-001');
    lastFrameTask = lastId;
  });

  it('extends a finished task from its card: the new task is the whole, longer video', async () => {
    await page.getByRole('button', { name: 'Refresh' }).click();
    const card = page.locator('#tasks li', { has: page.getByRole('button', { name: `Play ${lastFrameTask}` }) });
    await card.getByRole('button', { name: `Extend ${lastFrameTask}` }).click();
    const dialog = page.getByRole('dialog', { name: `Extend ${lastFrameTask}` });
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(await dialog.locator('#extend-seconds option').allTextContents()).toEqual(['7 s']);
    const shown = Number((await dialog.locator('#extend-price').textContent())!.replace(/ credits$/, '').replace(/,/g, ''));
    // Only models that extend offer it: Veo 3.1 Lite's tasks have no Extend.
    const lite = (await (await s.api('/v1/video/generations?limit=100')).json() as { data: { id: string; model: string; status: string }[] }).data
      .find((t) => t.model === 'veo-3.1-lite-generate-001' && t.status === 'succeeded');
    if (lite) expect(await page.getByRole('button', { name: `Extend ${lite.id}` }).count()).toBe(0);

    await dialog.getByRole('button', { name: 'Extend video' }).click();
    await expect.poll(() => dialog.locator('#extend-error').textContent()).toMatch(/Write how the video goes on/);
    await dialog.getByLabel('How the video goes on').fill('the camera keeps pushing in');
    await page.screenshot({ path: join(ARTIFACTS, 'console-extend.png') });
    await dialog.getByRole('button', { name: 'Extend video' }).click();
    await expect.poll(() => dialog.isVisible()).toBe(false);
    await expect.poll(() => page.locator('#form-status').textContent()).toMatch(new RegExp(`^Submitted task_\\w+, extending ${lastFrameTask}`));
    const id = /(task_\w+)/.exec((await page.locator('#form-status').textContent())!)![1]!;
    const { task } = await waitForTask(s, id);
    expect(task).toMatchObject({ status: 'succeeded', extend_task_id: lastFrameTask, seconds: '7', metadata: { extension: { source_task_id: lastFrameTask } } });
    expect(task.metadata!.duration).toBeCloseTo(4 + 7, 0);
    // The dialog's price is what the server charged.
    expect((task.credits as { charged: number }).charged).toBe(shown);
    await expect.poll(() => page.locator('#status').textContent()).toMatch(/succeeded: 11(\.\d+)? s/);
  });

  it('every control is labelled, the page fits a phone, an extreme image is refused before upload, nothing leaves the server', async () => {
    const unlabelled = await page.evaluate(`[...document.querySelectorAll('input, select, textarea, progress')]
      .filter((el) => !el.labels?.length && !el.getAttribute('aria-label')).map((el) => el.id)`);
    expect(unlabelled).toEqual([]);

    await page.setViewportSize({ width: 390, height: 844 });
    await chooseImage('portrait.png', 720, 1280);
    const overflowing = await page.evaluate(`[...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5).map((e) => e.tagName + '#' + e.id + '.' + e.className)`);
    expect(overflowing).toEqual([]);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.evaluate("window.scrollTo(0, document.getElementById('generate').getBoundingClientRect().top + window.scrollY - 12)");
    await page.screenshot({ path: join(SHOTS, 'console-mobile.png') });

    await page.getByLabel('Start image').setInputFiles({ name: 'strip.png', mimeType: 'image/png', buffer: await makeImage(900, 100) });
    await expect.poll(() => page.locator('#image-info').textContent()).toContain('outside the allowed 1:4 to 4:1');
    expect(await page.getByLabel('Start image').getAttribute('aria-invalid')).toBe('true');

    const foreign = requests.filter((u) => !u.startsWith(`${s.base}/`) && !u.startsWith('blob:') && !u.startsWith('data:'));
    expect(foreign).toEqual([]);
  });
});
