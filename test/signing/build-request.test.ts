import { createHmac } from 'node:crypto';

import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { describe, expect, it } from 'vitest';

import { InvalidCustomHeaderError, buildSignedRequest, isProtectedHeaderName } from '../../src/signing/build-request.js';
import type { BuildSignedRequestInput, SignedRequest } from '../../src/signing/build-request.js';
import { InvalidSecretError, SigningInputError } from '../../src/signing/standard-webhooks.js';

const SECRET_A = `whsec_${Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('base64')}`;
const SECRET_B = `whsec_${Buffer.from(Array.from({ length: 24 }, (_, i) => 255 - i)).toString('base64')}`;
const OBJECTSTACK_SECRET = 'objectstack-secret';

function standardInput(overrides: Partial<BuildSignedRequestInput> = {}): BuildSignedRequestInput {
  return {
    scheme: 'standard',
    eventId: 'evt_2Yw6cQfB8kTz1',
    eventType: 'order.created',
    eventTimeMs: 1_700_000_000_000,
    deliveryId: 'dlv_1',
    attempt: 3,
    payload: { id: 'ord_1', total: 4200 },
    secrets: [SECRET_A],
    nowMs: 1_700_000_123_456,
    userAgent: 'Herald/0.1',
    ...overrides,
  };
}

const objectstackInput = (overrides: Partial<BuildSignedRequestInput> = {}): BuildSignedRequestInput =>
  standardInput({ scheme: 'objectstack', secrets: [OBJECTSTACK_SECRET], userAgent: 'ObjectStack-Webhooks/1.0', ...overrides });

/** Header lookup by case-insensitive name, failing when a name occurs more than once. */
function header(request: SignedRequest, name: string): string | undefined {
  const matches = Object.entries(request.headers).filter(([key]) => key.toLowerCase() === name.toLowerCase());
  expect(matches.length, `header ${name} occurs ${matches.length} times`).toBeLessThanOrEqual(1);
  return matches[0]?.[1];
}

function verifies(request: SignedRequest, secret: string): { standardwebhooks: boolean; svix: boolean } {
  const id = header(request, 'webhook-id') ?? '';
  const timestamp = header(request, 'webhook-timestamp') ?? '';
  const signature = header(request, 'webhook-signature') ?? '';
  const ok = (fn: () => unknown): boolean => {
    try {
      fn();
      return true;
    } catch {
      return false;
    }
  };
  return {
    standardwebhooks: ok(() => new StandardWebhook(secret).verify(request.body, request.headers)),
    svix: ok(() =>
      new SvixWebhook(secret).verify(request.body, { 'svix-id': id, 'svix-timestamp': timestamp, 'svix-signature': signature }),
    ),
  };
}

