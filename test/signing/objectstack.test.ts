import { createHmac } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { signObjectstackBody } from '../../src/signing/objectstack.js';
import { InvalidSecretError } from '../../src/signing/standard-webhooks.js';

// Recomputed independently of the module under test: hex HMAC-SHA256 over the raw body, keyed with the
// secret string's UTF-8 bytes, exactly as ObjectStack's http-sender did.
const expected = (body: string, secret: string): string =>
  `sha256=${createHmac('sha256', Buffer.from(secret, 'utf8')).update(Buffer.from(body, 'utf8')).digest('hex')}`;

describe('signObjectstackBody', () => {
  it('matches a pinned known-answer vector', () => {
    const body = '{"type":"order.created","timestamp":"2023-11-14T22:13:20.000Z","data":{"id":"ord_1","total":4200}}';
    // Pinned once, cross-checked with `openssl dgst -sha256 -hmac objectstack-secret`.
    expect(signObjectstackBody(body, 'objectstack-secret')).toBe(
      'sha256=68784ee1267ed259d8279e0135f2019065bc95a8ad71bfb4cd894a730e10a2ed',
    );
  });

  it.each([
    ['{"a":1}', 's3cret'],
    ['', 's3cret'],
    ['héllo ✓', 'clé-日本'],
    ['plain text body', 'x'],
  ])('equals an independent node:crypto recomputation (%j, %j)', (body, secret) => {
    expect(signObjectstackBody(body, secret)).toBe(expected(body, secret));
  });

  it('uses a whsec_-looking secret as plain text, not base64-decoded', () => {
    const secret = 'whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
    expect(signObjectstackBody('{}', secret)).toBe(expected('{}', secret));
    const decodedKey = Buffer.from(secret.slice(6), 'base64');
    expect(signObjectstackBody('{}', secret)).not.toBe(`sha256=${createHmac('sha256', decodedKey).update('{}').digest('hex')}`);
  });

  it('a different secret or body gives a different signature', () => {
    expect(signObjectstackBody('{"a":1}', 'k1')).not.toBe(signObjectstackBody('{"a":1}', 'k2'));
    expect(signObjectstackBody('{"a":1}', 'k1')).not.toBe(signObjectstackBody('{"a":2}', 'k1'));
  });

  it('refuses an empty secret', () => {
    expect(() => signObjectstackBody('{}', '')).toThrow(InvalidSecretError);
  });
});
