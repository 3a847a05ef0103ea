import { describe, expect, it } from 'vitest';
import { progressReporter, renderBar, ttyLine } from '../../src/cli/progress.ts';
import { table } from '../../src/cli/format.ts';
import { parseRetryAfter } from '../../src/sdk/transport.ts';
import type { Task } from '../../src/sdk/client.ts';
import { cliName, commandHelp, helpRequest, topicOf, usageHint } from '../../src/cli/help.ts';
import { negativeNumbersAsPositionals } from '../../src/cli/args.ts';
import { baseUrlFrom } from '../../src/cli/client-connection.ts';

const task = (status: Task['status'], progress: number) =>
  ({ id: 'task_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', status, progress } as Task);

describe('progress output', () => {
  it('renders a bar of the requested width', () => {
    expect(renderBar(0, 10)).toBe('[░░░░░░░░░░]');
    expect(renderBar(50, 10)).toBe('[█████░░░░░]');
    expect(renderBar(100, 4)).toBe('[████]');
    expect(renderBar(140, 4)).toBe('[████]');
  });

  it('never wraps the live line, whatever the terminal width', () => {
    for (const columns of [20, 40, 60, 80, 120, 200]) {
      const line = ttyLine(task('processing', 42), 12_300, columns, '⠋');
      expect([...line].length, `columns ${columns}`).toBeLessThan(columns);
    }
    expect(ttyLine(task('processing', 42), 1000, 200, '⠋')).toContain(renderBar(42, 30));
  });

  it('redraws one line on a TTY and logs only steps elsewhere', () => {
    let tty = '';
    const live = progressReporter({ write: (s: string) => { tty += s; }, columns: 100 }, { tty: true });
    for (const p of [0, 10, 20]) live.update(task('processing', p));
    live.finish();
    expect(tty.split('\n')).toHaveLength(2);
    expect(tty.match(/\r\x1b\[2K/g)).toHaveLength(3);

    let log = '';
    const plain = progressReporter({ write: (s: string) => { log += s; } }, { tty: false });
    for (const p of [0, 0, 3, 9, 10, 15, 22, 95, 99]) plain.update(task('processing', p));
    plain.update(task('succeeded', 100));
    plain.finish();
    expect(log).not.toContain('\r');
    expect(log.trim().split('\n').map((l) => l.match(/(\d+)%/)![1])).toEqual(['0', '10', '22', '95', '100']);
  });
});

describe('tables', () => {
  it('aligns columns to the widest cell', () => {
    const out = table(['ID', 'STATUS', 'X'], [['task_1', 'queued', '1'], ['t', 'succeeded', '22']]).split('\n');
    expect(out).toEqual(['ID      STATUS     X', 'task_1  queued     1', 't       succeeded  22']);
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('1')).toBe(1000);
    expect(parseRetryAfter(' 2.5 ')).toBe(2500);
    expect(parseRetryAfter(new Date(10_000 + 3000).toUTCString(), 10_000)).toBe(3000);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter('soon')).toBeNull();
  });
});