describe('buildSignedRequest: standard scheme', () => {
  it('produces the pinned body and headers for fixed inputs', () => {
    expect(buildSignedRequest(standardInput())).toEqual({
      body: '{"type":"order.created","timestamp":"2023-11-14T22:13:20.000Z","data":{"id":"ord_1","total":4200}}',
      headers: {
        'user-agent': 'Herald/0.1',
        'content-type': 'application/json',
        'webhook-id': 'evt_2Yw6cQfB8kTz1',
        // floor(1_700_000_123_456 / 1000): the attempt time, not the event time.
        'webhook-timestamp': '1700000123',
        'webhook-signature': 'v1,11qdkwtHMSzcs8xSgHADwsfUmlLrEPp98jx49rRaCPI=',
        'x-herald-delivery-id': 'dlv_1',
        'x-herald-attempt': '3',
      },
    });
  });

  it('the returned body is exactly what was signed: both verifiers accept it (current time)', () => {
    const request = buildSignedRequest(standardInput({ nowMs: Date.now() }));
    expect(verifies(request, SECRET_A)).toEqual({ standardwebhooks: true, svix: true });
  });

  it('two active secrets: two space-separated signatures, each verifies', () => {
    const request = buildSignedRequest(standardInput({ nowMs: Date.now(), secrets: [SECRET_A, SECRET_B] }));
    expect(header(request, 'webhook-signature')?.split(' ')).toHaveLength(2);
    expect(verifies(request, SECRET_A)).toEqual({ standardwebhooks: true, svix: true });
    expect(verifies(request, SECRET_B)).toEqual({ standardwebhooks: true, svix: true });
  });

  it('webhook-id is the event id on every attempt; the timestamp follows the attempt time', () => {
    const first = buildSignedRequest(standardInput({ attempt: 1, nowMs: 1_700_000_000_999 }));
    const second = buildSignedRequest(standardInput({ attempt: 2, nowMs: 1_700_000_005_000 }));
    expect(header(first, 'webhook-id')).toBe(header(second, 'webhook-id'));
    expect(header(first, 'webhook-timestamp')).toBe('1700000000');
    expect(header(second, 'webhook-timestamp')).toBe('1700000005');
    expect(header(second, 'x-herald-attempt')).toBe('2');
    expect(first.body).toBe(second.body);
  });

  it('wraps the payload in the {type, timestamp, data} envelope; undefined payload → data null', () => {
    expect(JSON.parse(buildSignedRequest(standardInput({ payload: [1, 'two'] })).body)).toEqual({
      type: 'order.created',
      timestamp: '2023-11-14T22:13:20.000Z',
      data: [1, 'two'],
    });
    expect(JSON.parse(buildSignedRequest(standardInput({ payload: undefined })).body)).toHaveProperty('data', null);
    expect(JSON.parse(buildSignedRequest(standardInput({ payload: 'text' })).body)).toHaveProperty('data', 'text');
  });

  it('a body altered after signing no longer verifies', () => {
    const request = buildSignedRequest(standardInput({ nowMs: Date.now() }));
    const tampered = { ...request, body: request.body.replace('4200', '4201') };
    expect(verifies(tampered, SECRET_A)).toEqual({ standardwebhooks: false, svix: false });
  });

  it('rejects bad inputs naming the field', () => {
    expect(() => buildSignedRequest(standardInput({ secrets: [] }))).toThrow(/^secrets:/);
    expect(() => buildSignedRequest(standardInput({ attempt: 0 }))).toThrow(SigningInputError);
    expect(() => buildSignedRequest(standardInput({ eventTimeMs: Number.NaN }))).toThrow(/^eventTimeMs:/);
    expect(() => buildSignedRequest(standardInput({ eventId: 'evt.1' }))).toThrow(/^id:/);
    expect(() => buildSignedRequest(standardInput({ secrets: ['plain-secret'] }))).toThrow(InvalidSecretError);
  });
});

describe('buildSignedRequest: objectstack scheme', () => {
  it('sends the ObjectStack header set, signed with node:crypto-verifiable sha256=<hex>', () => {
    const request = buildSignedRequest(objectstackInput());
    const expectedSignature = `sha256=${createHmac('sha256', Buffer.from(OBJECTSTACK_SECRET, 'utf8')).update(request.body).digest('hex')}`;
    expect(request).toEqual({
      body: '{"id":"ord_1","total":4200}',
      headers: {
        'User-Agent': 'ObjectStack-Webhooks/1.0',
        'Content-Type': 'application/json',
        'X-Objectstack-Delivery': 'dlv_1',
        'X-Objectstack-Attempt': '3',
        'X-Objectstack-Event': 'order.created',
        'X-Objectstack-Signature': expectedSignature,
      },
    });
    // Pinned, so that an accidental change of key derivation shows up as a diff.
    expect(expectedSignature).toBe('sha256=25824af6097bab6ac6a8ab1c8c4fea08421d9af2ef114f7816e1d5afb3dfbe2f');
  });

  it('a string payload is sent verbatim; anything else as JSON; undefined as null', () => {
    expect(buildSignedRequest(objectstackInput({ payload: 'raw <xml/>' })).body).toBe('raw <xml/>');
    expect(buildSignedRequest(objectstackInput({ payload: [1, 2] })).body).toBe('[1,2]');
    expect(buildSignedRequest(objectstackInput({ payload: undefined })).body).toBe('null');
    expect(buildSignedRequest(objectstackInput({ payload: null })).body).toBe('null');
  });

  it('signs with the first active secret only', () => {
    const request = buildSignedRequest(objectstackInput({ secrets: ['newest', 'older'] }));
    const signature = `sha256=${createHmac('sha256', 'newest').update(request.body).digest('hex')}`;
    expect(header(request, 'X-Objectstack-Signature')).toBe(signature);
  });

  it('has no Standard Webhooks or Herald headers', () => {
    const names = Object.keys(buildSignedRequest(objectstackInput()).headers).map((name) => name.toLowerCase());
    expect(names.filter((name) => name.startsWith('webhook-') || name.startsWith('x-herald-'))).toEqual([]);
  });
});

