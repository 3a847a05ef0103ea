import { describe, expect, it } from 'vitest';
import { progressReporter, renderBar, ttyLine } from '../../src/cli/progress.ts';
import { table } from '../../src/cli/format.ts';
import { parseRetryAfter } from '../../src/sdk/transport.ts';
import type { Task } from '../../src/sdk/client.ts';

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
