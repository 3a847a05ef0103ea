import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { rateBucket } from '../../src/infra/rate-bucket.ts';
import { estimatedProgress, failureDelay, nextPollDelay } from '../../src/providers/upstream/poll-schedule.ts';
import { redact, retryAfterMs } from '../../src/providers/upstream/http-call.ts';

describe('poll schedule', () => {
  const t = { pollMs: 2000, maxIntervalMs: 10_000 };
  it('grows ×1.5 per poll to the ceiling, with ±10 % jitter', () => {
    expect(nextPollDelay(0, t, () => 0.5)).toBe(2000);
    expect(nextPollDelay(1, t, () => 0.5)).toBe(3000);
    expect(nextPollDelay(2, t, () => 0.5)).toBe(4500);
    expect(nextPollDelay(20, t, () => 0.5)).toBe(10_000);
    expect(nextPollDelay(20, t, () => 0)).toBe(9000);
    expect(nextPollDelay(20, t, () => 0.9999)).toBeLessThanOrEqual(11_000);
  });

  it('backs off after failures and honours an upstream\'s Retry-After', () => {
    expect(failureDelay(1, t)).toBe(4000);
    expect(failureDelay(10, t)).toBe(30_000);
    expect(failureDelay(1, t, 60_000)).toBe(60_000);
    expect(retryAfterMs('7')).toBe(7000);
    expect(retryAfterMs(undefined)).toBe(10_000);
    expect(retryAfterMs('99999')).toBe(300_000);
    expect(retryAfterMs(new Date(Date.now() + 20_000).toUTCString())).toBeGreaterThan(15_000);
  });

  it('estimates progress that rises and never reaches the cap', () => {
    expect(estimatedProgress(0, 60_000)).toBe(0);
    expect(estimatedProgress(60_000, 60_000)).toBeGreaterThan(50);
    expect(estimatedProgress(3_600_000, 60_000)).toBeLessThanOrEqual(90);
  });

  it('a rate bucket spaces calls at its rate and pauses on demand', async () => {
    let now = 0;
    const b = rateBucket(10, 1, () => now);
    expect(b.waitMs()).toBe(0);
    void b.take();
    expect(b.waitMs()).toBe(100);
    now = 100;
    expect(b.waitMs()).toBe(0);
    b.pause(5000);
    expect(b.waitMs()).toBe(5000);
  });

  it('redacts credentials from upstream messages', () => {
    expect(redact('key AIza123 is invalid', ['AIza123'])).toBe('key [redacted] is invalid');
  });
});

