import { createHmac } from 'node:crypto';

import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { describe, expect, it } from 'vitest';

import {
  InvalidSecretError,
  SigningInputError,
  generateSecret,
  parseSecret,
  signStandardWebhook,
} from '../../src/signing/standard-webhooks.js';

// Fixed inputs for known-answer vectors. The expected signatures were computed once (and cross-checked
// with `openssl dgst -sha256 -mac HMAC`) and are pinned here: a change in output is a wire break.
const SECRET_A = `whsec_${Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('base64')}`; // bytes 00..1f
const SECRET_B = `whsec_${Buffer.from(Array.from({ length: 24 }, (_, i) => 255 - i)).toString('base64')}`; // ff..e8
const KAT_ID = 'evt_2Yw6cQfB8kTz1';
const KAT_TIMESTAMP = 1_700_000_000;
const KAT_BODY = '{"type":"order.created","timestamp":"2023-11-14T22:13:20.000Z","data":{"id":"ord_1","total":4200}}';
const KAT_SIGNATURE_A = 'v1,pfbMfai5hsRR8YUTvQvmXJfI5qPjJVk8YzLO3sz59QY=';
const KAT_SIGNATURE_B = 'v1,vO2o9bvQFMy03UFQDp228NJ5eWUxYGt02G5e7tC5KZU=';

// The test vector the Standard Webhooks project publishes for every implementation (its reference libraries'
// tests and docs): fixed secret, message id, timestamp and body, and the one signature they must produce.
// Unlike the vectors above, Herald did not compute this one, so it pins the scheme to the specification.
const SPEC_VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1_614_265_330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
} as const;

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** A valid signed message (signed with the current time, as the verifiers enforce a 5 min tolerance). */
interface TestMessage {
  id: string;
  timestamp: number;
  body: string;
  signingSecrets: string[];
  verifyingSecret: string;
}

function testMessage(): TestMessage {
  return {
    id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    timestamp: nowSeconds(),
    body: '{"type":"invoice.paid","timestamp":"2024-01-01T00:00:00.000Z","data":{"amount":1}}',
    signingSecrets: [SECRET_A],
    verifyingSecret: SECRET_A,
  };
}

/** Signs `signed`, then presents `sent` to both independent verifiers; returns whether each accepted. */
function verifyWithBoth(signed: TestMessage, sent: Partial<Pick<TestMessage, 'id' | 'timestamp' | 'body'>> = {}) {
  const signature = signStandardWebhook({
    id: signed.id,
    timestamp: signed.timestamp,
    body: signed.body,
    secrets: signed.signingSecrets,
  });
  const id = sent.id ?? signed.id;
  const timestamp = String(sent.timestamp ?? signed.timestamp);
  const body = sent.body ?? signed.body;
  const attempt = (verify: () => unknown): boolean => {
    try {
      verify();
      return true;
    } catch {
      return false;
    }
  };
  return {
    standardwebhooks: attempt(() =>
      new StandardWebhook(signed.verifyingSecret).verify(body, {
        'webhook-id': id,
        'webhook-timestamp': timestamp,
        'webhook-signature': signature,
      }),
    ),
    svix: attempt(() =>
      new SvixWebhook(signed.verifyingSecret).verify(body, {
        'svix-id': id,
        'svix-timestamp': timestamp,
        'svix-signature': signature,
      }),
    ),
  };
}

describe('signStandardWebhook known-answer vectors', () => {
  it("reproduces the Standard Webhooks specification's published test vector", () => {
    const { secret, id, timestamp, body, signature } = SPEC_VECTOR;
    expect(signStandardWebhook({ id, timestamp, body, secrets: [secret] })).toBe(signature);
    // The signed content is `{id}.{timestamp}.{body}`, byte for byte (the space in the body included).
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    expect(`v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`).toBe(signature);
  });

  it('one secret', () => {
    expect(signStandardWebhook({ id: KAT_ID, timestamp: KAT_TIMESTAMP, body: KAT_BODY, secrets: [SECRET_A] })).toBe(
      KAT_SIGNATURE_A,
    );
  });

  it('two secrets: one signature each, space-separated, in secret order', () => {
    expect(
      signStandardWebhook({ id: KAT_ID, timestamp: KAT_TIMESTAMP, body: KAT_BODY, secrets: [SECRET_A, SECRET_B] }),
    ).toBe(`${KAT_SIGNATURE_A} ${KAT_SIGNATURE_B}`);
  });

  it('agrees with the standardwebhooks reference signer and a node:crypto recomputation', () => {
    const reference = new StandardWebhook(SECRET_A).sign(KAT_ID, new Date(KAT_TIMESTAMP * 1000), KAT_BODY);
    expect(reference).toBe(KAT_SIGNATURE_A);
    const key = Buffer.from(SECRET_A.slice('whsec_'.length), 'base64');
    const recomputed = createHmac('sha256', key).update(`${KAT_ID}.${KAT_TIMESTAMP}.${KAT_BODY}`).digest('base64');
    expect(KAT_SIGNATURE_A).toBe(`v1,${recomputed}`);
  });

  it('signs non-ASCII bodies as UTF-8', () => {
    const body = '{"name":"Zoë ✓ 日本"}';
    const signature = signStandardWebhook({ id: KAT_ID, timestamp: KAT_TIMESTAMP, body, secrets: [SECRET_A] });
    expect(signature).toBe(new StandardWebhook(SECRET_A).sign(KAT_ID, new Date(KAT_TIMESTAMP * 1000), body));
  });
});

