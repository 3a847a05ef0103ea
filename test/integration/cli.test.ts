import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/child-server.ts';

let env: Record<string, string>;
beforeAll(async () => { env = { REELAY_DATA_DIR: await mkdtemp(join(tmpdir(), 'reelay-cli-')) }; });
afterAll(async () => { await rm(env.REELAY_DATA_DIR!, { recursive: true, force: true }); });

describe('reelay help', () => {
  it('--help, -h and help print the general usage on stdout and exit 0', async () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const r = await cli(args, env);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/^Usage: reelay <command>/);
      expect(r.stdout).toContain('generate --image FILE --prompt TEXT');
      expect(r.stderr).toBe('');
    }
  });

  it("every command's own --help (or -h, or help COMMAND) prints that command's usage and exits 0, needing no configuration", async () => {
    const cases: [string[], string][] = [
      [['generate', '--help'], 'Usage: reelay generate --image FILE --prompt TEXT [options]'],
      [['keys', 'create', '--help'], 'Usage: reelay keys create --name NAME [--credits N] [--json]'],
      [['keys', '-h'], 'Usage: reelay keys create'],
      [['help', 'keys', 'revoke'], 'Usage: reelay keys revoke KEY_ID'],
      [['channels', '--help'], 'Usage: reelay channels [--json]'],
      [['credits', 'grant', 'key_x', '-200', '--help'], 'Usage: reelay credits grant KEY_ID AMOUNT'],
      [['serve', '--help'], 'Usage: reelay serve [--role api|worker|all] [--demo]'],
      [['status', '-h'], 'Usage: reelay status TASK_ID'],
    ];
    for (const [args, usage] of cases) {
      // A broken server configuration does not stand in the way of reading the help.
      const r = await cli(args, { ...env, PORT: 'not-a-port' });
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout.startsWith(usage), `${args.join(' ')}: ${r.stdout}`).toBe(true);
      expect(r.stdout).not.toContain('Usage: reelay <command>');
    }
    expect((await cli(['generate', '--help'], env)).stdout).toContain('--out FILE');
  });
});

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
    expect(below.stderr.trim().split('\n')).toHaveLength(1); // not a usage error: no usage after it
    expect((await cli(['credits', 'grant', k.id, 'lots'], env)).code).toBe(2);
  });

  it('a negative AMOUNT adjusts down, written as is or after --, before or after --note', async () => {
    const k = JSON.parse((await cli(['keys', 'create', '--name', 'adjust', '--credits', '1000', '--json'], env)).stdout) as { id: string };
    const down = await cli(['credits', 'grant', k.id, '-200'], env);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toBe(`${k.id}: took 200 credits; balance 800 credits\n`);
    expect(JSON.parse((await cli(['credits', 'grant', '--json', k.id, '--', '-100'], env)).stdout)).toEqual({ key_id: k.id, balance: 700 });
    expect(JSON.parse((await cli(['credits', 'grant', '--note', 'fix', k.id, '-50', '--json'], env)).stdout)).toEqual({ key_id: k.id, balance: 650 });
    const shown = JSON.parse((await cli(['credits', 'show', k.id, '--json'], env)).stdout) as { entries: { amount: number; note: string | null }[] };
    expect(shown.entries.slice(0, 3).map((e) => [e.amount, e.note])).toEqual([[-50, 'fix'], [-100, null], [-200, null]]);
    const tooMuch = await cli(['credits', 'grant', k.id, '-5000'], env);
    expect(tooMuch.code).toBe(1);
    expect(tooMuch.stderr).toMatch(/negative/);
    expect((await cli(['credits', 'grant', k.id, '-1.5'], env)).code).toBe(2);
  });

  it('keys create without --credits says the key has 0 credits and how to grant some', async () => {
    const r = await cli(['keys', 'create', '--name', 'me'], env);
    expect(r.code).toBe(0);
    const id = /Created key (key_\w+) \(me\) with 0 credits\./.exec(r.stdout)?.[1];
    expect(id, r.stdout).toBeDefined();
    expect(r.stdout).toContain('It has 0 credits, so a submit answers 402');
    expect(r.stdout).toContain(`reelay credits grant ${id} 5000`);
    const rich = await cli(['keys', 'create', '--name', 'rich', '--credits', '5000'], env);
    expect(rich.stdout).toMatch(/with 5,000 credits\./);
    expect(rich.stdout).not.toContain('402');
  });

  it('usage errors exit 2 with the command\'s synopsis, not the whole usage; other errors are one line', async () => {
    const none = await cli([], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: reelay <command>');
    const create = await cli(['keys', 'create'], env);
    expect(create.code).toBe(2);
    expect(create.stderr).toBe('reelay: keys create needs --name NAME\nUsage: reelay keys create --name NAME [--credits N] [--json]\nRun `reelay keys create --help` for its options.\n');
    const unknown = await cli(['frobnicate'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('reelay: unknown command "frobnicate"\nRun `reelay --help` for the list of commands.\n');
    const option = await cli(['keys', 'list', '--frobnicate'], env);
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/^reelay: Unknown option '--frobnicate'.*\nUsage: reelay keys list \[--json\]\n/);
    const missing = await cli(['keys', 'revoke', 'key_nope'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^reelay: .*key_nope.*\n$/);
  });

  it('a bad configuration lists every bad key and exits 2', async () => {
    const r = await cli(['keys', 'list'], { ...env, PORT: 'x', LOG_LEVEL: 'nope' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('PORT');
    expect(r.stderr).toContain('LOG_LEVEL');
  });
});
