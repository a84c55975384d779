// What one attempt means for the delivery. Pure; the send activity turns the outcome into a return value,
// a retryable ApplicationFailure (with nextRetryDelay) or a non-retryable one.
import { HttpAttemptError } from './http-attempt.js';
import type { HttpAttemptResult } from './http-attempt.js';

/**
 * - success: 2xx;
 * - retry: worth trying again later;
 * - dead: will not succeed by retrying (dead-letter now);
 * - gone: 410, the receiver asked for the endpoint to be disabled (dead + disable the webhook).
 */
export type AttemptOutcome = 'success' | 'retry' | 'dead' | 'gone';

export interface AttemptClassification {
  readonly outcome: AttemptOutcome;
  /** Short, log-safe: `HTTP 503`, `timeout after 15000ms`, the egress message… */
  readonly reason: string;
  /** The receiver's Retry-After, only for 429/503 and only when it parsed. */
  readonly retryAfterMs?: number;
}

// 408 Request Timeout and 425 Too Early say "try again"; 429 is throttling. Everything else in 4xx
// is a request the receiver will keep rejecting.
const RETRYABLE_4XX: ReadonlySet<number> = new Set([408, 425, 429]);
// Retry-After on other statuses (e.g. a 3xx) means something else, or nothing Herald should obey.
const RETRY_AFTER_STATUSES: ReadonlySet<number> = new Set([429, 503]);

/**
 * Classifies a completed response or the error `performHttpAttempt` threw. `nowMs` is needed only to
 * turn an HTTP-date Retry-After into a delay.
 */
export function classifyAttempt(attempt: HttpAttemptResult | Error, nowMs: number): AttemptClassification {
  if (attempt instanceof Error) return classifyError(attempt);

  const { status } = attempt;
  const reason = `HTTP ${status}`;
  if (status >= 200 && status < 300) return { outcome: 'success', reason };
  if (status === 410) return { outcome: 'gone', reason: `${reason}: the receiver asked for this endpoint to be disabled` };
  if (RETRYABLE_4XX.has(status) || (status >= 500 && status < 600)) {
    const retryAfterMs = RETRY_AFTER_STATUSES.has(status) ? parseRetryAfter(attempt.headers['retry-after'], nowMs) : undefined;
    return retryAfterMs === undefined ? { outcome: 'retry', reason } : { outcome: 'retry', reason, retryAfterMs };
  }
  if (status >= 300 && status < 400) return { outcome: 'dead', reason: `${reason}: redirects are not followed` };
  // Other 4xx, and anything outside the standard classes (1xx surfacing here, ≥ 600).
  return { outcome: 'dead', reason };
}

function classifyError(error: Error): AttemptClassification {
  if (!(error instanceof HttpAttemptError)) {
    // Not from the HTTP layer: most likely a bug or a local fault, which a later attempt may not share.
    return { outcome: 'retry', reason: `unexpected error: ${error.message}` };
  }
  switch (error.kind) {
    case 'timeout':
    case 'network':
      return { outcome: 'retry', reason: error.message };
    // Cancellation is not the receiver's doing; if the activity is retried at all, the attempt is owed.
    case 'aborted':
      return { outcome: 'retry', reason: error.message };
    // The destination is forbidden or the request unsendable: neither changes by waiting.
    case 'refused':
    case 'invalid':
      return { outcome: 'dead', reason: error.message };
  }
}

const DELTA_SECONDS_PATTERN = /^-?\d+$/;

/**
 * Retry-After as ms from `nowMs`: delta-seconds (`120`) or an HTTP-date (`Wed, 21 Oct 2015 07:28:00
 * GMT`). A negative delay or a date in the past gives 0; anything unparseable gives undefined.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (DELTA_SECONDS_PATTERN.test(text)) {
    const ms = Number(text) * 1000;
    return Number.isSafeInteger(ms) ? Math.max(0, ms) : undefined;
  }
  // Date.parse accepts bare numbers and other odd shapes; an HTTP-date always names a month.
  if (!/[a-z]{3}/i.test(text)) return undefined;
  const atMs = Date.parse(text);
  if (Number.isNaN(atMs)) return undefined;
  return Math.max(0, atMs - nowMs);
}
