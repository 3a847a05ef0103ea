/** Off-peak scheduling rules (API.md §8), pure so they are tested with any clock. */

export const OFF_PEAK_MAX_AGE_MS = 48 * 3600 * 1000;

export interface OffPeakWindow {
  /** Minutes after local midnight; end may be smaller than start (the window wraps midnight). */
  start: number;
  end: number;
  timeZone: string;
}

/** `"00:00-08:00"` → minutes; undefined if malformed. */
export function parseWindow(spec: string, timeZone: string): OffPeakWindow | undefined {
  const m = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(spec.trim());
  if (!m) return undefined;
  const [h1, m1, h2, m2] = m.slice(1).map(Number) as [number, number, number, number];
  if (h1 > 24 || h2 > 24 || m1 > 59 || m2 > 59) return undefined;
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone });
  } catch {
    return undefined;
  }
  return { start: h1 * 60 + m1, end: h2 * 60 + m2, timeZone };
}

/** Minutes after midnight of `now` in the window's time zone. */
function localMinutes(now: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(now));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return get('hour') * 60 + get('minute');
}

export function isInWindow(now: number, w: OffPeakWindow): boolean {
  const t = localMinutes(now, w.timeZone);
  if (w.start === w.end) return true; // a 24-hour window
  return w.start < w.end ? t >= w.start && t < w.end : t >= w.start || t < w.end;
}
