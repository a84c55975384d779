import { describe, expect, it } from 'vitest';

import {
  DEFAULT_RETRY_JITTER,
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  MAX_RETRY_AFTER_MS,
  RetryScheduleError,
  maxAttemptsOf,
  nextRetryDelayMs,
  validateRetrySchedule,
} from '../../src/delivery/retry-schedule.js';

const fixed = (value: number) => (): number => value;
const HOUR_MS = 3_600_000;

describe('DEFAULT_RETRY_SCHEDULE_SECONDS', () => {
  it("is Standard Webhooks' example: 10 attempts over about 75 h 35 min", () => {
    expect(DEFAULT_RETRY_SCHEDULE_SECONDS).toEqual([0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]);
    expect(maxAttemptsOf(DEFAULT_RETRY_SCHEDULE_SECONDS)).toBe(10);
    const totalSeconds = DEFAULT_RETRY_SCHEDULE_SECONDS.reduce((sum, s) => sum + s, 0);
    expect(totalSeconds).toBe(75 * 3600 + 35 * 60 + 5);
    expect(() => validateRetrySchedule(DEFAULT_RETRY_SCHEDULE_SECONDS)).not.toThrow();
    expect(DEFAULT_RETRY_JITTER).toBe(0.2);
    expect(MAX_RETRY_AFTER_MS).toBe(24 * HOUR_MS);
  });
});

describe('nextRetryDelayMs', () => {
  const base = { schedule: DEFAULT_RETRY_SCHEDULE_SECONDS, jitter: 0, random: fixed(0.5) };

  it('after attempt n fails, waits schedule[n] (schedule[0] was the wait before attempt 1)', () => {
    expect(nextRetryDelayMs({ ...base, attempt: 1 })).toBe(5_000);
    expect(nextRetryDelayMs({ ...base, attempt: 2 })).toBe(300_000);
    expect(nextRetryDelayMs({ ...base, attempt: 9 })).toBe(86_400_000);
  });

  it('is exhausted after the last attempt', () => {
    expect(nextRetryDelayMs({ ...base, attempt: 10 })).toBeUndefined();
    expect(nextRetryDelayMs({ ...base, attempt: 11 })).toBeUndefined();
    expect(nextRetryDelayMs({ ...base, schedule: [0], attempt: 1 })).toBeUndefined();
  });

  it('applies jitter as a factor in [1 - j, 1 + j), floored to whole ms', () => {
    const input = { schedule: [0, 300], attempt: 1, jitter: 0.2 };
    expect(nextRetryDelayMs({ ...input, random: fixed(0) })).toBe(240_000);
    expect(nextRetryDelayMs({ ...input, random: fixed(0.5) })).toBe(300_000);
    expect(nextRetryDelayMs({ ...input, random: fixed(0.999999) })).toBe(359_999);
    expect(nextRetryDelayMs({ schedule: [0, 5], attempt: 1, jitter: 0.2, random: fixed(0.123) })).toBe(Math.floor(5_000 * (0.8 + 0.4 * 0.123)));
  });

  it('stays within bounds for many random draws', () => {
    for (let i = 0; i < 1_000; i += 1) {
      const delay = nextRetryDelayMs({ schedule: [0, 1800], attempt: 1, jitter: 0.2, random: Math.random }) as number;
      expect(delay).toBeGreaterThanOrEqual(1_440_000);
      expect(delay).toBeLessThan(2_160_000);
    }
  });

  it('Retry-After can lengthen the wait but never shorten it', () => {
    const input = { ...base, attempt: 1 }; // scheduled: 5 s
    expect(nextRetryDelayMs({ ...input, retryAfterMs: 60_000 })).toBe(60_000);
    expect(nextRetryDelayMs({ ...input, retryAfterMs: 1_000 })).toBe(5_000);
    expect(nextRetryDelayMs({ ...input, retryAfterMs: 0 })).toBe(5_000);
  });

  it('caps Retry-After at 24 h, but a longer scheduled delay still wins', () => {
    expect(nextRetryDelayMs({ ...base, attempt: 1, retryAfterMs: 72 * HOUR_MS })).toBe(MAX_RETRY_AFTER_MS);
    expect(nextRetryDelayMs({ ...base, schedule: [0, 100_000], attempt: 1, retryAfterMs: 72 * HOUR_MS })).toBe(100_000_000);
  });

  it('does not extend an exhausted schedule because of Retry-After', () => {
    expect(nextRetryDelayMs({ ...base, attempt: 10, retryAfterMs: 60_000 })).toBeUndefined();
  });

  it('rejects nonsense arguments', () => {
    expect(() => nextRetryDelayMs({ ...base, attempt: 0 })).toThrow(RangeError);
    expect(() => nextRetryDelayMs({ ...base, attempt: 1.5 })).toThrow(RangeError);
    expect(() => nextRetryDelayMs({ ...base, attempt: 1, jitter: 1 })).toThrow(RangeError);
    expect(() => nextRetryDelayMs({ ...base, attempt: 1, jitter: -0.1 })).toThrow(RangeError);
    expect(() => nextRetryDelayMs({ ...base, attempt: 1, random: fixed(1) })).toThrow(RangeError);
  });
});

describe('validateRetrySchedule', () => {
  it.each([[[0]], [[60]], [[0, 1]], [[0, 604_800]], [[604_800, 604_800]], [Array.from({ length: 20 }, () => 1)]])('accepts %j', (schedule) => {
    expect(() => validateRetrySchedule(schedule)).not.toThrow();
  });

  it.each([
    [[], 'must have 1–20 delays, got 0'],
    [Array.from({ length: 21 }, () => 1), 'must have 1–20 delays, got 21'],
    [[0, 0], 'delay [1] is 0 s'],
    [[0, 5, 604_801], 'delay [2] is 604801 s'],
    [[-1], 'delay [0] is -1 s'],
    [[604_801], 'delay [0] is 604801 s'],
    [[0, 1.5], 'delay [1] must be a whole number of seconds'],
    [[0, '5'], 'delay [1] must be a whole number of seconds'],
    [[0, Number.NaN], 'delay [1] must be a whole number of seconds'],
    ['0,5', 'must be an array'],
    [null, 'must be an array'],
  ])('rejects %j naming retrySchedule and the reason', (schedule, reason) => {
    try {
      validateRetrySchedule(schedule);
      expect.unreachable('accepted an invalid schedule');
    } catch (error) {
      expect(error).toBeInstanceOf(RetryScheduleError);
      expect(error).toMatchObject({ name: 'RetryScheduleError', field: 'retrySchedule' });
      expect((error as Error).message).toMatch(/^retrySchedule: /);
      expect((error as Error).message).toContain(reason);
    }
  });
});
