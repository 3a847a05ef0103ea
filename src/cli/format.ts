import type { CreditBalance, Task } from '../sdk/client.ts';

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Unix seconds → `2026-05-01 12:00:03` (UTC), or `-`. */
export function time(unix: number | null): string {
  return unix === null ? '-' : new Date(unix * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export const credits = (n: number) => n.toLocaleString('en-US');

export function taskRows(tasks: Task[]): string {
  return table(
    ['ID', 'STATUS', 'PROGRESS', 'MODEL', 'SECONDS', 'SIZE', 'CREATED (UTC)'],
    tasks.map((t) => [t.id, t.status, `${t.progress}%`, t.model, t.seconds, t.size, time(t.created_at)]),
  );
}

/** `reelay status`: the facts a person asks about, one per line. */
export function taskDetails(t: Task): string {
  const rows: [string, string][] = [
    ['status', `${t.status} (${t.progress}%)`],
    ['model', `${t.model} (provider ${t.provider})`],
    ['video', `${t.seconds} s · ${t.size} · ${t.aspect_ratio}${t.generate_audio ? ' · audio' : ''}${t.off_peak ? ' · off-peak' : ''}`],
    ['prompt', t.prompt],
    ['created', time(t.created_at)],
    ['completed', time(t.completed_at)],
    ['credits', `reserved ${t.credits.reserved}, charged ${t.credits.charged}, refunded ${t.credits.refunded}`],
  ];
  if (t.metadata) rows.push(['output', `${t.metadata.duration} s, ${t.metadata.width}x${t.metadata.height}, ${t.metadata.fps} fps${t.metadata.has_audio ? ', audio' : ''}`]);
  if (t.url) rows.push(['url', t.url]);
  if (t.expires_at) rows.push(['expires', time(t.expires_at)]);
  if (t.error) rows.push(['error', `${t.error.code}: ${t.error.message}`]);
  return [t.id, ...rows.map(([k, v]) => `  ${k.padEnd(10)} ${v}`)].join('\n');
}

export function balanceDetails(b: CreditBalance): string {
  const head = `Balance: ${credits(b.balance)} credits${b.reserved_in_flight ? ` (${credits(b.reserved_in_flight)} reserved by tasks in flight)` : ''}`;
  if (!b.entries.length) return head;
  const rows = b.entries.map((e) => [time(e.created_at), e.kind, (e.amount > 0 ? '+' : '') + credits(e.amount), credits(e.balance_after), e.task_id ?? e.note ?? '']);
  return `${head}\n\nRecent entries:\n${table(['WHEN (UTC)', 'KIND', 'AMOUNT', 'BALANCE', 'TASK / NOTE'], rows).replace(/^/gm, '  ')}`;
}
