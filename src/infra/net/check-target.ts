import { lookup as dnsLookup } from 'node:dns/promises';
import { isPublicAddress, parseHostLiteral } from './ip-policy.ts';
import { UnsafeUrlError, type LookupFn } from './safe-fetch.ts';

export interface TargetPolicy {
  allowPrivate: boolean;
  lookup?: LookupFn;
  /** TEST SEAM ONLY (see safeFetch). */
  isAllowedAddress?: (ip: string) => boolean;
  label: string;
}

/**
 * Refuse a URL we will call later (a webhook) if it points at a private
 * address now. Delivery checks again at connect time, since DNS can change.
 */
export async function assertPublicTarget(url: string, p: TargetPolicy): Promise<URL> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UnsafeUrlError('invalid_url', `${p.label} is not a valid URL`);
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && p.allowPrivate)) {
    throw new UnsafeUrlError('scheme', `${p.label} must use https`);
  }
  if (u.username || u.password) throw new UnsafeUrlError('invalid_url', `${p.label} must not contain a username or password`);
  const allowed = p.isAllowedAddress ?? (p.allowPrivate ? () => true : isPublicAddress);
  const literal = parseHostLiteral(u.hostname);
  const addresses = literal !== null
    ? [literal]
    : await (p.lookup ?? (async (h: string) => (await dnsLookup(h, { all: true })).map((a) => ({ address: a.address, family: a.family as 4 | 6 }))))(u.hostname)
      .then((a) => a.map((x) => x.address), () => { throw new UnsafeUrlError('dns', `${p.label} host could not be resolved`); });
  if (addresses.length === 0) throw new UnsafeUrlError('dns', `${p.label} host could not be resolved`);
  const bad = addresses.find((a) => !allowed(a));
  if (bad) throw new UnsafeUrlError('private_address', `${p.label} points to a private address (${bad})`);
  return u;
}
