// SSRF guard for webhook delivery. Strict by default: only public unicast addresses are reachable; an
// operator opens anything else explicitly through HERALD_EGRESS_ALLOW. The check runs at connect time on
// the addresses the socket will actually use (after DNS), so a hostname that resolves to a public address
// when the webhook is saved and to 127.0.0.1 when it is delivered (DNS rebinding) is still refused.
import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupAllOptions, LookupOptions } from 'node:dns';
import { BlockList, isIP, isIPv4, isIPv6 } from 'node:net';
import type { LookupFunction } from 'node:net';

import { Agent, buildConnector } from 'undici';
import { SetupError } from '../errors.js';

export const EGRESS_ALLOW_ENV = 'HERALD_EGRESS_ALLOW';
/** undici's own default; named so callers can see what they get. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** `code` of every EgressRefusedError, for callers that only see a wrapped or serialised error. */
export const EGRESS_REFUSED_CODE = 'HERALD_EGRESS_REFUSED';

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

// ---------------------------------------------------------------------------------------------------
// Classification

type Family = 'ipv4' | 'ipv6';
type Range = readonly [network: string, prefix: number];

function blockListOf(family: Family, ranges: readonly Range[]): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of ranges) list.addSubnet(network, prefix, family);
  return list;
}

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
const IPV4_MAPPED = blockListOf('ipv6', [['::ffff:0:0', 96]]);
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

function stripZone(ip: string): string {
  const percent = ip.indexOf('%');
  return percent === -1 ? ip : ip.slice(0, percent);
}