describe('upstream configuration', () => {
  it('the simple form makes one channel per provider with credentials, named after it', () => {
    const c = loadConfig({ GEMINI_API_KEY: 'k1', VIDU_API_KEY: 'k2' });
    expect(c.upstreams.channels).toEqual([
      { name: 'gemini', provider: 'gemini', apiKey: 'k1', baseUrl: 'https://generativelanguage.googleapis.com', priority: 0, weight: 1, models: null, ratePerSecond: 20 },
      { name: 'vidu', provider: 'vidu', apiKey: 'k2', baseUrl: 'https://api.vidu.com/ent/v2', priority: 0, weight: 1, models: null, ratePerSecond: 20 },
    ]);
    expect(c.upstreams).toMatchObject({ pollMs: 2000, maxIntervalMs: 10_000, viduCallbacks: false });
    const v = loadConfig({ VERTEX_PROJECT: 'p', VERTEX_ACCESS_TOKEN: 't' });
    expect(v.upstreams.channels[0]).toMatchObject({ name: 'vertex', project: 'p', location: 'us-central1', auth: { accessToken: 't' }, baseUrl: 'https://us-central1-aiplatform.googleapis.com' });
    const sa = loadConfig({ VERTEX_PROJECT: 'p', GOOGLE_APPLICATION_CREDENTIALS: '/etc/sa.json' });
    expect(sa.upstreams.channels[0]).toMatchObject({ auth: { credentialsFile: '/etc/sa.json' } });
    expect(loadConfig({}).upstreams.channels).toEqual([]);
    expect(loadConfig({ REELAY_PUBLIC_URL: 'https://reelay.example' }).upstreams.viduCallbacks).toBe(true);
  });

  it('REELAY_UPSTREAM_CHANNELS adds weighted, prioritised channels with their own limits', () => {
    const c = loadConfig({
      GEMINI_API_KEY: 'k1',
      REELAY_UPSTREAM_CHANNELS: JSON.stringify([
        { name: 'gemini-b', provider: 'gemini', apiKey: 'k2', weight: 3, ratePerSecond: 5 },
        { name: 'vertex-eu', provider: 'vertex', project: 'p', location: 'europe-west4', credentialsFile: 'sa.json', priority: -1, models: ['veo-3.0-generate-001'] },
      ]),
    });
    expect(c.upstreams.channels.map((ch) => [ch.name, ch.weight, ch.priority, ch.ratePerSecond])).toEqual([
      ['gemini', 1, 0, 20], ['gemini-b', 3, 0, 5], ['vertex-eu', 1, -1, 20],
    ]);
    expect(c.upstreams.channels[2]).toMatchObject({ baseUrl: 'https://europe-west4-aiplatform.googleapis.com', models: { 'veo-3.0-generate-001': null } });
  });

  it('a REELAY_CONFIG file gives the channels as a JSON array (API.md §11: several channels per provider)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reelay-cfg-'));
    try {
      const file = join(dir, 'reelay.json');
      await writeFile(file, JSON.stringify({
        REELAY_UPSTREAM_POLL_MS: 500,
        REELAY_UPSTREAM_CHANNELS: [
          { name: 'vidu-a', provider: 'vidu', apiKey: 'k1', weight: 2 },
          { name: 'vidu-b', provider: 'vidu', apiKey: 'k2', priority: -1 },
        ],
      }));
      const c = loadConfig({ REELAY_CONFIG: file });
      expect(c.upstreams.pollMs).toBe(500);
      expect(c.upstreams.channels.map((ch) => [ch.name, ch.provider, ch.weight, ch.priority])).toEqual([['vidu-a', 'vidu', 2, 0], ['vidu-b', 'vidu', 1, -1]]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad channels with the field named and never echoes a credential', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).problems.join('\n');
      }
      return '';
    };
    expect(problems({ VERTEX_PROJECT: 'p' })).toContain('GOOGLE_APPLICATION_CREDENTIALS');
    const env = problems({ GEMINI_BASE_URL: 'not a url', REELAY_UPSTREAM_TIMEOUT_MS: 'x', VERTEX_ACCESS_TOKEN: 'ya29.secret' });
    expect(env).toContain('GEMINI_BASE_URL');
    expect(env).not.toContain('ya29.secret');
    const bad = problems({
      VERTEX_ACCESS_TOKEN: 'ya29.secret',
      REELAY_UPSTREAM_CHANNELS: JSON.stringify([{ name: 'x', provider: 'gemini', apiKey: 'AIzaSECRET', weight: -1 }, { name: 'y', provider: 'sora' }]),
    });
    expect(bad).toContain('REELAY_UPSTREAM_CHANNELS[0.weight]');
    expect(bad).toContain('REELAY_UPSTREAM_CHANNELS[1.provider]');
    expect(bad).toContain('VERTEX_ACCESS_TOKEN: also set VERTEX_PROJECT');
    expect(bad).not.toContain('ya29.secret');
    expect(bad).not.toContain('AIzaSECRET');
    expect(problems({ GEMINI_API_KEY: 'k', REELAY_UPSTREAM_CHANNELS: JSON.stringify([{ name: 'gemini', provider: 'gemini', apiKey: 'k2' }]) })).toContain('used twice');
    expect(problems({ REELAY_UPSTREAM_CHANNELS: '[{' })).toContain('not valid JSON');
  });
});
