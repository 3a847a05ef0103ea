import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/child-server.ts';

let env: Record<string, string>;
beforeAll(async () => { env = { REELAY_DATA_DIR: await mkdtemp(join(tmpdir(), 'reelay-cli-')) }; });
afterAll(async () => { await rm(env.REELAY_DATA_DIR!, { recursive: true, force: true }); });

describe('reelay keys', () => {
  it('create --json prints {id,key,webhook_secret}; list shows it; revoke marks it', async () => {
    const created = await cli(['keys', 'create', '--name', 'ci', '--json'], env);
    expect(created.code).toBe(0);
    const k = JSON.parse(created.stdout) as Record<string, string>;
    expect(Object.keys(k).sort()).toEqual(['id', 'key', 'webhook_secret']);
    const list = await cli(['keys', 'list', '--json'], env);
    const rows = JSON.parse(list.stdout) as { id: string; name: string; revoked_at: number | null }[];
    expect(rows).toContainEqual(expect.objectContaining({ id: k.id, name: 'ci', revoked_at: null }));
    expect(list.stdout).not.toContain(k.key!);
    expect((await cli(['keys', 'revoke', k.id!], env)).code).toBe(0);
    const after = JSON.parse((await cli(['keys', 'list', '--json'], env)).stdout) as { id: string; revoked_at: number | null }[];
    expect(after.find((r) => r.id === k.id)?.revoked_at).toEqual(expect.any(Number));
  });

  it('keys create --credits, credits grant and credits show keep the ledger', async () => {
    const k = JSON.parse((await cli(['keys', 'create', '--name', 'rich', '--credits', '500', '--json'], env)).stdout) as { id: string };
    const granted = await cli(['credits', 'grant', k.id, '250', '--note', 'bonus', '--json'], env);
    expect(JSON.parse(granted.stdout)).toEqual({ key_id: k.id, balance: 750 });
    const shown = JSON.parse((await cli(['credits', 'show', k.id, '--json'], env)).stdout) as { balance: number; entries: { kind: string; note: string }[] };
    expect(shown.balance).toBe(750);
    expect(shown.entries.map((e) => [e.kind, e.note])).toEqual([['grant', 'bonus'], ['grant', 'initial grant']]);
    const below = await cli(['credits', 'grant', k.id, '--', '-1000'], env);
    expect(below.code).toBe(1);
    expect(below.stderr).toMatch(/negative/);
    expect((await cli(['credits', 'grant', k.id, 'lots'], env)).code).toBe(2);
    expect((await cli(['credits', 'grant', k.id, '-5'], env)).code).toBe(2); // an option-looking amount needs --
  });

  it('usage errors exit 2 with a message; unknown key ids exit 1', async () => {
    const none = await cli([], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: reelay');
    expect((await cli(['keys', 'create'], env)).code).toBe(2);
    expect((await cli(['frobnicate'], env)).code).toBe(2);
    const missing = await cli(['keys', 'revoke', 'key_nope'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('key_nope');
  });

  it('a bad configuration lists every bad key and exits 2', async () => {
    const r = await cli(['keys', 'list'], { ...env, PORT: 'x', LOG_LEVEL: 'nope' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('PORT');
    expect(r.stderr).toContain('LOG_LEVEL');
  });
});
