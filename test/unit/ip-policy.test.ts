import { describe, it, expect } from 'vitest';
import { isPublicAddress, parseHostLiteral } from '../../src/infra/net/ip-policy.ts';

describe('isPublicAddress', () => {
  it.each([
    '8.8.8.8',
    '93.184.216.34',
    '1.1.1.1',
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    '::ffff:8.8.8.8', // mapped public IPv4 is judged as the IPv4 it wraps
  ])('accepts public %s', (ip) => {
    expect(isPublicAddress(ip)).toBe(true);
  });

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback /8'],
    ['10.0.0.5', 'RFC1918'],
    ['172.16.0.1', 'RFC1918'],
    ['172.31.255.255', 'RFC1918'],
    ['192.168.1.1', 'RFC1918'],
    ['100.64.0.1', 'CGNAT'],
    ['169.254.169.254', 'metadata / link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'this-network /8'],
    ['255.255.255.255', 'broadcast'],
    ['224.0.0.1', 'multicast'],
    ['192.0.2.1', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['240.0.0.1', 'reserved'],
    ['::1', 'IPv6 loopback'],
    ['::', 'IPv6 unspecified'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex form'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['::127.0.0.1', 'IPv4-compatible (deprecated)'],
    ['fc00::1', 'unique local'],
    ['fd12:3456::1', 'unique local'],
    ['fe80::1', 'IPv6 link-local'],
    ['fec0::1', 'deprecated site-local'],
    ['ff02::1', 'IPv6 multicast'],
    ['2002:7f00:1::1', '6to4'],
    ['2001:0:4136:e378::1', 'teredo'],
    ['64:ff9b::7f00:1', 'NAT64 rfc6052'],
    ['::ffff:0:7f00:1', 'rfc6145'],
    ['2001:db8::1', 'documentation'],
  ])('refuses %s (%s)', (ip) => {
    expect(isPublicAddress(ip)).toBe(false);
  });

  it.each(['', 'example.com', '2130706433', '0x7f.1', '1.2.3', '999.1.1.1', 'not an ip'])(
    'fails closed on non-canonical input %j',
    (ip) => {
      expect(isPublicAddress(ip)).toBe(false);
    },
  );

  it('accepts bracketed IPv6', () => {
    expect(isPublicAddress('[2606:4700:4700::1111]')).toBe(true);
    expect(isPublicAddress('[::1]')).toBe(false);
  });
});

describe('parseHostLiteral', () => {
  it.each([
    ['http://2130706433/', '127.0.0.1'],
    ['http://0x7f.1/', '127.0.0.1'],
    ['http://017700000001/', '127.0.0.1'],
    ['http://0x7f000001/', '127.0.0.1'],
    ['http://127.1/', '127.0.0.1'],
    ['http://127.0.0.1./', '127.0.0.1'],
    ['http://0/', '0.0.0.0'],
    ['http://[::1]/', '::1'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1'],
    ['https://8.8.8.8:8443/x', '8.8.8.8'],
  ])('URL %s has literal host %s', (url, ip) => {
    expect(parseHostLiteral(new URL(url).hostname)).toBe(ip);
  });

  it.each([
    ['2130706433', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['::1', '::1'],
    ['[::1]', '::1'],
  ])('normalises raw host %s like the URL parser', (host, ip) => {
    expect(parseHostLiteral(host)).toBe(ip);
  });

  it.each(['example.com', 'localhost', '0x7f.0.0.1.evil', 'a/@127.0.0.1', '127.0.0.1:80', '[nope]', ''])(
    'treats %j as a name (or garbage), not a literal',
    (host) => {
      expect(parseHostLiteral(host)).toBeNull();
    },
  );
});
