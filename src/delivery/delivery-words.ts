/**
 * What a delivery says about itself in words, where an operator reads it: the reason a dead delivery's workflow
 * failed (the Temporal Web UI's status badge and Failures view) and the current details of a waiting one.
 * Pure: the delivery workflow uses it, and so do the tests that read the Web UI.
 */
import { FailureType } from './failure-types.js';
import type { AttemptReport, DeliverWebhookResult } from '../workflows/messages.js';

/** `14:05:07 UTC` (the date too when it is not today). */
export function clockTime(ms: number, nowMs: number): string {
  const at = new Date(ms).toISOString();
  const sameDay = at.slice(0, 10) === new Date(nowMs).toISOString().slice(0, 10);
  return `${sameDay ? '' : `${at.slice(0, 10)} `}${at.slice(11, 19)} UTC`;
}

/** "HTTP 503 from hooks.example.com", "timeout after 10000ms at hooks.example.com". */
function answerFrom(error: string, host: string): string {
  return /^HTTP \d{3}\b/.test(error) ? `${error} from ${host}` : `${error} (${host})`;
}

/** The message of the non-retryable failure a dead (or skipped) delivery's workflow ends with. */
export function deadReason(failureType: string, result: DeliverWebhookResult, host: string): string {
  const error = result.error ?? 'no reason recorded';
  switch (failureType) {
    case FailureType.Rejected:
      return result.responseCode !== null ? `HTTP ${result.responseCode} from ${host}` : answerFrom(error, host);
    case FailureType.RetriesExhausted: {
      const last = result.responseCode !== null ? `${result.responseCode}` : error.replace(/ \(attempt \d+ of \d+; retries exhausted\)$/, '');
      return `retries exhausted after ${result.attempts} attempt${result.attempts === 1 ? '' : 's'}, last ${last} from ${host}`;
    }
    case FailureType.Gone:
      return `webhook disabled: 410 Gone from ${host}`;
    default:
      return error;
  }
}

/** Current details while a delivery waits for its next attempt or for its endpoint. */
export function waitingDetails(report: AttemptReport, maxAttempts: number, host: string, nowMs: number): string {
  if (report.kind === 'wait') return `${report.message}; no attempt is spent waiting`;
  return `attempt ${report.attempt} of ${maxAttempts} failed (${answerFrom(report.error, host)}); next attempt at ${clockTime(report.nextAttemptAtMs, nowMs)}`;
}

/** Current details once a delivery has ended. */
export function finalDetails(result: DeliverWebhookResult, reason: string | undefined, durationMs: number | null): string {
  switch (result.status) {
    case 'success':
      return `delivered${durationMs !== null ? ` in ${durationMs} ms` : ''} (attempt ${result.attempts}, HTTP ${result.responseCode ?? '?'})`;
    case 'cancelled':
      return 'cancelled by request';
    case 'skipped':
      return `skipped: ${reason ?? result.error ?? 'the webhook is disabled'}`;
    case 'dead':
      return `dead after ${result.attempts} attempt${result.attempts === 1 ? '' : 's'}: ${reason ?? result.error ?? 'no reason recorded'}`;
  }
}
