/**
 * Redelivery schedule (documented in docs/webhooks.md): delays after each
 * failed attempt. Their sum is just over a day, so a receiver that is down
 * for up to 24 h still gets the event; after the last one it is `failed`.
 */
export const RETRY_DELAYS_MS = [
  5_000, 30_000, 2 * 60_000, 10 * 60_000, 30 * 60_000, 60 * 60_000,
  2 * 3600_000, 4 * 3600_000, 8 * 3600_000, 8 * 3600_000, 8 * 3600_000,
];

export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1;

/**
 * When to try again after `attempts` failed attempts, or null to give up.
 * ±20 % jitter spreads a backlog so a recovering receiver isn't hit by every
 * event at the same second; `scale` lets tests run the schedule in milliseconds.
 */
export function nextAttemptDelay(attempts: number, random: () => number, scale = 1): number | null {
  const base = RETRY_DELAYS_MS[attempts - 1];
  if (base === undefined) return null;
  return Math.round(base * scale * (0.8 + 0.4 * random()));
}
