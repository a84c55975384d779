// The ObjectStack outbox's signature, kept so receivers written for ObjectStack keep verifying after the
// move to Herald. It signs the body only (no timestamp, no replay window); Standard Webhooks is the
// default scheme for that reason.
import { createHmac } from 'node:crypto';

import { InvalidSecretError } from './standard-webhooks.js';

const OBJECTSTACK_SIGNATURE_PREFIX = 'sha256=';

/**
 * `sha256=<hex HMAC-SHA256(secret, body)>`, byte-for-byte what the ObjectStack outbox sends in
 * `X-Objectstack-Signature`.
 *
 * Key bytes: the secret string's UTF-8 bytes, unmodified. ObjectStack passed the string straight to
 * `createHmac`, which encodes it as UTF-8; a `whsec_` prefix is NOT stripped or base64-decoded, so an
 * existing ObjectStack receiver configured with the same string verifies unchanged.
 */
export function signObjectstackBody(body: string, secret: string): string {
  // ObjectStack refused empty secrets (#8616); an HMAC under an empty key proves nothing.
  if (secret.length === 0) {
    throw new InvalidSecretError('empty', 'the objectstack secret must not be empty');
  }
  return OBJECTSTACK_SIGNATURE_PREFIX + createHmac('sha256', Buffer.from(secret, 'utf8')).update(body, 'utf8').digest('hex');
}
