// Herald's retry schedule: fixed delays with jitter, as Standard Webhooks recommends, applied by the
// send activity through `ApplicationFailure.create({ nextRetryDelay })`. Pure.
//
// Indexing: `schedule[i]` is the delay in seconds BEFORE attempt i + 1 (attempts are 1-based).
//   schedule[0] → before attempt 1 (normally 0: send immediately)
//   schedule[1] → after attempt 1 failed, before attempt 2
//   …
//   schedule[n] → after attempt n failed, before attempt n + 1
// So a schedule of length L allows L attempts in total, and after attempt L nothing is left.

/** Standard Webhooks' example: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h. */
export const DEFAULT_RETRY_SCHEDULE_SECONDS: readonly number[] = Object.freeze([
  0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400,
]);
/** ±20 % around each scheduled delay, so receivers recovering from an outage are not hit in lockstep. */
export const DEFAULT_RETRY_JITTER = 0.2;
/** A receiver's Retry-After is honoured up to this; beyond it the receiver is probably wrong. */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

export const MAX_RETRY_SCHEDULE_LENGTH = 20;
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
  const delaySeconds = schedule[attempt];
  if (delaySeconds === undefined) return undefined;

  const r = random();
  if (!(r >= 0 && r < 1)) {
    throw new RangeError(`nextRetryDelayMs: random() must return a number in [0, 1), got ${r}`);
  }
  const scheduledMs = Math.floor(delaySeconds * 1000 * (1 - jitter + 2 * jitter * r));
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs) || retryAfterMs <= 0) return scheduledMs;
  return Math.max(scheduledMs, Math.floor(Math.min(retryAfterMs, MAX_RETRY_AFTER_MS)));
}

/** Total attempts a schedule allows (for Temporal's `RetryPolicy.maximumAttempts`). */
export function maxAttemptsOf(schedule: readonly number[]): number {
  return schedule.length;
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
 * 1–20 whole-second delays; the first (before attempt 1) may be 0, every later one is 1 s–7 d.
 * Throws RetryScheduleError naming the field and the offending position.
 */
export function validateRetrySchedule(schedule: unknown): asserts schedule is readonly number[] {
  if (!Array.isArray(schedule)) {
    throw new RetryScheduleError('must be an array of delays in seconds');
  }
  if (schedule.length < 1 || schedule.length > MAX_RETRY_SCHEDULE_LENGTH) {
    throw new RetryScheduleError(`must have 1–${MAX_RETRY_SCHEDULE_LENGTH} delays, got ${schedule.length}`);
  }
  schedule.forEach((delay: unknown, index) => {
    const min = index === 0 ? 0 : MIN_RETRY_DELAY_SECONDS;
    if (typeof delay !== 'number' || !Number.isInteger(delay)) {
      throw new RetryScheduleError(`delay [${index}] must be a whole number of seconds, got ${JSON.stringify(delay)}`);
    }
    if (delay < min || delay > MAX_RETRY_DELAY_SECONDS) {
      throw new RetryScheduleError(
        `delay [${index}] is ${delay} s; ${index === 0 ? 'the first delay' : 'delays after the first'} must be ${min}–${MAX_RETRY_DELAY_SECONDS} s (${index === 0 ? '0' : '1 s'} to 7 d)`,
      );
    }
  });
}