/** 16 bytes of an address already validated by isIPv6 (zone stripped). */
function ipv6Bytes(address: string): Uint8Array {
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

function ipv4Bytes(address: string): Uint8Array {
  return Uint8Array.from(address.split('.').map(Number));
}

// ---------------------------------------------------------------------------------------------------
// Allow-list

export type EgressAllowEntry =
  | { readonly kind: 'cidr'; readonly family: Family; readonly network: string; readonly prefix: number }
  | { readonly kind: 'ip'; readonly family: Family; readonly address: string }
  | { readonly kind: 'hostname'; readonly hostname: string };

/** HERALD_EGRESS_ALLOW has an entry that is neither a CIDR, an IP address nor a hostname. */
export class EgressAllowListError extends SetupError {
  readonly variable = EGRESS_ALLOW_ENV;
  readonly entry: string;
  readonly reason: string;

  constructor(entry: string, reason: string) {
    super(`${EGRESS_ALLOW_ENV}: entry ${JSON.stringify(entry)} ${reason}`);
    this.name = 'EgressAllowListError';
    this.entry = entry;
    this.reason = reason;
  }
}

/** Parsed HERALD_EGRESS_ALLOW: addresses and networks that may be reached although not public. */
export class EgressAllowList {
  readonly entries: readonly EgressAllowEntry[];
  readonly #addresses = new BlockList();
  readonly #hostnames: ReadonlySet<string>;

  constructor(entries: readonly EgressAllowEntry[]) {
    this.entries = entries;
    const hostnames = new Set<string>();
    for (const entry of entries) {
      if (entry.kind === 'cidr') this.#addresses.addSubnet(entry.network, entry.prefix, entry.family);
      else if (entry.kind === 'ip') this.#addresses.addAddress(entry.address, entry.family);
      else hostnames.add(entry.hostname);
    }
    this.#hostnames = hostnames;
  }

  get isEmpty(): boolean {
    return this.entries.length === 0;
  }

  allowsAddress(ip: string): boolean {
    let address = stripZone(ip);
    // An IPv4-mapped address reaches the IPv4 host, so "127.0.0.1" also admits ::ffff:127.0.0.1.
    if (isIPv6(address) && IPV4_MAPPED.check(address, 'ipv6')) {
      address = ipv6Bytes(address).subarray(12).join('.');
    }
    const family = isIP(address);
    if (family === 0) return false;
    return this.#addresses.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }

  allowsHostname(hostname: string): boolean {
    return this.#hostnames.has(normaliseHostname(hostname));
  }
}

function normaliseHostname(hostname: string): string {
  const lower = hostname.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

// Letters, digits, '-' and '_' (the latter appears in real internal names); labels of 1–63 characters.
const HOSTNAME_LABEL_PATTERN = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * Parses HERALD_EGRESS_ALLOW: comma-separated CIDRs (`10.0.0.0/8`, `fd00::/8`), IP addresses
 * (`127.0.0.1`, `::1`, `[::1]`) or exact hostnames (`localhost`, `hooks.internal`). Blank entries are
 * ignored (so a trailing comma or an unset variable is fine). Throws EgressAllowListError naming the
 * variable and the bad entry.
 */
export function parseEgressAllowList(value: string): EgressAllowList {
  const entries: EgressAllowEntry[] = [];
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry !== '') entries.push(parseAllowEntry(entry));
  }
  return new EgressAllowList(entries);
}

function parseAllowEntry(entry: string): EgressAllowEntry {
  if (entry.includes('://')) {
    throw new EgressAllowListError(entry, 'is a URL; expected a CIDR, an IP address or a hostname');
  }
  if (entry.includes('*')) {
    throw new EgressAllowListError(entry, 'has a wildcard; list each hostname exactly');
  }
  const slash = entry.indexOf('/');
  if (slash !== -1) return parseCidr(entry, entry.slice(0, slash), entry.slice(slash + 1));

  const unbracketed = entry.startsWith('[') && entry.endsWith(']') ? entry.slice(1, -1) : entry;
  const family = isIP(unbracketed);
  if (family !== 0) return { kind: 'ip', family: family === 4 ? 'ipv4' : 'ipv6', address: unbracketed };
  if (entry.includes(':')) throw new EgressAllowListError(entry, 'is not a valid IPv6 address');
  // Digits and dots only: a mistyped IPv4 address, which must not be taken for a hostname.
  if (/^[0-9.]+$/.test(entry)) throw new EgressAllowListError(entry, 'is not a valid IPv4 address');

  const hostname = normaliseHostname(entry);
  if (hostname.length > 253 || !hostname.split('.').every((label) => HOSTNAME_LABEL_PATTERN.test(label))) {
    throw new EgressAllowListError(entry, 'is not a valid CIDR, IP address or hostname');
  }
  return { kind: 'hostname', hostname };
}

function parseCidr(entry: string, network: string, prefixText: string): EgressAllowEntry {
  const family = isIP(network);
  if (family === 0) throw new EgressAllowListError(entry, `has ${JSON.stringify(network)}, which is not an IP address`);
  const maxPrefix = family === 4 ? 32 : 128;
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > maxPrefix) {
    throw new EgressAllowListError(entry, `has prefix length ${JSON.stringify(prefixText)}; expected 0–${maxPrefix}`);
  }
  // Host bits set (10.0.0.1/8) usually means a typo; refusing it beats silently widening or narrowing.
  const bytes = family === 4 ? ipv4Bytes(network) : ipv6Bytes(network);
  for (let bit = prefix; bit < maxPrefix; bit += 1) {
    if (((bytes[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1) {
      throw new EgressAllowListError(entry, `has host bits set beyond /${prefix}`);
    }
  }
  return { kind: 'cidr', family: family === 4 ? 'ipv4' : 'ipv6', network, prefix };
}

// ---------------------------------------------------------------------------------------------------
// Decision and error

export type EgressDecision =
  | { readonly allowed: true; readonly category: AddressClass; readonly via: 'public' | 'address' | 'hostname' }
  | { readonly allowed: false; readonly category: RefusedAddressCategory };

/**
 * May a connection to `address` (reached through the URL host `hostname`) go ahead? Public addresses
 * always may; anything else only when the address (IP/CIDR) or the hostname is in the allow-list.
 */
export function checkEgress(allow: EgressAllowList, hostname: string, address: string): EgressDecision {
  const category = classifyAddress(address);
  if (category === 'public') return { allowed: true, category, via: 'public' };
  if (allow.allowsAddress(address)) return { allowed: true, category, via: 'address' };
  if (!isIP(hostname) && allow.allowsHostname(hostname)) return { allowed: true, category, via: 'hostname' };
  return { allowed: false, category };
}

/**
 * A connection the guard refused. undici hands connect errors to the caller unchanged, but code that
 * wraps it (retry interceptors, Temporal failure conversion) may not: recognise it with
 * `findEgressRefusal(err)`, which walks `cause` chains and AggregateErrors, or by `code` ===
 * EGRESS_REFUSED_CODE / `name` === 'EgressRefusedError' once serialised.
 */
export class EgressRefusedError extends Error {
  readonly code = EGRESS_REFUSED_CODE;
  readonly host: string;
  readonly address: string;
  readonly category: RefusedAddressCategory;

  constructor(host: string, address: string, category: RefusedAddressCategory) {
    const subject = host === address ? address : `${host} resolved to ${address}, which`;
    super(`egress refused: ${subject} is ${category} and not in ${EGRESS_ALLOW_ENV}`);
    this.name = 'EgressRefusedError';
    this.host = host;
    this.address = address;
    this.category = category;
  }
}

export function findEgressRefusal(error: unknown): EgressRefusedError | undefined {
  const seen = new Set<unknown>();
  const pending: unknown[] = [error];
  while (pending.length > 0) {
    const current = pending.shift();
    if (current === null || typeof current !== 'object' || seen.has(current)) continue;
    seen.add(current);
    if (current instanceof EgressRefusedError) return current;
    if ('cause' in current) pending.push(current.cause);
    if (current instanceof AggregateError) pending.push(...(current.errors as unknown[]));
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Dispatcher

/** node:dns `lookup` with `all: true`; injectable so tests can simulate a rebinding resolver. */
export type ResolveAll = (
  hostname: string,
  options: LookupAllOptions,
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

export interface GuardedDispatcherOptions {
  readonly allow: EgressAllowList;
  readonly connectTimeoutMs?: number;
  /** Defaults to node:dns lookup (honours /etc/hosts, like every other Node client). */
  readonly resolve?: ResolveAll;
}

/**
 * An undici Agent that refuses to connect anywhere that is not public or allowed. Every address a
 * hostname resolves to must pass, not just the first: a name that mixes a public and a private address
 * is refused as a whole rather than depending on which one the socket happens to try. Redirects are
 * not this layer's concern: undici's `request` does not follow them.
 */
export function createGuardedDispatcher(options: GuardedDispatcherOptions): Agent {
  const { allow } = options;
  const resolve: ResolveAll = options.resolve ?? ((hostname, lookupOptions, callback) => dnsLookup(hostname, lookupOptions, callback));

  const guardedLookup = ((hostname: string, lookupOptions: LookupOptions, callback: LookupCallback) => {
    resolve(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) {
        callback(error, '', 0);
        return;
      }
      for (const { address } of addresses) {
        const decision = checkEgress(allow, hostname, address);
        if (!decision.allowed) {
          callback(new EgressRefusedError(hostname, address, decision.category), '', 0);
          return;
        }
      }
      // net asks for all addresses when it races families (autoSelectFamily), else for one.
      if (lookupOptions.all === true) {
        callback(null, addresses);
        return;
      }
      const [first] = addresses;
      if (first === undefined) {
        callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
        return;
      }
      callback(null, first.address, first.family);
    });
  }) as LookupFunction;

  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const connectSocket = buildConnector({ timeout: connectTimeoutMs, lookup: guardedLookup });

  return new Agent({
    connect: (connectOptions, callback) => {
      // net.connect skips `lookup` for a literal IP, so a literal host is checked here.
      if (isIP(connectOptions.hostname) !== 0) {
        const decision = checkEgress(allow, connectOptions.hostname, connectOptions.hostname);
        if (!decision.allowed) {
          const error = new EgressRefusedError(connectOptions.hostname, connectOptions.hostname, decision.category);
          // Asynchronously, as a real connect failure would be: undici's client is mid-`connect` here.
          queueMicrotask(() => callback(error, null));
          return;
        }
      }
      connectSocket(connectOptions, callback);
    },
  });
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
