import { activityInfo, ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import { findDelivery, recordAttemptLost, recordAttemptStarted } from '../store/deliveries.js';
import { FailureType } from '../delivery/failure-types.js';
import type { AttemptFailureDetails, BreakerWaitDetails, SendSignedWebhookInput, SendSignedWebhookResult } from '../workflows/messages.js';
import { reportToWorkflow } from './attempt-report.js';
import { admit, release } from './endpoint-health.js';
import { isVerdict, loadTargets, recordedOutcome, sendAttempt, type AttemptVerdict } from './attempt-delivery.js';
import type { ActivityDeps } from './create-activities.js';
import { HttpAttemptError } from './http-attempt.js';

/** How long a retry waits when the database was away: doubling from 1 s up to this. */
const STORAGE_RETRY_MAX_MS = 30_000;
/** How long a retry waits when another execution of the same run holds the attempt. */
const BUSY_RETRY_MS = 2_000;

/**
 * The retry path: one signed HTTP attempt per activity attempt. Temporal retries the activity; the verdict
 * decides how long to wait (Herald's schedule, jitter, Retry-After) through `nextRetryDelay`, and which
 * failures are final (non-retryable). Failures carry only the status code and a short reason.
 *
 * Since `deliverWebhookV3` (`endpointAware`) the delivery table numbers the attempts: only an activity
 * attempt that sent a request (or was refused by the SSRF guard) counts, so an attempt that could not reach the
 * table retries on its own backoff, without limit and without spending one, and says so as its failure.
 */
export function createSendSignedWebhook(deps: ActivityDeps) {
  return async function sendSignedWebhook(input: SendSignedWebhookInput): Promise<SendSignedWebhookResult> {
    if (!input.endpointAware) return answer(await legacyAttempt(deps, input));
    try {
      return answer(await attemptCountedByTable(deps, input));
    } catch (err) {
      if (err instanceof ApplicationFailure || err instanceof CancelledFailure || err instanceof HttpAttemptError) throw err;
      throw storageUnavailable(err);
    }
  };
}

/** Runs of the earlier delivery types: the HTTP attempt is the activity attempt plus the fast path's offset. */
async function legacyAttempt(deps: ActivityDeps, input: SendSignedWebhookInput): Promise<AttemptVerdict> {
  const attempt = activityInfo().attempt + (input.attemptOffset ?? 0);
  const targets = await loadTargets(deps, input, attempt);
  if (isVerdict(targets)) return targets;
  const startedAt = deps.clock();
  // Compare-and-set on (run, open status): a cancelled or redelivered delivery must not send again.
  const open = await recordAttemptStarted(deps.store, { deliveryId: input.deliveryId, runId: input.runId, attempt, url: targets.webhook.url }, startedAt);
  if (!open) return await recordedOutcome(deps, input, attempt);
  return await sendAttempt(deps, input, attempt, targets, startedAt);
}

async function attemptCountedByTable(deps: ActivityDeps, input: SendSignedWebhookInput): Promise<AttemptVerdict> {
  const row = await findDelivery(deps.store, input.deliveryId);
  const made = row?.attempts ?? 0;
  if (!row || row.runId !== input.runId || (row.status !== 'pending' && row.status !== 'in_flight')) return await recordedOutcome(deps, input, made);
  const targets = await loadTargets(deps, input, made);
  if (isVerdict(targets)) return targets;

  const startedAt = deps.clock();
  if (made >= input.maxAttempts) {
    // The last attempt went out and nobody saw its outcome (its worker died): the schedule is used up.
    if (row.status === 'in_flight') {
      await recordAttemptLost(deps.store, { deliveryId: input.deliveryId, runId: input.runId, attempt: made, startedAt: row.lastAttemptedAt ?? startedAt }, 'no result was reported for the last attempt');
    }
    return { kind: 'final', type: FailureType.RetriesExhausted, attempt: made, responseCode: row.responseCode, error: `outcome of attempt ${made} unknown (attempt ${made} of ${input.maxAttempts}; retries exhausted)`, recorded: false };
  }
  const attempt = made + 1;
  // The endpoint's breaker, rate limit and concurrency first: waiting for them spends no attempt.
  // This activity's tries beyond the requests the delivery made are (nearly all) earlier waits: its backoff.
  const admission = await admit(deps, targets.webhook, Math.max(0, activityInfo().attempt - made), input.breakerWaitsInWorkflow === true);
  if (admission.kind === 'disabled') {
    return { kind: 'final', type: FailureType.WebhookDisabled, attempt: made, responseCode: row.responseCode, error: `skipped: webhook disabled (${admission.reason})`, recorded: false };
  }
  if (admission.kind === 'wait' && admission.breakerOpen && input.breakerWaitsInWorkflow) {
    // The workflow waits for the breaker itself (woken when it closes): no activity retries meanwhile.
    waitReports.delete(input.deliveryId);
    throw breakerOpen({ untilMs: admission.untilMs, message: admission.message });
  }
  if (admission.kind === 'wait') {
    const waitMs = Math.max(0, admission.untilMs - deps.clock());
    if (waitReportChanged(input.deliveryId, admission.message)) reportToWorkflow(deps, { kind: 'wait', message: admission.message, untilMs: admission.untilMs });
    throw waiting(admission.message, waitMs);
  }
  const { permit } = admission;
  // Compare-and-set on (run, open status, attempts so far): one execution per attempt number.
  const started = { deliveryId: input.deliveryId, runId: input.runId, attempt, url: targets.webhook.url, expectedAttempts: made };
  if (!(await recordAttemptStarted(deps.store, started, startedAt, row))) {
    await release(deps, targets.webhook, permit, null);
    const now = await findDelivery(deps.store, input.deliveryId);
    if (now?.runId === input.runId && (now.status === 'pending' || now.status === 'in_flight')) {
      throw waiting(`attempt ${attempt} is already being made by another execution`, BUSY_RETRY_MS);
    }
    return await recordedOutcome(deps, input, made);
  }
  const verdict = await sendAttempt(deps, input, attempt, targets, startedAt, permit);
  waitReports.delete(input.deliveryId);
  if (verdict.kind === 'retry') reportToWorkflow(deps, { kind: 'retry', attempt, error: verdict.error, nextAttemptAtMs: deps.clock() + verdict.retryDelayMs });
  return verdict;
}

/**
 * The last wait each delivery reported to its workflow (by kind: "breaker open", "rate limit", …), so a delivery
 * that waits many times in a row signals its workflow once per reason, not once per wait. Per process and
 * bounded: a delivery retried on another worker may report again, which only repeats the same words.
 */
const waitReports = new Map<string, string>();
const MAX_WAIT_REPORTS = 10_000;

function waitReportChanged(deliveryId: string, message: string): boolean {
  const kind = message.replace(/\d.*$/, '');
  if (waitReports.get(deliveryId) === kind) return false;
  if (waitReports.size >= MAX_WAIT_REPORTS) waitReports.delete(waitReports.keys().next().value!);
  waitReports.set(deliveryId, kind);
  return true;
}

/** A retry that spends no attempt: nothing was sent. */
function waiting(message: string, delayMs: number): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureType.EndpointWaiting, message: `${message}; no attempt spent`, nonRetryable: false, nextRetryDelay: delayMs });
}

