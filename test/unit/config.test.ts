import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.host).toBe('127.0.0.1');
    expect(c.dataDir).toMatch(/\/data$/);
    expect(c.databaseFile).toMatch(/data\/reelay\.sqlite$/);
    expect(c.allowPrivateUrls).toBe(false);
    expect(c.limits.bodyBytes).toBe(20 * 1024 * 1024);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reports every invalid key together', () => {
    let err: unknown;
    try {
      loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', REELAY_ALLOW_PRIVATE_URLS: 'maybe', REELAY_LEASE_MS: '5' });
    } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    for (const k of ['PORT', 'LOG_LEVEL', 'REELAY_ALLOW_PRIVATE_URLS', 'REELAY_LEASE_MS']) expect(problems).toContain(k);
    expect((err as ConfigError).problems).toHaveLength(4);
  });

  it('reads an optional JSON config file; the environment wins over it', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'reelay.json');
    writeFileSync(file, JSON.stringify({ PORT: 9000, HOST: '0.0.0.0' }));
    const c = loadConfig({ REELAY_CONFIG: file, HOST: '127.0.0.2' });
    expect(c.port).toBe(9000);
    expect(c.host).toBe('127.0.0.2');
    expect(() => loadConfig({ REELAY_CONFIG: '/nonexistent.json' })).toThrow(ConfigError);
  });
});
