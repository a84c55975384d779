import { describe, expect, it } from 'vitest';

import {
  DEFAULT_RETRY_JITTER,
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  MAX_RETRY_AFTER_MS,
  fromLegacyRetrySchedule,
  RetryScheduleError,
  maxAttemptsOf,
  nextRetryDelayMs,
  validateRetrySchedule,
} from '../../src/delivery/retry-schedule.js';

const fixed = (value: number) => (): number => value;
const HOUR_MS = 3_600_000;

describe('DEFAULT_RETRY_SCHEDULE_SECONDS', () => {
  it("is Standard Webhooks' example: 10 attempts over about 75 h 35 min", () => {
    expect(DEFAULT_RETRY_SCHEDULE_SECONDS).toEqual([5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]);
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

  it('after attempt n fails, waits schedule[n - 1] (the first attempt is immediate and has no entry)', () => {
    expect(nextRetryDelayMs({ ...base, attempt: 1 })).toBe(5_000);
    expect(nextRetryDelayMs({ ...base, attempt: 2 })).toBe(300_000);
    expect(nextRetryDelayMs({ ...base, attempt: 9 })).toBe(86_400_000);
  });

  it('is exhausted after the last attempt', () => {
    expect(nextRetryDelayMs({ ...base, attempt: 10 })).toBeUndefined();
    expect(nextRetryDelayMs({ ...base, attempt: 11 })).toBeUndefined();
    expect(nextRetryDelayMs({ ...base, schedule: [], attempt: 1 })).toBeUndefined();
    expect(nextRetryDelayMs({ ...base, schedule: [60], attempt: 1 })).toBe(60_000);
    expect(nextRetryDelayMs({ ...base, schedule: [60], attempt: 2 })).toBeUndefined();
  });

  it('applies jitter as a factor in [1 - j, 1 + j), floored to whole ms', () => {
    const input = { schedule: [300], attempt: 1, jitter: 0.2 };
    expect(nextRetryDelayMs({ ...input, random: fixed(0) })).toBe(240_000);
    expect(nextRetryDelayMs({ ...input, random: fixed(0.5) })).toBe(300_000);
    expect(nextRetryDelayMs({ ...input, random: fixed(0.999999) })).toBe(359_999);
    expect(nextRetryDelayMs({ schedule: [5], attempt: 1, jitter: 0.2, random: fixed(0.123) })).toBe(Math.floor(5_000 * (0.8 + 0.4 * 0.123)));
  });

  it('stays within bounds for many random draws', () => {
    for (let i = 0; i < 1_000; i += 1) {
      const delay = nextRetryDelayMs({ schedule: [1800], attempt: 1, jitter: 0.2, random: Math.random }) as number;
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
    expect(nextRetryDelayMs({ ...base, schedule: [100_000], attempt: 1, retryAfterMs: 72 * HOUR_MS })).toBe(100_000_000);
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

describe('maxAttemptsOf', () => {
  it('is one attempt more than there are delays: [5, 300, 1800] = 4 attempts, [] = 1', () => {
    expect(maxAttemptsOf([5, 300, 1800])).toBe(4);
    expect(maxAttemptsOf([])).toBe(1);
  });
});

describe('fromLegacyRetrySchedule', () => {
  it('drops the old leading delay, and a delivery started on the old shape keeps its delays', () => {
    const legacy = [0, 5, 300];
    const converted = fromLegacyRetrySchedule(legacy);
    expect(converted).toEqual([5, 300]);
    // The in-flight delivery carries maxAttempts = old length; the new schedule allows the same.
    expect(maxAttemptsOf(converted)).toBe(legacy.length);
    for (let attempt = 1; attempt < legacy.length; attempt++) {
      expect(nextRetryDelayMs({ schedule: converted, attempt, jitter: 0, random: fixed(0.5) })).toBe(legacy[attempt]! * 1000);
    }
    expect(fromLegacyRetrySchedule([60])).toEqual([]);
  });
});

describe('validateRetrySchedule', () => {
  it.each([[[]], [[60]], [[1, 1]], [[604_800]], [[604_800, 604_800]], [Array.from({ length: 19 }, () => 1)]])('accepts %j', (schedule) => {
    expect(() => validateRetrySchedule(schedule)).not.toThrow();
  });

  it.each([
    [Array.from({ length: 20 }, () => 1), 'must have at most 19 delays (20 attempts), got 20'],
    [[0, 5, 300], '[0] is 0 s: delays are before each retry, 1–604800 s (1 s–7 d); the first attempt is always immediate — drop the leading 0'],
    [[5, 0], '[1] is 0 s: delays are before each retry'],
    [[5, 604_801], '[1] is 604801 s'],
    [[-1], '[0] is -1 s'],
    [[604_801], '[0] is 604801 s'],
    [[1.5], '[0] must be a whole number of seconds'],
    [[5, '5'], '[1] must be a whole number of seconds'],
    [[5, Number.NaN], '[1] must be a whole number of seconds'],
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

  it('does not flag a later 0 as a leading one', () => {
    expect(() => validateRetrySchedule([5, 0])).toThrow(/^(?!.*drop the leading 0).*$/);
  });
});