/** Ends the activity, not the delivery: its workflow waits as the details say and schedules it again. */
function breakerOpen(details: BreakerWaitDetails): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureType.BreakerOpen, message: `${details.message}; no attempt spent`, nonRetryable: true, details: [details] });
}

function storageUnavailable(err: unknown): ApplicationFailure {
  const why = (err instanceof Error ? err.message : String(err)).slice(0, 200);
  const delayMs = Math.min(STORAGE_RETRY_MAX_MS, 1000 * 2 ** Math.min(activityInfo().attempt - 1, 5));
  return ApplicationFailure.create({
    type: FailureType.StorageUnavailable,
    message: `delivery database unavailable (${why}); retrying without spending an attempt`,
    nonRetryable: false,
    nextRetryDelay: delayMs,
  });
}

/** A verdict as Temporal's activity contract wants it: a result, or an ApplicationFailure carrying the details. */
function answer(verdict: AttemptVerdict): SendSignedWebhookResult {
  if (verdict.kind === 'success') return { attempt: verdict.attempt, responseCode: verdict.responseCode, durationMs: verdict.durationMs };
  const details: AttemptFailureDetails = { attempt: verdict.attempt, responseCode: verdict.responseCode, error: verdict.error, ...(verdict.kind === 'final' ? { recorded: verdict.recorded } : {}) };
  if (verdict.kind === 'retry') {
    throw ApplicationFailure.create({ type: FailureType.AttemptFailed, message: verdict.error, nonRetryable: false, details: [details], nextRetryDelay: verdict.retryDelayMs });
  }
  throw ApplicationFailure.create({ type: verdict.type, message: verdict.error, nonRetryable: true, details: [details] });
}
