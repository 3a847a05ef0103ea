import type { Task } from '../sdk/client.ts';

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressReporter {
  update(task: Task): void;
  /** End the live line (if any) so the next output starts on a fresh line. */
  finish(): void;
}

const FRAMES = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';

/** `[██████░░░░]` for 0–100 in `width` cells. */
export function renderBar(progress: number, width: number): string {
  const p = Math.max(0, Math.min(100, progress));
  const full = Math.round((p / 100) * width);
  return `[${'█'.repeat(full)}${'░'.repeat(width - full)}]`;
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** One status line: what a TTY redraws in place and what a log gets once per step. */
export function progressLine(task: Task, elapsedMs: number, barWidth: number, o: { frame?: string; id?: string } = {}): string {
  const bar = barWidth > 0 ? ` ${renderBar(task.progress, barWidth)}` : '';
  return `${o.frame ? `${o.frame} ` : ''}${o.id ?? task.id} ${task.status.padEnd(10)}${bar} ${String(task.progress).padStart(3)}%  ${formatSeconds(elapsedMs)}`;
}

/** The live line must never wrap (erasing a line cannot reach the one above): the bar takes what is left, up to 30 cells. */
export function ttyLine(task: Task, elapsedMs: number, columns: number, frame: string): string {
  const id = `${task.id.slice(0, 13)}…`;
  const bare = progressLine(task, elapsedMs, 0, { frame, id });
  const width = Math.min(30, columns - 1 - bare.length - 3);
  return width >= 5 ? progressLine(task, elapsedMs, width, { frame, id }) : bare.slice(0, Math.max(0, columns - 1));
}

/**
 * On a terminal: one line redrawn in place (carriage return + erase line).
 * Elsewhere (CI logs, pipes): a plain line whenever the status changes or
 * progress moves by 10 points, so logs stay short and readable.
 */
export function progressReporter(stream: ProgressStream, o: { tty: boolean; now?: () => number }): ProgressReporter {
  const now = o.now ?? Date.now;
  const started = now();
  let drawn = false;
  let tick = 0;
  let lastStatus = '';
  let lastProgress = -100;
  return {
    update(task) {
      const elapsed = now() - started;
      if (o.tty) {
        const frame = ['succeeded', 'failed', 'cancelled'].includes(task.status) ? ' ' : FRAMES[tick++ % FRAMES.length]!;
        stream.write(`\r\x1b[2K${ttyLine(task, elapsed, stream.columns || 80, frame)}`);
        drawn = true;
        return;
      }
      if (task.status !== lastStatus || task.progress - lastProgress >= 10 || (task.progress === 100 && lastProgress !== 100)) {
        stream.write(`${progressLine(task, elapsed, 0)}\n`);
        lastStatus = task.status;
        lastProgress = task.progress;
      }
    },
    finish() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}
