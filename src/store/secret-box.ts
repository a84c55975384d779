import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SetupError } from '../errors.js';

/**
 * Encryption at rest for webhook secrets and custom headers: AES-256-GCM with a random 96-bit nonce per
 * value. The stored form is `v1.<nonce>.<tag>.<ciphertext>` (base64url), so a raw database row never holds
 * plaintext, and tampering is detected on read.
 */
export const ENCRYPTION_KEY_BYTES = 32;
const VERSION = 'v1';

export class EncryptionKeyError extends SetupError {
  override name = 'EncryptionKeyError';
  constructor(readonly variable: string, reason: string) {
    super(`${variable} ${reason}`);
  }
}

export class DecryptionError extends Error {
  override name = 'DecryptionError';
}

export interface SecretBox {
  seal(plaintext: string, context: string): string;
  open(sealed: string, context: string): string;
}

/** Parses a base64 (or base64url) 32-byte key; the error names `variable` and never echoes the value. */
export function parseEncryptionKey(value: string, variable = 'HERALD_ENCRYPTION_KEY'): Buffer {
  const trimmed = value.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) throw new EncryptionKeyError(variable, 'must be base64');
  const key = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== ENCRYPTION_KEY_BYTES) throw new EncryptionKeyError(variable, `must decode to ${ENCRYPTION_KEY_BYTES} bytes, got ${key.length}`);
  return key;
}

export function generateEncryptionKey(): string {
  return randomBytes(ENCRYPTION_KEY_BYTES).toString('base64');
}

/**
 * `context` (e.g. the webhook id and column) is bound as associated data, so a sealed value copied to
 * another row or column does not open there.
 */
export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== ENCRYPTION_KEY_BYTES) throw new EncryptionKeyError('encryption key', `must be ${ENCRYPTION_KEY_BYTES} bytes`);
  return {
    seal(plaintext, context) {
      const nonce = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [VERSION, nonce.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
    },
    open(sealed, context) {
      const [version, nonce, tag, ciphertext] = sealed.split('.');
      if (version !== VERSION || nonce === undefined || tag === undefined || ciphertext === undefined) {
        throw new DecryptionError('sealed value has an unknown format');
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonce, 'base64url'));
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        throw new DecryptionError('sealed value does not open with this key (wrong HERALD_ENCRYPTION_KEY, or the row was altered)');
      }
    },
  };
}
