// Which addresses a webhook may reach by default: only public unicast ones. Every other range is named by the
// category that makes it unsafe (loopback, private, cloud metadata…), so a refusal can say why.
import { isIPv4, isIPv6, type BlockList } from 'node:net';
import { blockListOf, IPV4_MAPPED, ipv6Bytes, stripZone } from './ip-address.js';

export type RefusedAddressCategory =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'cgnat'
  | 'metadata'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'benchmark'
  | 'reserved';

export type AddressClass = 'public' | RefusedAddressCategory;

// Ordered most specific first: the first matching rule names the category (169.254.169.254 is
// 'metadata' although it is also link-local; 255.255.255.255 is 'broadcast' although it is in 240/4).
const IPV4_RULES: ReadonlyArray<readonly [RefusedAddressCategory, BlockList]> = [
  ['broadcast', blockListOf('ipv4', [['255.255.255.255', 32]])],
  [
    'metadata',
    blockListOf('ipv4', [
      ['169.254.169.254', 32], // AWS, GCP, Azure, OCI, DigitalOcean… instance metadata
      ['169.254.170.2', 32], // AWS ECS task metadata / credentials
      ['100.100.100.200', 32], // Alibaba Cloud metadata
      ['168.63.129.16', 32], // Azure WireServer: a public-range address that only the host answers
    ]),
  ],
  // 0.0.0.0/8 "this network": on Linux, connecting to 0.0.0.0 reaches the local host.
  ['unspecified', blockListOf('ipv4', [['0.0.0.0', 8]])],
  ['loopback', blockListOf('ipv4', [['127.0.0.0', 8]])],
  ['private', blockListOf('ipv4', [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16]])],
  ['cgnat', blockListOf('ipv4', [['100.64.0.0', 10]])],
  ['link-local', blockListOf('ipv4', [['169.254.0.0', 16]])],
  ['documentation', blockListOf('ipv4', [['192.0.2.0', 24], ['198.51.100.0', 24], ['203.0.113.0', 24]])],
  ['benchmark', blockListOf('ipv4', [['198.18.0.0', 15]])],
  ['multicast', blockListOf('ipv4', [['224.0.0.0', 4]])],
  [
    'reserved',
    blockListOf('ipv4', [
      ['192.0.0.0', 24], // IETF protocol assignments (incl. the NAT64 discovery addresses)
      ['192.88.99.0', 24], // deprecated 6to4 relay anycast
      ['240.0.0.0', 4], // future use
    ]),
  ],
];

const IPV6_RULES: ReadonlyArray<readonly [RefusedAddressCategory, BlockList]> = [
  ['unspecified', blockListOf('ipv6', [['::', 128]])],
  ['loopback', blockListOf('ipv6', [['::1', 128]])],
  ['metadata', blockListOf('ipv6', [['fd00:ec2::254', 128]])], // AWS metadata over IPv6
  // fec0::/10 is the deprecated site-local range: private in all but name.
  ['private', blockListOf('ipv6', [['fc00::', 7], ['fec0::', 10]])],
  ['link-local', blockListOf('ipv6', [['fe80::', 10]])],
  ['multicast', blockListOf('ipv6', [['ff00::', 8]])],
  ['documentation', blockListOf('ipv6', [['2001:db8::', 32], ['3fff::', 20]])],
  ['benchmark', blockListOf('ipv6', [['2001:2::', 48]])],
  [
    'reserved',
    blockListOf('ipv6', [
      ['2001::', 23], // IETF protocol assignments, incl. Teredo 2001::/32 (embeds an obfuscated v4)
      ['64:ff9b:1::', 48], // local-use NAT64 (RFC 8215): where the v4 sits is site-specific
    ]),
  ],
];

// Everything outside 2000::/3 (global unicast) that no rule above names is unassigned or special
// (::/96 IPv4-compatible, 100::/64 discard, 5f00::/16 SRv6…): refused as reserved.
const IPV6_GLOBAL_UNICAST = blockListOf('ipv6', [['2000::', 3]]);

// IPv6 forms that carry an IPv4 address the packet really goes to; they are classified by that address
// so that e.g. ::ffff:127.0.0.1 or 64:ff9b::a00:1 (NAT64 to 10.0.0.1) cannot slip past as "IPv6".
const NAT64_WELL_KNOWN = blockListOf('ipv6', [['64:ff9b::', 96]]);
const SIX_TO_FOUR = blockListOf('ipv6', [['2002::', 16]]);

/**
 * 'public', or the category that makes `ip` unsafe to deliver to. Throws TypeError when `ip` is not an
 * IP address. Pure: nothing is resolved or contacted.
 */
export function classifyAddress(ip: string): AddressClass {
  const address = stripZone(ip);
  if (isIPv4(address)) {
    for (const [category, list] of IPV4_RULES) {
      if (list.check(address, 'ipv4')) return category;
    }
    return 'public';
  }
  if (isIPv6(address)) {
    const embedded = embeddedIpv4(address);
    if (embedded !== undefined) return classifyAddress(embedded);
    for (const [category, list] of IPV6_RULES) {
      if (list.check(address, 'ipv6')) return category;
    }
    return IPV6_GLOBAL_UNICAST.check(address, 'ipv6') ? 'public' : 'reserved';
  }
  throw new TypeError(`classifyAddress: ${JSON.stringify(ip)} is not an IP address`);
}

/** The IPv4 address an IPv4-mapped, NAT64 (64:ff9b::/96) or 6to4 (2002::/16) address carries. */
function embeddedIpv4(ipv6: string): string | undefined {
  let offset: number;
  if (IPV4_MAPPED.check(ipv6, 'ipv6') || NAT64_WELL_KNOWN.check(ipv6, 'ipv6')) offset = 12;
  else if (SIX_TO_FOUR.check(ipv6, 'ipv6')) offset = 2;
  else return undefined;
  return ipv6Bytes(ipv6).subarray(offset, offset + 4).join('.');
}
