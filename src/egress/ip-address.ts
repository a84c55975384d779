// Parsing helpers shared by the address classification and the allow-list: node:net validates addresses and
// checks ranges (BlockList), but gives no bytes, which the embedded-IPv4 forms and CIDR host bits need.
import { BlockList } from 'node:net';

export type Family = 'ipv4' | 'ipv6';
export type Range = readonly [network: string, prefix: number];

export function blockListOf(family: Family, ranges: readonly Range[]): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of ranges) list.addSubnet(network, prefix, family);
  return list;
}

/** ::ffff:0:0/96: an IPv4-mapped IPv6 address reaches the IPv4 host it carries. */
export const IPV4_MAPPED = blockListOf('ipv6', [['::ffff:0:0', 96]]);

export function stripZone(ip: string): string {
  const percent = ip.indexOf('%');
  return percent === -1 ? ip : ip.slice(0, percent);
}

/** 16 bytes of an address already validated by isIPv6 (zone stripped). */
export function ipv6Bytes(address: string): Uint8Array {
  let text = address;
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two hex groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const zeros = new Array<string>(8 - headGroups.length - restGroups.length).fill('0');
  const groups = [...headGroups, ...zeros, ...restGroups];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    const value = Number.parseInt(group, 16);
    bytes[2 * i] = value >> 8;
    bytes[2 * i + 1] = value & 0xff;
  });
  return bytes;
}

export function ipv4Bytes(address: string): Uint8Array {
  return Uint8Array.from(address.split('.').map(Number));
}