describe('independent verifiers', () => {
  it('a valid message verifies with standardwebhooks and svix', () => {
    expect(verifyWithBoth(testMessage())).toEqual({ standardwebhooks: true, svix: true });
  });

  it('two active secrets: the signature verifies under either one', () => {
    for (const verifyingSecret of [SECRET_A, SECRET_B]) {
      const message = { ...testMessage(), signingSecrets: [SECRET_A, SECRET_B], verifyingSecret };
      expect(verifyWithBoth(message)).toEqual({ standardwebhooks: true, svix: true });
    }
  });

  it('a freshly generated secret works with both verifiers', () => {
    const secret = generateSecret();
    const message = { ...testMessage(), signingSecrets: [secret], verifyingSecret: secret };
    expect(verifyWithBoth(message)).toEqual({ standardwebhooks: true, svix: true });
  });

  // Each case breaks exactly one thing of an otherwise valid message.
  const broken: Array<[string, (m: TestMessage) => [TestMessage, Partial<TestMessage>]]> = [
    ['wrong secret', (m) => [{ ...m, verifyingSecret: SECRET_B }, {}]],
    ['altered body', (m) => [m, { body: m.body.replace('"amount":1', '"amount":2') }]],
    ['body with a trailing newline', (m) => [m, { body: `${m.body}\n` }]],
    ['altered timestamp', (m) => [m, { timestamp: m.timestamp + 1 }]],
    ['altered id', (m) => [m, { id: `${m.id}x` }]],
    ['timestamp outside the 5 min tolerance', (m) => [{ ...m, timestamp: m.timestamp - 600 }, {}]],
  ];
  for (const [name, breakIt] of broken) {
    it(`fails when: ${name}`, () => {
      const [signed, sent] = breakIt(testMessage());
      expect(verifyWithBoth(signed, sent)).toEqual({ standardwebhooks: false, svix: false });
    });
  }
});

describe('signStandardWebhook input checks', () => {
  it.each([
    ['id', { id: 'evt.1' }],
    ['id', { id: '' }],
    ['timestamp', { timestamp: 1.5 }],
    ['timestamp', { timestamp: -1 }],
    ['secrets', { secrets: [] }],
  ])('rejects a bad %s', (field, override) => {
    const call = () => signStandardWebhook({ id: KAT_ID, timestamp: KAT_TIMESTAMP, body: KAT_BODY, secrets: [SECRET_A], ...override });
    expect(call).toThrow(SigningInputError);
    expect(call).toThrow(new RegExp(`^${field}:`));
  });

  it('rejects an invalid secret among valid ones', () => {
    expect(() =>
      signStandardWebhook({ id: KAT_ID, timestamp: KAT_TIMESTAMP, body: KAT_BODY, secrets: [SECRET_A, 'nope'] }),
    ).toThrow(InvalidSecretError);
  });
});

describe('parseSecret', () => {
  const of = (bytes: number): string => `whsec_${Buffer.alloc(bytes, 7).toString('base64')}`;

  it('returns the decoded key', () => {
    expect(parseSecret(SECRET_A)).toEqual(Buffer.from(Array.from({ length: 32 }, (_, i) => i)));
  });

  it('accepts 24 and 64 bytes', () => {
    expect(parseSecret(of(24))).toHaveLength(24);
    expect(parseSecret(of(64))).toHaveLength(64);
  });

  it.each([
    ['missing-prefix', SECRET_A.slice('whsec_'.length)],
    ['missing-prefix', `WHSEC_${SECRET_A.slice(6)}`],
    ['not-base64', 'whsec_'],
    ['not-base64', 'whsec_not base64!!'],
    ['not-base64', `whsec_${Buffer.alloc(33, 0xfb).toString('base64url')}`], // url-safe alphabet ('-', '_')
    ['not-base64', `${SECRET_A.slice(0, -1)}`], // padding removed
    ['not-base64', 'whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9='], // stray bits: not canonical
    ['too-short', of(23)],
    ['too-long', of(65)],
  ])('rejects (%s) %s', (reason, secret) => {
    try {
      parseSecret(secret);
      expect.unreachable('parseSecret accepted an invalid secret');
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidSecretError);
      expect(error).toMatchObject({ name: 'InvalidSecretError', reason });
      // The secret itself never appears in the message.
      expect((error as Error).message).not.toContain(secret.slice(6, 20) || '\u0000');
    }
  });
});

describe('generateSecret', () => {
  it('defaults to 32 random bytes with the whsec_ prefix', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(parseSecret(secret)).toHaveLength(32);
    expect(generateSecret()).not.toBe(secret);
  });

  it('honours the byte count within 24–64', () => {
    expect(parseSecret(generateSecret(24))).toHaveLength(24);
    expect(parseSecret(generateSecret(64))).toHaveLength(64);
  });

  it.each([23, 65, 0, 32.5])('refuses %s bytes', (bytes) => {
    expect(() => generateSecret(bytes)).toThrow(RangeError);
  });
});
