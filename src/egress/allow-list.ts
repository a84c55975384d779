// HERALD_EGRESS_ALLOW: the operator's explicit exceptions to the public-only rule (IPs, CIDRs, exact host names).
import { BlockList, isIP, isIPv6 } from 'node:net';
import { SetupError } from '../errors.js';
import { IPV4_MAPPED, ipv4Bytes, ipv6Bytes, stripZone, type Family } from './ip-address.js';

export const EGRESS_ALLOW_ENV = 'HERALD_EGRESS_ALLOW';

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

  /** This list and `other`'s entries together (the demo adds its local receiver to the configured list). */
  including(other: EgressAllowList): EgressAllowList {
    return new EgressAllowList([...this.entries, ...other.entries]);
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
