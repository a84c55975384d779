import { activityInfo, ApplicationFailure } from '@temporalio/activity';
import { recordAttemptStarted } from '../store/deliveries.js';
import { FailureType } from '../delivery/failure-types.js';
import type { AttemptFailureDetails, SendSignedWebhookInput, SendSignedWebhookResult } from '../workflows/messages.js';
import { isVerdict, loadTargets, recordedOutcome, sendAttempt, type AttemptVerdict } from './attempt-delivery.js';
import type { ActivityDeps } from './create-activities.js';

/**
 * The retry path: one signed HTTP attempt per activity attempt. Temporal retries the activity; the verdict
 * decides how long to wait (Herald's schedule, jitter, Retry-After) through `nextRetryDelay`, and which
 * failures are final (non-retryable). Failures carry only the status code and a short reason.
 */
export function createSendSignedWebhook(deps: ActivityDeps) {
  return async function sendSignedWebhook(input: SendSignedWebhookInput): Promise<SendSignedWebhookResult> {
    // The fast path made attempt 1 before this activity existed: its attempt 1 is the delivery's attempt 2.
    const attempt = activityInfo().attempt + (input.attemptOffset ?? 0);
    const targets = await loadTargets(deps, input, attempt);
    if (isVerdict(targets)) return answer(targets);
    const startedAt = deps.clock();
    // Compare-and-set on (run, open status): a cancelled or redelivered delivery must not send again.
    const open = await recordAttemptStarted(deps.store, { deliveryId: input.deliveryId, runId: input.runId, attempt, url: targets.webhook.url }, startedAt);
    if (!open) return answer(await recordedOutcome(deps, input, attempt));
    return answer(await sendAttempt(deps, input, attempt, targets, startedAt));
  };
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
