// Herald's retry schedule: fixed delays with jitter, as Standard Webhooks recommends, applied by the
// send activity through `ApplicationFailure.create({ nextRetryDelay })`. Pure.
//
// Indexing: `schedule[i]` is the delay in seconds BEFORE RETRY i + 1, i.e. after attempt i + 1 failed
// (attempts are 1-based; the first attempt is always immediate and has no entry):
//   schedule[0] → after attempt 1 failed, before attempt 2
//   …
//   schedule[n] → after attempt n + 1 failed, before attempt n + 2
// So a schedule of length L allows L + 1 attempts in total: `[5, 300, 1800]` = 4 attempts, `[]` = 1.
//
// Before this format, `schedule[0]` was the (ignored) delay before attempt 1, usually 0. Stored webhooks of
// that shape are converted once by dropping it (`fromLegacyRetrySchedule`, src/store/webhooks.ts); a
// delivery started before the conversion carries `maxAttempts` = old length = new length + 1, and its
// attempt n reads new[n - 1] = old[n]: the same delays.

/** Standard Webhooks' example, 10 attempts: immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h. */
export const DEFAULT_RETRY_SCHEDULE_SECONDS: readonly number[] = Object.freeze([5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]);
/** ±20 % around each scheduled delay, so receivers recovering from an outage are not hit in lockstep. */
export const DEFAULT_RETRY_JITTER = 0.2;
/** A receiver's Retry-After is honoured up to this; beyond it the receiver is probably wrong. */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

/** At most 19 retries: 20 attempts. */
export const MAX_RETRY_SCHEDULE_LENGTH = 19;
export const MIN_RETRY_DELAY_SECONDS = 1;
export const MAX_RETRY_DELAY_SECONDS = 7 * 24 * 60 * 60;

export interface NextRetryDelayInput {
  readonly schedule: readonly number[];
  /** The 1-based attempt that just failed. */
  readonly attempt: number;
  /** Fraction in [0, 1): the delay is scaled by a factor in [1 - jitter, 1 + jitter). */
  readonly jitter: number;
  /** Uniform in [0, 1); injected so tests are deterministic (Math.random in production). */
  readonly random: () => number;
  /** The receiver's Retry-After in ms (already restricted to 429/503 by the classifier). */
  readonly retryAfterMs?: number;
}

/**
 * Milliseconds to wait before the next attempt, or `undefined` when the schedule is exhausted (the
 * attempt that just failed was the last one). A Retry-After can lengthen the wait, never shorten it:
 * max(scheduled, min(retryAfter, MAX_RETRY_AFTER_MS)).
 */
export function nextRetryDelayMs(input: NextRetryDelayInput): number | undefined {
  const { schedule, attempt, jitter, random, retryAfterMs } = input;
  if (!Number.isSafeInteger(attempt) || attempt < 1) {
    throw new RangeError(`nextRetryDelayMs: attempt must be a positive integer (1-based), got ${attempt}`);
  }
  if (!(jitter >= 0 && jitter < 1)) {
    throw new RangeError(`nextRetryDelayMs: jitter must be in [0, 1), got ${jitter}`);
  }
  const delaySeconds = schedule[attempt - 1];
  if (delaySeconds === undefined) return undefined;

  const r = random();
  if (!(r >= 0 && r < 1)) {
    throw new RangeError(`nextRetryDelayMs: random() must return a number in [0, 1), got ${r}`);
  }
  const scheduledMs = Math.floor(delaySeconds * 1000 * (1 - jitter + 2 * jitter * r));
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs) || retryAfterMs <= 0) return scheduledMs;
  return Math.max(scheduledMs, Math.floor(Math.min(retryAfterMs, MAX_RETRY_AFTER_MS)));
}

/** Total attempts a schedule allows (for Temporal's `RetryPolicy.maximumAttempts`): the first, plus one per delay. */
export function maxAttemptsOf(schedule: readonly number[]): number {
  return schedule.length + 1;
}

/** A schedule stored before delays meant "before each retry": its first element was the ignored delay before attempt 1. */
export function fromLegacyRetrySchedule(legacy: readonly number[]): number[] {
  return legacy.slice(1);
}

export class RetryScheduleError extends Error {
  readonly field = 'retrySchedule';
  readonly reason: string;

  constructor(reason: string) {
    super(`retrySchedule: ${reason}`);
    this.name = 'RetryScheduleError';
    this.reason = reason;
  }
}

/**
 * 0–19 whole-second delays, each 1 s–7 d. Throws RetryScheduleError naming the field and the offending
 * position; a leading 0 (the old shape, where the first element was the delay before attempt 1) says so.
 */
export function validateRetrySchedule(schedule: unknown): asserts schedule is readonly number[] {
  if (!Array.isArray(schedule)) {
    throw new RetryScheduleError('must be an array of delays in seconds, one before each retry');
  }
  if (schedule.length > MAX_RETRY_SCHEDULE_LENGTH) {
    throw new RetryScheduleError(`must have at most ${MAX_RETRY_SCHEDULE_LENGTH} delays (${MAX_RETRY_SCHEDULE_LENGTH + 1} attempts), got ${schedule.length}`);
  }
  schedule.forEach((delay: unknown, index) => {
    if (typeof delay !== 'number' || !Number.isInteger(delay)) {
      throw new RetryScheduleError(`[${index}] must be a whole number of seconds, got ${JSON.stringify(delay)}`);
    }
    if (delay < MIN_RETRY_DELAY_SECONDS || delay > MAX_RETRY_DELAY_SECONDS) {
      const leadingZero = index === 0 && delay === 0 ? '; the first attempt is always immediate — drop the leading 0' : '';
      throw new RetryScheduleError(`[${index}] is ${delay} s: delays are before each retry, ${MIN_RETRY_DELAY_SECONDS}–${MAX_RETRY_DELAY_SECONDS} s (1 s–7 d)${leadingZero}`);
    }
  });
}