describe('custom headers', () => {
  const overrideAttempts: Record<string, string> = {
    'Content-Type': 'text/plain',
    'CONTENT-LENGTH': '1',
    Host: 'evil.example',
    'Content-Encoding': 'gzip',
    'Transfer-Encoding': 'chunked',
    Connection: 'close',
    'Webhook-Id': 'forged',
    'webhook-signature': 'v1,forged',
    'WEBHOOK-TIMESTAMP': '1',
    'X-Herald-Attempt': '99',
    'x-herald-delivery-id': 'forged',
    'x-objectstack-signature': 'sha256=forged',
    'X-OBJECTSTACK-DELIVERY': 'forged',
    'Svix-Signature': 'v1,forged',
  };

  it('cannot override protected headers in the standard scheme (any case)', () => {
    const request = buildSignedRequest(standardInput({ nowMs: Date.now(), customHeaders: overrideAttempts }));
    expect(header(request, 'content-type')).toBe('application/json');
    expect(header(request, 'webhook-id')).toBe('evt_2Yw6cQfB8kTz1');
    expect(header(request, 'webhook-signature')).toMatch(/^v1,/);
    expect(header(request, 'x-herald-attempt')).toBe('3');
    for (const name of ['content-length', 'host', 'content-encoding', 'transfer-encoding', 'connection', 'svix-signature']) {
      expect(header(request, name)).toBeUndefined();
    }
    expect(verifies(request, SECRET_A)).toEqual({ standardwebhooks: true, svix: true });
  });

  it('cannot override protected headers in the objectstack scheme (any case)', () => {
    const request = buildSignedRequest(objectstackInput({ customHeaders: overrideAttempts }));
    expect(header(request, 'x-objectstack-signature')).not.toBe('sha256=forged');
    expect(header(request, 'x-objectstack-delivery')).toBe('dlv_1');
    expect(header(request, 'content-type')).toBe('application/json');
    expect(header(request, 'host')).toBeUndefined();
  });

  it('other custom headers are sent; a custom User-Agent replaces the default (no duplicate)', () => {
    const request = buildSignedRequest(
      standardInput({ customHeaders: { Authorization: 'Bearer t', 'X-Tenant': 't1', 'User-Agent': 'Custom/1' } }),
    );
    expect(header(request, 'authorization')).toBe('Bearer t');
    expect(header(request, 'x-tenant')).toBe('t1');
    expect(header(request, 'user-agent')).toBe('Custom/1');
  });

  it('rejects an invalid header name or a multi-line value without echoing the value', () => {
    expect(() => buildSignedRequest(standardInput({ customHeaders: { 'Bad Name': 'x' } }))).toThrow(InvalidCustomHeaderError);
    const call = () => buildSignedRequest(standardInput({ customHeaders: { Authorization: 'Bearer s3cr3t\r\nX-Evil: 1' } }));
    expect(call).toThrow(InvalidCustomHeaderError);
    expect(call).toThrow(/Authorization/);
    expect(call).not.toThrow(/s3cr3t/);
  });
});

describe('isProtectedHeaderName', () => {
  it.each([
    'content-type',
    'Content-Length',
    'HOST',
    'content-encoding',
    'transfer-encoding',
    'webhook-id',
    'Webhook-Signature',
    'webhook-timestamp',
    'webhook-anything',
    'X-Herald-Delivery-Id',
    'x-herald-whatever',
    'X-Objectstack-Event',
    'svix-id',
    ' Host ',
  ])('%s is protected', (name) => {
    expect(isProtectedHeaderName(name)).toBe(true);
  });

  it.each(['authorization', 'x-api-key', 'user-agent', 'x-webhook-source', 'accept', 'x-heraldic'])('%s is not', (name) => {
    expect(isProtectedHeaderName(name)).toBe(false);
  });
});
