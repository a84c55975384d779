// Standard Webhooks v1 symmetric signing (HMAC-SHA256). Pure: the caller passes the time, so a
// known-answer vector can pin the output. Verification is deliberately absent: Herald only sends, and
// its tests verify with the independent `standardwebhooks` and `svix` packages.
import { createHmac, randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;
const DEFAULT_SECRET_BYTES = 32;
const SIGNATURE_VERSION = 'v1';

export type InvalidSecretReason = 'missing-prefix' | 'not-base64' | 'too-short' | 'too-long' | 'empty';

/** A secret that cannot be used for signing. The message names the reason, never the secret itself. */
export class InvalidSecretError extends Error {
  readonly reason: InvalidSecretReason;

  constructor(reason: InvalidSecretReason, detail: string) {
    super(`invalid webhook secret: ${detail}`);
    this.name = 'InvalidSecretError';
    this.reason = reason;
  }
}

/** Bad id/timestamp/secret list handed to a signer; `field` names the argument. */
export class SigningInputError extends Error {
  readonly field: string;

  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`);
    this.name = 'SigningInputError';
    this.field = field;
  }
}

// Standard base64 alphabet with padding. The round-trip check in `parseSecret` additionally rejects
// non-canonical forms (missing padding, stray bits) that Node's lenient decoder would silently accept
// but the verifiers' decoders may not: a secret Herald accepts must verify on the receiver's side.
const BASE64_PATTERN = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Validates a `whsec_` secret and returns the HMAC key (the base64-decoded part after the prefix).
 * Throws `InvalidSecretError` naming what is wrong.
 */
export function parseSecret(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) {
    throw new InvalidSecretError('missing-prefix', `must start with "${SECRET_PREFIX}"`);
  }
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (encoded.length === 0 || encoded.length % 4 !== 0 || !BASE64_PATTERN.test(encoded)) {
    throw new InvalidSecretError('not-base64', `the part after "${SECRET_PREFIX}" must be padded standard base64`);
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.toString('base64') !== encoded) {
    throw new InvalidSecretError('not-base64', `the part after "${SECRET_PREFIX}" is not canonical base64`);
  }
  if (key.length < MIN_SECRET_BYTES) {
    throw new InvalidSecretError('too-short', `decodes to ${key.length} bytes; at least ${MIN_SECRET_BYTES} are required`);
  }
  if (key.length > MAX_SECRET_BYTES) {
    throw new InvalidSecretError('too-long', `decodes to ${key.length} bytes; at most ${MAX_SECRET_BYTES} are allowed`);
  }
  return key;
}

/** A fresh secret: `whsec_` + base64 of `bytes` random bytes (24–64). */
export function generateSecret(bytes: number = DEFAULT_SECRET_BYTES): string {
  if (!Number.isInteger(bytes) || bytes < MIN_SECRET_BYTES || bytes > MAX_SECRET_BYTES) {
    throw new RangeError(`generateSecret: bytes must be an integer from ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES}, got ${bytes}`);
  }
  return SECRET_PREFIX + randomBytes(bytes).toString('base64');
}

export interface StandardSignatureInput {
  /** The `webhook-id` value (Herald: the event id, stable across attempts). */
  readonly id: string;
  /** The `webhook-timestamp` value: unix seconds of this attempt. */
  readonly timestamp: number;
  /** The exact body that will be sent. */
  readonly body: string;
  /** Every active `whsec_` secret; one signature each, so rotation has no gap. */
  readonly secrets: readonly string[];
}

/**
 * The `webhook-signature` header value: `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>` per
 * secret, space-separated, in the order the secrets are given.
 */
export function signStandardWebhook(input: StandardSignatureInput): string {
  const { id, timestamp, body, secrets } = input;
  // The spec forbids '.' in id and timestamp: the signed content is '.'-joined, so a dot would make
  // two different (id, timestamp) pairs sign the same bytes.
  if (id.length === 0 || id.includes('.')) {
    throw new SigningInputError('id', 'must be non-empty and must not contain "."');
  }
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new SigningInputError('timestamp', `must be a non-negative integer (unix seconds), got ${timestamp}`);
  }
  if (secrets.length === 0) {
    throw new SigningInputError('secrets', 'at least one secret is required');
  }
  const signedContent = `${id}.${timestamp}.${body}`;
  return secrets
    .map((secret) => {
      const digest = createHmac('sha256', parseSecret(secret)).update(signedContent, 'utf8').digest('base64');
      return `${SIGNATURE_VERSION},${digest}`;
    })
    .join(' ');
}
