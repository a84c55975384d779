// Builds the exact body and headers of one delivery attempt. Pure: the caller supplies the time, the
// secrets and the attempt number. The returned `body` is the string that was signed; the sender must
// put exactly these bytes on the wire (re-serialising would break every signature).
import { signObjectstackBody } from './objectstack.js';
import { SigningInputError, signStandardWebhook } from './standard-webhooks.js';

export type SigningScheme = 'standard' | 'objectstack';

export interface BuildSignedRequestInput {
  readonly scheme: SigningScheme;
  /** Standard: `webhook-id`. Stable across attempts and redeliveries (the receiver's idempotency key). */
  readonly eventId: string;
  readonly eventType: string;
  /** When the event happened (epoch ms); the Standard envelope's `timestamp`. */
  readonly eventTimeMs: number;
  /** Herald's delivery id; ObjectStack's `X-Objectstack-Delivery`. */
  readonly deliveryId: string;
  /** 1-based number of this attempt. */
  readonly attempt: number;
  readonly payload: unknown;
  /**
   * Active secrets, newest first. Standard signs with every one (`whsec_…`); ObjectStack signs with the
   * first only, using the plain string's UTF-8 bytes (see `signObjectstackBody`).
   */
  readonly secrets: readonly string[];
  readonly customHeaders?: Readonly<Record<string, string>>;
  /** The attempt time (epoch ms); Standard's `webhook-timestamp` is floor(nowMs / 1000). */
  readonly nowMs: number;
  readonly userAgent: string;
}

export interface SignedRequest {
  readonly body: string;
  readonly headers: Record<string, string>;
}

/** A custom header that cannot be sent at all (bad name, or a value that would split the header block). */
export class InvalidCustomHeaderError extends Error {
  readonly field = 'customHeaders';
  readonly header: string;

  constructor(header: string, reason: string) {
    // The value is never echoed: custom headers often carry credentials.
    super(`customHeaders: header ${JSON.stringify(header)} ${reason}`);
    this.name = 'InvalidCustomHeaderError';
    this.header = header;
  }
}

// Headers a webhook's custom headers may never set, compared lower-case:
// - content-type / content-length / host: they describe the signed bytes and the destination;
// - content-encoding: a receiver would decode the body into bytes other than those that were signed;
// - hop-by-hop and framing headers: undici rejects some, and the rest could smuggle a second request.
const PROTECTED_HEADER_NAMES: ReadonlySet<string> = new Set([
  'content-type',
  'content-length',
  'content-encoding',
  'host',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'upgrade',
  'te',
  'trailer',
  'expect',
]);

// Whole families: the ids, timestamps and signatures of both schemes and Herald's own headers. `svix-*`
// is included because Svix-library receivers read `svix-id/-timestamp/-signature` in preference to
// `webhook-*`, so a custom `svix-signature` would shadow the real one.
const PROTECTED_HEADER_PREFIXES: readonly string[] = ['webhook-', 'x-herald-', 'x-objectstack-', 'svix-'];

/** True when custom headers may not set `name` (case-insensitive). For validating webhook config. */
export function isProtectedHeaderName(name: string): boolean {
  const lower = name.trim().toLowerCase();
  return PROTECTED_HEADER_NAMES.has(lower) || PROTECTED_HEADER_PREFIXES.some((prefix) => lower.startsWith(prefix));
}

// RFC 9110 token characters.
const HEADER_NAME_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// CR, LF and NUL would end the header line early; undici throws on them anyway, but later and vaguer.
const FORBIDDEN_HEADER_VALUE_PATTERN = /[\r\n\0]/;

export function buildSignedRequest(input: BuildSignedRequestInput): SignedRequest {
  if (!Number.isSafeInteger(input.attempt) || input.attempt < 1) {
    throw new SigningInputError('attempt', `must be a positive integer, got ${input.attempt}`);
  }
  if (!Number.isFinite(input.nowMs) || input.nowMs < 0) {
    throw new SigningInputError('nowMs', `must be a non-negative epoch time in ms, got ${input.nowMs}`);
  }
  if (input.secrets.length === 0) {
    // Every Herald request is signed; an unsigned delivery is a configuration error, not a mode.
    throw new SigningInputError('secrets', 'at least one active secret is required');
  }
  return input.scheme === 'standard' ? buildStandard(input) : buildObjectstack(input);
}

function buildStandard(input: BuildSignedRequestInput): SignedRequest {
  if (!Number.isFinite(input.eventTimeMs)) {
    throw new SigningInputError('eventTimeMs', `must be an epoch time in ms, got ${input.eventTimeMs}`);
  }
  // `payload ?? null` keeps the `data` key: JSON.stringify drops properties whose value is undefined.
  const body = JSON.stringify({
    type: input.eventType,
    timestamp: new Date(input.eventTimeMs).toISOString(),
    data: input.payload ?? null,
  });
  const timestamp = Math.floor(input.nowMs / 1000);
  const signature = signStandardWebhook({ id: input.eventId, timestamp, body, secrets: input.secrets });
  const headers = mergeHeaders({ 'user-agent': input.userAgent }, input.customHeaders, {
    'content-type': 'application/json',
    'webhook-id': input.eventId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signature,
    'x-herald-delivery-id': input.deliveryId,
    'x-herald-attempt': String(input.attempt),
  });
  return { body, headers };
}

function buildObjectstack(input: BuildSignedRequestInput): SignedRequest {
  // As the ObjectStack outbox: a string payload goes out verbatim, anything else as JSON.
  const body = typeof input.payload === 'string' ? input.payload : JSON.stringify(input.payload ?? null);
  // The length check in buildSignedRequest guarantees a first secret.
  const secret = input.secrets[0] as string;
  const headers = mergeHeaders({ 'User-Agent': input.userAgent }, input.customHeaders, {
    'Content-Type': 'application/json',
    'X-Objectstack-Delivery': input.deliveryId,
    'X-Objectstack-Attempt': String(input.attempt),
    'X-Objectstack-Event': input.eventType,
    // Unlike ObjectStack (which let custom headers override everything but this), every header in
    // this group is applied after the custom ones.
    'X-Objectstack-Signature': signObjectstackBody(body, secret),
  });
  return { body, headers };
}

/**
 * defaults < custom < protected. Names are compared case-insensitively so that e.g. a custom
 * `User-Agent` replaces the default `user-agent` instead of producing two headers.
 */
function mergeHeaders(
  defaults: Readonly<Record<string, string>>,
  custom: Readonly<Record<string, string>> | undefined,
  fixed: Readonly<Record<string, string>>,
): Record<string, string> {
  const merged = new Map<string, [name: string, value: string]>();
  for (const [name, value] of Object.entries(defaults)) {
    merged.set(name.toLowerCase(), [name, value]);
  }
  for (const [name, value] of Object.entries(custom ?? {})) {
    if (!HEADER_NAME_PATTERN.test(name)) {
      throw new InvalidCustomHeaderError(name, 'is not a valid HTTP header name');
    }
    if (typeof value !== 'string' || FORBIDDEN_HEADER_VALUE_PATTERN.test(value)) {
      throw new InvalidCustomHeaderError(name, 'has a value that is not a single-line string');
    }
    // Protected names are dropped, not rejected: config validation (isProtectedHeaderName) is where the
    // user hears about it; at send time the only safe move is that the protected value wins.
    if (isProtectedHeaderName(name)) continue;
    merged.set(name.toLowerCase(), [name, value]);
  }
  for (const [name, value] of Object.entries(fixed)) {
    merged.set(name.toLowerCase(), [name, value]);
  }
  return Object.fromEntries(merged.values());
}
