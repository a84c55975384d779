// The decision for one address, and the error a refused connection carries through undici and Temporal.
import { isIP } from 'node:net';
import { classifyAddress, type AddressClass, type RefusedAddressCategory } from './address-classification.js';
import { EGRESS_ALLOW_ENV, type EgressAllowList } from './allow-list.js';

/** `code` of every EgressRefusedError, for callers that only see a wrapped or serialised error. */
export const EGRESS_REFUSED_CODE = 'HERALD_EGRESS_REFUSED';

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
