import { describe, expect, it } from 'vitest';

import { classifyAttempt, parseRetryAfter } from '../../src/activities/classify-response.js';
import { HttpAttemptError } from '../../src/activities/http-attempt.js';
import type { HttpAttemptResult } from '../../src/activities/http-attempt.js';

const NOW_MS = Date.UTC(2025, 0, 15, 12, 0, 0); // Wed, 15 Jan 2025 12:00:00 GMT

const response = (status: number, headers: Record<string, string> = {}): HttpAttemptResult => ({
  status,
  headers,
  responseBody: '',
  responseBodyTruncated: false,
  durationMs: 12,
});

describe('classifyAttempt: responses', () => {
  it.each([200, 201, 202, 204, 299])('%i → success', (status) => {
    expect(classifyAttempt(response(status), NOW_MS)).toEqual({ outcome: 'success', reason: `HTTP ${status}` });
  });

  it.each([408, 425, 429, 500, 502, 503, 504, 599])('%i → retry', (status) => {
    expect(classifyAttempt(response(status), NOW_MS)).toEqual({ outcome: 'retry', reason: `HTTP ${status}` });
  });

  it('410 → gone (dead, and the webhook is to be disabled)', () => {
    expect(classifyAttempt(response(410), NOW_MS)).toMatchObject({ outcome: 'gone', reason: expect.stringMatching(/^HTTP 410/) });
  });

  it.each([301, 302, 303, 304, 307, 308])('%i → dead (redirects are not followed)', (status) => {
    expect(classifyAttempt(response(status, { location: 'http://elsewhere.test/' }), NOW_MS)).toEqual({
      outcome: 'dead',
      reason: `HTTP ${status}: redirects are not followed`,
    });
  });

  it.each([400, 401, 403, 404, 405, 409, 413, 415, 422, 451, 499])('%i → dead', (status) => {
    expect(classifyAttempt(response(status), NOW_MS)).toEqual({ outcome: 'dead', reason: `HTTP ${status}` });
  });

  it.each([101, 199, 600, 999])('%i (outside the standard classes) → dead', (status) => {
    expect(classifyAttempt(response(status), NOW_MS).outcome).toBe('dead');
  });

  it('honours Retry-After on 429 and 503', () => {
    expect(classifyAttempt(response(429, { 'retry-after': '120' }), NOW_MS)).toEqual({
      outcome: 'retry',
      reason: 'HTTP 429',
      retryAfterMs: 120_000,
    });
    expect(classifyAttempt(response(503, { 'retry-after': 'Wed, 15 Jan 2025 12:05:00 GMT' }), NOW_MS)).toEqual({
      outcome: 'retry',
      reason: 'HTTP 503',
      retryAfterMs: 300_000,
    });
  });

  it('ignores Retry-After on other statuses and when unparseable', () => {
    for (const status of [500, 502, 504, 408]) {
      expect(classifyAttempt(response(status, { 'retry-after': '120' }), NOW_MS)).not.toHaveProperty('retryAfterMs');
    }
    expect(classifyAttempt(response(429, { 'retry-after': 'soon' }), NOW_MS)).not.toHaveProperty('retryAfterMs');
    expect(classifyAttempt(response(301, { 'retry-after': '120' }), NOW_MS)).not.toHaveProperty('retryAfterMs');
  });
});

describe('classifyAttempt: errors', () => {
  const error = (kind: HttpAttemptError['kind'], message: string) => new HttpAttemptError(kind, message, { durationMs: 5 });

  it('timeouts and network errors → retry, with the error message as reason', () => {
    expect(classifyAttempt(error('timeout', 'timeout after 15000ms'), NOW_MS)).toEqual({ outcome: 'retry', reason: 'timeout after 15000ms' });
    expect(classifyAttempt(error('network', 'connect ECONNREFUSED 127.0.0.1:1234'), NOW_MS)).toEqual({
      outcome: 'retry',
      reason: 'connect ECONNREFUSED 127.0.0.1:1234',
    });
  });

  it('egress refusals and unsendable requests → dead', () => {
    const message = 'egress refused: 127.0.0.2 is loopback and not in HERALD_EGRESS_ALLOW';
    expect(classifyAttempt(error('refused', message), NOW_MS)).toEqual({ outcome: 'dead', reason: message });
    expect(classifyAttempt(error('invalid', 'unsupported URL scheme ftp:'), NOW_MS).outcome).toBe('dead');
  });

  it('a caller abort is not the receiver’s fault → retry', () => {
    expect(classifyAttempt(error('aborted', 'aborted by caller'), NOW_MS).outcome).toBe('retry');
  });

  it('an unexpected error → retry, saying so', () => {
    expect(classifyAttempt(new Error('boom'), NOW_MS)).toEqual({ outcome: 'retry', reason: 'unexpected error: boom' });
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['0', 0],
    ['1', 1_000],
    ['120', 120_000],
    [' 30 ', 30_000],
    ['86400', 86_400_000],
    ['-5', 0],
  ])('delta-seconds %j → %i ms', (value, expected) => {
    expect(parseRetryAfter(value, NOW_MS)).toBe(expected);
  });

  it.each([
    ['Wed, 15 Jan 2025 12:00:30 GMT', 30_000], // IMF-fixdate
    ['Wednesday, 15-Jan-25 12:01:00 GMT', 60_000], // obsolete RFC 850
    ['Wed Jan 15 12:02:00 2025', 120_000], // obsolete asctime (GMT by definition)
    ['Wed, 15 Jan 2025 11:59:00 GMT', 0], // in the past
  ])('HTTP-date %j → %i ms', (value, expected) => {
    expect(parseRetryAfter(value, NOW_MS)).toBe(expected);
  });

  it.each([undefined, '', '   ', 'soon', '1.5', '12abc', '0x10', 'Wed, 99 Foo 2025', '1e3', '99999999999999999999'])(
    'garbage %j → undefined',
    (value) => {
      expect(parseRetryAfter(value, NOW_MS)).toBeUndefined();
    },
  );
});
