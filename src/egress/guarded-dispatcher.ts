// SSRF guard for webhook delivery. Strict by default: only public unicast addresses are reachable; an
// operator opens anything else explicitly through HERALD_EGRESS_ALLOW. The check runs at connect time on
// the addresses the socket will actually use (after DNS), so a hostname that resolves to a public address
// when the webhook is saved and to 127.0.0.1 when it is delivered (DNS rebinding) is still refused.
import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupAllOptions, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import type { LookupFunction } from 'node:net';
import { Agent, buildConnector } from 'undici';
import type { EgressAllowList } from './allow-list.js';
import { checkEgress, EgressRefusedError } from './egress-refusal.js';

/** undici's own default; named so callers can see what they get. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

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
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const connectSocket = buildConnector({ timeout: connectTimeoutMs, lookup: guardedLookup(allow, resolve) });

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

/** A `lookup` for net.connect that resolves every address and refuses the connection if any one is not allowed. */
function guardedLookup(allow: EgressAllowList, resolve: ResolveAll): LookupFunction {
  return ((hostname: string, lookupOptions: LookupOptions, callback: LookupCallback) => {
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
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
