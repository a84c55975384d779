/**
 * What the endpoint gate is told: the webhook's policy (resolved from the webhook and its tenant's defaults by
 * the caller) and, after each send, what happened. Both are plain data, checked here once.
 */
import { ValidationError } from '../errors.js';

export interface EndpointPolicy {
  /** Requests per second; null = unlimited (no rate state is read or written). */
  rateLimitPerSecond: number | null;
  /** Requests in flight to the endpoint across every worker; the adaptive limit never exceeds it. */
  maxConcurrency: number;
  /** Consecutive failed sends that open the breaker. */
  breakerThreshold: number;
  /** Days failing without a success after which the gate says "disable"; null = never. */
  disableAfterDays: number | null;
}

/**
 * One send's result, as the gate needs it.
 * - `ok`: the endpoint answered 2xx.
 * - `throttled`: it answered 429 or 503 (with or without Retry-After): lowers the adaptive limit.
 * - `status`: the HTTP status, or null when no response arrived (timeout, connection error). It tells a 429
 *   (throttling only: the endpoint is up) from a 503 (throttling *and* a failure).
 * - `latencyMs`: request sent → response read, or null without a response.
 */
export interface SendReport {
  ok: boolean;
  throttled: boolean;
  status: number | null;
  latencyMs: number | null;
}

/** The report of one HTTP attempt: `status` null when no response arrived (timeout, connection error). */
export function sendReportOf(status: number | null, latencyMs: number | null): SendReport {
  return { ok: status !== null && status >= 200 && status < 300, throttled: status === 429 || status === 503, status, latencyMs };
}

/** Upper bound of `maxConcurrency` (slot rows are created on demand, one per concurrent request). */
export const MAX_CONCURRENCY_LIMIT = 10_000;
/** Upper bound of `rateLimitPerSecond`, as the webhook API allows. */
export const MAX_RATE_LIMIT_PER_SECOND = 10_000;

/**
 * A failure for the breaker and auto-disable: the endpoint did not answer (timeout, connection error), answered
 * 5xx (503 included) or 408. Other answers are the endpoint's verdict on one message, not on its health, and
 * count neither way: a 429 means it is up and busy (it only lowers the adaptive limit), and a 3xx or other 4xx
 * ends that delivery (dead) — counting those would let an endpoint that rejects some payloads open its breaker
 * and hold back the good ones (and 100 rejected deliveries would each wait for a probe to die).
 */
export function countsAsFailure(report: SendReport): boolean {
  if (report.ok) return false;
  return report.status === null || report.status >= 500 || report.status === 408;
}

function positiveInteger(value: unknown, field: string, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new ValidationError(field, `must be an integer from 1 to ${max}, got ${String(value)}`);
  }
}

/** Throws a ValidationError naming the field if the policy cannot be enforced; nothing is written before. */
export function checkEndpointPolicy(policy: EndpointPolicy): void {
  if (policy.rateLimitPerSecond !== null) positiveInteger(policy.rateLimitPerSecond, 'policy.rateLimitPerSecond', MAX_RATE_LIMIT_PER_SECOND);
  positiveInteger(policy.maxConcurrency, 'policy.maxConcurrency', MAX_CONCURRENCY_LIMIT);
  positiveInteger(policy.breakerThreshold, 'policy.breakerThreshold', 1_000_000);
  const days = policy.disableAfterDays;
  if (days !== null && (typeof days !== 'number' || !Number.isFinite(days) || days <= 0)) {
    throw new ValidationError('policy.disableAfterDays', `must be a positive number of days or null, got ${String(days)}`);
  }
}

/** Throws a ValidationError unless `leaseMs` is a usable lease length. */
export function checkLeaseMs(leaseMs: number): void {
  if (typeof leaseMs !== 'number' || !Number.isInteger(leaseMs) || leaseMs < 1 || leaseMs > 86_400_000) {
    throw new ValidationError('leaseMs', `must be an integer number of milliseconds from 1 to 86400000, got ${String(leaseMs)}`);
  }
}
