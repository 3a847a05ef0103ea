import { createHmac, timingSafeEqual } from 'node:crypto';

/** Where Vidu calls back for a task: our task and the channel (whose API token signs the call) ride in the query. */
export function viduCallbackUrl(publicUrl: string, channel: string, taskId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}${VIDU_CALLBACK_PATH}?${callbackQuery(channel, taskId)}`;
}

export const VIDU_CALLBACK_PATH = '/v1/upstream/vidu/callback';

/** Built one way on both sides: the signature covers the raw query, so it must match byte for byte. */
export function callbackQuery(channel: string, taskId: string): string {
  return `task=${encodeURIComponent(taskId)}&channel=${encodeURIComponent(channel)}`;
}

/**
 * Vidu's signing string (UPSTREAM.md §4): method, the callback URL's path and
 * raw query, "vidu", the Date header, then `Name:Value\n` per signed header.
 */
export function viduSigningString(method: string, callbackUrl: string, date: string, signed: readonly [string, string][]): string {
  const u = new URL(callbackUrl);
  const head = [method.toUpperCase(), u.pathname || '/', u.search.replace(/^\?/, ''), 'vidu', date].join('\n');
  return `${head}\n${signed.map(([k, v]) => `${k}:${v}\n`).join('')}`;
}

export function viduSignature(apiToken: string, signingString: string): string {
  return createHmac('sha256', apiToken).update(signingString).digest('base64');
}

/** Date skew accepted on a callback; the docs set none, five minutes is the usual webhook tolerance. */
export const CALLBACK_SKEW_MS = 5 * 60_000;

export type CallbackVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Check a callback's HMAC headers against the URL we gave Vidu for this task
 * (rebuilt, not the path a proxy forwarded). Vidu does not sign the body, so
 * a valid callback only means "look again": the caller re-fetches the task.
 */
export function verifyViduCallback(a: {
  method: string; callbackUrl: string; headers: Record<string, string | string[] | undefined>; apiToken: string; now: number;
  seenNonce(nonce: string, until: number): boolean;
}): CallbackVerdict {
  const h = (name: string) => {
    const v = a.headers[name.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  };
  if ((h('x-hmac-access-key') ?? '') !== 'vidu') return { ok: false, reason: 'X-HMAC-ACCESS-KEY must be vidu' };
  if ((h('x-hmac-algorithm') ?? '').toLowerCase() !== 'hmac-sha256') return { ok: false, reason: 'X-HMAC-ALGORITHM must be hmac-sha256' };
  const date = h('date');
  const at = date ? Date.parse(date) : NaN;
  if (!Number.isFinite(at) || Math.abs(a.now - at) > CALLBACK_SKEW_MS) return { ok: false, reason: 'Date is missing or more than 5 minutes off' };
  const signature = h('x-hmac-signature');
  if (!signature) return { ok: false, reason: 'X-HMAC-SIGNATURE is missing' };
  const names = (h('x-hmac-signed-headers') ?? '').split(';').map((s) => s.trim()).filter(Boolean);
  // The nonce and Date must be covered, or a replay could swap them freely.
  const lower = names.map((n) => n.toLowerCase());
  if (!lower.includes('date') || !lower.includes('x-request-nonce')) return { ok: false, reason: 'X-HMAC-SIGNED-HEADERS must include Date and x-request-nonce' };
  const signed: [string, string][] = [];
  for (const n of names) {
    const v = h(n);
    if (v === undefined) return { ok: false, reason: `signed header ${n} is missing` };
    signed.push([n, v]);
  }
  const expected = Buffer.from(viduSignature(a.apiToken, viduSigningString(a.method, a.callbackUrl, date!, signed)));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'signature does not match' };
  if (a.seenNonce(h('x-request-nonce')!, at + CALLBACK_SKEW_MS)) return { ok: false, reason: 'nonce already used' };
  return { ok: true };
}

/** Nonces seen within the skew window (per process; a replay elsewhere only causes one extra poll). */
export function nonceMemory(now: () => number, max = 100_000) {
  const seen = new Map<string, number>();
  return (nonce: string, until: number): boolean => {
    const t = now();
    if ((seen.get(nonce) ?? 0) > t) return true;
    if (seen.size >= max) for (const [k, exp] of seen) if (exp <= t || seen.size >= max) seen.delete(k); else break;
    seen.set(nonce, until);
    return false;
  };
}
