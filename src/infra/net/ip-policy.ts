// Address policy for outbound requests to user-supplied URLs (SSRF guard).
// Pure functions only: no DNS, no I/O. safe-fetch.ts applies them at every hop.
import ipaddr from 'ipaddr.js';
import { isIP, isIPv6 } from 'node:net';

// IPv4-compatible IPv6 (::a.b.c.d, deprecated by RFC 4291) is reported as 'unicast'
// by ipaddr.js, yet some stacks still route it to the embedded IPv4 address.
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

/**
 * True only for globally routable unicast addresses. Loopback, RFC 1918,
 * CGNAT (100.64/10), link-local (incl. the 169.254.169.254 metadata endpoint),
 * unspecified, broadcast, multicast, reserved/documentation, unique-local
 * (fc00::/7) and every transition prefix (6to4, Teredo, NAT64 rfc6052/rfc6145)
 * are refused: the transition prefixes embed an IPv4 address that may be private,
 * and a gateway has no business fetching images through them.
 */
export function isPublicAddress(ip: string): boolean {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  // Fail closed on anything that is not a canonical literal: ipaddr.js also accepts
  // legacy spellings ("0x7f.1", "2130706433") and we want exactly one parser (the
  // WHATWG URL parser, see parseHostLiteral) to decide what those mean.
  if (isIP(bare) === 0) return false;
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // process() unwraps IPv4-mapped IPv6 (::ffff:127.0.0.1) so it is judged as IPv4.
    addr = ipaddr.process(bare);
  } catch {
    return false;
  }
  if (addr.kind() === 'ipv6' && addr.match(IPV4_COMPATIBLE)) return false;
  // Allow-list, not deny-list: any range ipaddr.js knows about (or adds later) is non-public.
  return addr.range() === 'unicast';
}

/**
 * If `hostname` is an IP literal, return the bare address (no brackets); else null.
 * Callers normally pass URL.hostname, which the WHATWG parser has already
 * canonicalised ("2130706433", "0x7f.1", "017700000001" all become "127.0.0.1").
 * Raw hosts are re-run through the same parser so both paths agree; hosts that only
 * *look* numeric ("0x7f.0.0.1.evil") stay names and go through DNS checks instead.
 */
export function parseHostLiteral(hostname: string): string | null {
  if (hostname.startsWith('[') && hostname.endsWith(']')) {
    const inner = hostname.slice(1, -1);
    return isIPv6(inner) ? inner : null;
  }
  if (isIP(hostname) !== 0) return hostname;
  // Anything with URL delimiters is not a bare host; re-parsing it could pick out a
  // different host ("a/@127.0.0.1"), so don't guess.
  if (hostname === '' || /[/?#@:\\\s]/.test(hostname)) return null;
  let normalised: string;
  try {
    normalised = new URL(`http://${hostname}/`).hostname;
  } catch {
    return null;
  }
  return isIP(normalised) === 0 ? null : normalised;
}
