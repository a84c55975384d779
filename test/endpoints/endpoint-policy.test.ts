import { describe, expect, it } from 'vitest';
import { checkEndpointPolicy, countsAsFailure, sendReportOf } from '../../src/endpoints/endpoint-policy.js';
import { ValidationError } from '../../src/errors.js';

describe('send reports', () => {
  it('classify 2xx as ok, 429 as throttling only, 503 as throttling and failure; no answer, 5xx and 408 as failures; other 3xx/4xx as neither', () => {
    expect(sendReportOf(204, 12)).toEqual({ ok: true, throttled: false, status: 204, latencyMs: 12 });
    const cases: [number | null, boolean, boolean][] = [
      [200, false, false],
      [299, false, false],
      [429, true, false],
      [503, true, true],
      [500, false, true],
      [408, false, true],
      [404, false, false],
      [400, false, false],
      [301, false, false],
      [null, false, true],
    ];
    for (const [status, throttled, failure] of cases) {
      const report = sendReportOf(status, null);
      expect([status, report.throttled, countsAsFailure(report)]).toEqual([status, throttled, failure]);
    }
  });
});

describe('endpoint policy', () => {
  it('accepts the defaults and names the field it refuses', () => {
    expect(() => checkEndpointPolicy({ rateLimitPerSecond: null, maxConcurrency: 20, breakerThreshold: 10, disableAfterDays: 5 })).not.toThrow();
    expect(() => checkEndpointPolicy({ rateLimitPerSecond: 10_001, maxConcurrency: 20, breakerThreshold: 10, disableAfterDays: 5 })).toThrow(
      new ValidationError('policy.rateLimitPerSecond', 'must be an integer from 1 to 10000, got 10001'),
    );
    expect(() => checkEndpointPolicy({ rateLimitPerSecond: null, maxConcurrency: 20, breakerThreshold: 0, disableAfterDays: 5 })).toThrow(/policy\.breakerThreshold/);
    expect(() => checkEndpointPolicy({ rateLimitPerSecond: null, maxConcurrency: 20, breakerThreshold: 10, disableAfterDays: Number.NaN })).toThrow(/policy\.disableAfterDays/);
  });
});
