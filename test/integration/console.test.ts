import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { makeImage } from '../helpers/images.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

// Debian's Chromium driven by playwright-core (no browser download). CI installs it:
//   command -v chromium || (apt-get update -qq && apt-get install -y -qq chromium)
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  process.stderr.write(`[reelay tests] console browser tests skipped: ${CHROMIUM} not found (apt-get install -y chromium).\n`);
}
const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts');

describe.skipIf(!haveChromium)(`web console in Chromium${haveChromium ? '' : ` (skipped: ${CHROMIUM} not found; apt-get install -y chromium)`}`, () => {
  let s: TestServer;
  let context: BrowserContext;
  let profile: string;
  let page: Page;
  const requests: string[] = [];

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    s = await startServer();
    profile = await mkdtemp(join(tmpdir(), 'reelay-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 860 },
    });
    page = context.pages()[0] ?? await context.newPage();
    page.on('request', (r) => requests.push(r.url()));
  });
  afterAll(async () => {
    await context?.close();
    await s?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it('paste a key, upload, pick, submit, watch the progress reach 100 and play the video', async () => {
    await page.goto(`${s.base}/`);
    await page.getByRole('textbox', { name: /^API key/ }).fill(s.key);
    await page.getByRole('button', { name: 'Use key' }).click();
    await expect.poll(() => page.locator('#model option').count()).toBeGreaterThan(1);
    await expect.poll(() => page.locator('#balance').textContent()).toMatch(/Credits: [\d,]+/);

    // The start image through the file input; the ratio check shows before anything is uploaded.
    await page.getByLabel('Start image').setInputFiles({ name: 'start.png', mimeType: 'image/png', buffer: await makeImage(320, 180) });
    await expect.poll(() => page.locator('#image-info').textContent()).toContain('320×180 px, ratio 1.78:1');
    await page.getByLabel('Prompt', { exact: true }).fill('slow push in on the mountains');

    // Veo 3.1 with an image only offers 8 s.
    await page.getByLabel('Model', { exact: true }).selectOption('veo-3.1-fast-generate-preview');
    expect(await page.locator('#seconds option').allTextContents()).toEqual(['8 s']);
    await page.getByLabel('Model', { exact: true }).selectOption('veo-3.0-fast-generate-001');
    expect(await page.locator('#seconds option').allTextContents()).toEqual(['4 s', '6 s', '8 s']);
    await page.getByLabel('Size', { exact: true }).selectOption('720p');
    await page.getByLabel('Seconds', { exact: true }).selectOption('4');
    const models = (await (await s.api('/v1/models')).json()) as { data: { id: string; pricing: { credits_per_second: Record<string, number>; audio_credits_per_second: number } }[] };
    const p = models.data.find((m) => m.id === 'veo-3.0-fast-generate-001')!.pricing;
    const expected = Math.ceil(4 * (p.credits_per_second['720p']! + p.audio_credits_per_second));
    await expect.poll(() => page.locator('#price').textContent()).toBe(`${expected.toLocaleString('en-US')} credits`);

    await page.getByRole('button', { name: 'Generate video' }).click();
    // Browser-side code is passed as strings (the project's TypeScript has no DOM lib) and polled
    // from here: waitForFunction would eval() inside the page, which the console's CSP forbids.
    await expect.poll(() => page.evaluate("document.getElementById('progress').value"), { timeout: 60_000 }).toBe(100);
    await expect.poll(() => page.locator('#status').textContent()).toMatch(/succeeded/);

    const videoDuration = () => page.evaluate(`(() => {
      const v = document.getElementById('player');
      return !v.hidden && Number.isFinite(v.duration) ? v.duration : 0;
    })()`) as Promise<number>;
    await expect.poll(videoDuration, { timeout: 30_000 }).toBeGreaterThan(0);
    const duration = await videoDuration();
    expect(Math.abs(duration - 4)).toBeLessThanOrEqual(0.1);

    // The task list shows it with its thumbnail; the balance was charged.
    await expect.poll(() => page.locator('#tasks li .badge').first().textContent()).toBe('succeeded');
    await page.evaluate("document.querySelector('#tasks li img.thumb').decode()");
    await page.evaluate(`new Promise((r) => { const v = document.getElementById('player'); v.addEventListener('seeked', r, { once: true }); v.currentTime = 2; })`);

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'console.png'), fullPage: true });
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

  it('every control is labelled, the page fits a phone, an extreme image is refused before upload, nothing leaves the server', async () => {
    const unlabelled = await page.evaluate(`[...document.querySelectorAll('input, select, textarea, progress')]
      .filter((el) => !el.labels?.length && !el.getAttribute('aria-label')).map((el) => el.id)`);
    expect(unlabelled).toEqual([]);

    await page.setViewportSize({ width: 375, height: 740 });
    const overflowing = await page.evaluate(`[...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5).map((e) => e.tagName + '#' + e.id + '.' + e.className)`);
    expect(overflowing).toEqual([]);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await page.getByLabel('Start image').setInputFiles({ name: 'strip.png', mimeType: 'image/png', buffer: await makeImage(900, 100) });
    await expect.poll(() => page.locator('#image-info').textContent()).toContain('outside the allowed 1:4 to 4:1');
    expect(await page.getByLabel('Start image').getAttribute('aria-invalid')).toBe('true');

    const foreign = requests.filter((u) => !u.startsWith(`${s.base}/`) && !u.startsWith('blob:') && !u.startsWith('data:'));
    expect(foreign).toEqual([]);
  });
});