describe('help', () => {
  it('finds what a command line asks help for', () => {
    expect(helpRequest(['--help'])).toEqual({ topic: null });
    expect(helpRequest(['-h'])).toEqual({ topic: null });
    expect(helpRequest(['help'])).toEqual({ topic: null });
    expect(helpRequest(['help', 'keys', 'create'])).toEqual({ topic: 'keys create' });
    expect(helpRequest(['generate', '--image', 'a.png', '--help'])).toEqual({ topic: 'generate' });
    expect(helpRequest(['keys', 'rotate-webhook-secret', '-h'])).toEqual({ topic: 'keys rotate-webhook-secret' });
    expect(helpRequest(['credits', '--help'])).toEqual({ topic: 'credits' });
    expect(helpRequest(['frobnicate', '--help'])).toEqual({ topic: null });
    // After `--` and inside an option's own value, --help is data.
    expect(helpRequest(['credits', 'grant', 'k', '--', '--help'])).toBeUndefined();
    expect(helpRequest(['generate', '--prompt=--help'])).toBeUndefined();
    expect(helpRequest(['keys', 'list'])).toBeUndefined();
    expect(helpRequest([])).toBeUndefined();
  });

  it("gives every command and subcommand its own usage, in the name the person typed", () => {
    const topics = ['serve', 'keys', 'keys create', 'keys list', 'keys revoke', 'keys rotate-webhook-secret', 'credits', 'credits grant',
      'credits show', 'channels', 'channels test', 'channels reset', 'generate', 'status', 'cancel', 'tasks'];
    for (const t of topics) {
      expect(topicOf(t.split(' '))).toBe(t);
      expect(commandHelp(t, 'npm run reelay --').startsWith(`Usage: npm run reelay -- ${t}`), t).toBe(true);
    }
    expect(commandHelp(null, './bin/reelay')).toMatch(/^Usage: \.\/bin\/reelay <command>/);
  });

  it('a usage error repeats only the synopsis; other errors get nothing after their line', () => {
    expect(usageHint(['status'], 'reelay', true)).toBe('Usage: reelay status TASK_ID [--json]\nRun `reelay status --help` for its options.\n');
    expect(usageHint(['nope'], 'reelay', true)).toBe('Run `reelay --help` for the list of commands.\n');
    expect(usageHint(['generate'], 'reelay', false)).toBe('');
  });

  it('names the CLI as it was started', () => {
    expect(cliName({})).toBe('reelay');
    expect(cliName({ npm_lifecycle_event: 'reelay' })).toBe('npm run reelay --');
    expect(cliName({ npm_lifecycle_event: 'test' })).toBe('reelay');
    expect(cliName({ REELAY_PROG: './bin/reelay', npm_lifecycle_event: 'reelay' })).toBe('./bin/reelay');
  });
});

describe('negative numbers as positionals', () => {
  const note = new Set(['--note']);
  it('keeps options (and their values) in front and every positional behind one --, in order', () => {
    expect(negativeNumbersAsPositionals(['key_1', '-200'], note)).toEqual(['--', 'key_1', '-200']);
    expect(negativeNumbersAsPositionals(['--note', 'x', 'key_1', '-200', '--json'], note)).toEqual(['--note', 'x', '--json', '--', 'key_1', '-200']);
    expect(negativeNumbersAsPositionals(['key_1', '--', '-200'], note)).toEqual(['--', 'key_1', '-200']);
    expect(negativeNumbersAsPositionals(['key_1', '-1.5'], note)).toEqual(['--', 'key_1', '-1.5']);
    // An option's value stays its value, even when it looks like a number or a positional.
    expect(negativeNumbersAsPositionals(['--note', 'key_2', 'key_1', '5'], note)).toEqual(['--note', 'key_2', '--', 'key_1', '5']);
  });
});

describe('the server a client command talks to', () => {
  it('is --base-url, else REELAY_BASE_URL, else http://HOST:PORT, else the default', () => {
    expect(baseUrlFrom('http://a:1', { REELAY_BASE_URL: 'http://b:2', PORT: '3' }).url).toBe('http://a:1');
    expect(baseUrlFrom(undefined, { REELAY_BASE_URL: 'http://b:2', PORT: '3' }).url).toBe('http://b:2');
    expect(baseUrlFrom(undefined, { PORT: '18090' }).url).toBe('http://127.0.0.1:18090');
    expect(baseUrlFrom(undefined, { REELAY_BASE_URL: '', HOST: 'reelay.internal', PORT: '80' }).url).toBe('http://reelay.internal:80');
    expect(baseUrlFrom(undefined, { HOST: '0.0.0.0' }).url).toBe('http://127.0.0.1:8080');
    expect(baseUrlFrom(undefined, { HOST: '::', PORT: '9000' }).url).toBe('http://[::1]:9000');
    expect(baseUrlFrom(undefined, { HOST: 'fd00::5' }).url).toBe('http://[fd00::5]:8080');
    expect(baseUrlFrom(undefined, {}).url).toBe('http://127.0.0.1:8080');
    expect(() => baseUrlFrom(undefined, { PORT: '99999' })).toThrow(/PORT=99999 is not a port/);
  });
});
