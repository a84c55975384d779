import { deliveryRowOf, recordDeliveryCreated, recordFirstAttemptStarted } from '../store/deliveries.js';
import type { FirstAttemptInput, FirstAttemptResult } from '../workflows/messages.js';
import { isVerdict, loadTargets, recordedOutcome, sendAttempt, type AttemptVerdict } from './attempt-delivery.js';
import type { ActivityDeps } from './create-activities.js';
import { admit, release } from './endpoint-health.js';
import type { SendPermit } from '../endpoints/endpoint-gate.js';
import { FailureType } from '../delivery/failure-types.js';

/**
 * The fast path: a delivery's first attempt as a local activity inside its first workflow task. It writes the
 * row already in flight, sends, and records the outcome, so a delivery that succeeds at once costs one
 * workflow task and no activity task. Outcomes are returned, never thrown: the local activity retries only
 * when something other than the receiver failed (the database away), and such a retry spends no attempt.
 */
export function createDeliverFirstAttempt(deps: ActivityDeps) {
  return async function deliverFirstAttempt(input: FirstAttemptInput): Promise<FirstAttemptResult> {
    const targets = await loadTargets(deps, input, 1);
    const now = deps.clock();
    const row = deliveryRowOf(input, isVerdict(targets) ? undefined : targets.webhook);
    if (isVerdict(targets)) {
      // Nothing to send to: the row exists (pending) so the workflow's final mirror can mark it dead with why.
      await recordDeliveryCreated(deps.store, row, now);
      return toResult(targets);
    }
    let permit: SendPermit | undefined;
    if (input.endpointAware) {
      // The endpoint's breaker, rate limit and concurrency first: waiting for them is not an attempt.
      const admission = await admit(deps, targets.webhook, 0, input.breakerWaitsInWorkflow === true);
      if (admission.kind !== 'go') {
        await recordDeliveryCreated(deps.store, row, now);
        if (admission.kind === 'disabled') return toResult({ kind: 'final', type: FailureType.WebhookDisabled, attempt: 0, responseCode: null, error: `skipped: webhook disabled (${admission.reason})`, recorded: false });
        const wait = { outcome: 'wait' as const, attempt: 0, message: admission.message, retryDelayMs: Math.max(0, admission.untilMs - deps.clock()) };
        return input.breakerWaitsInWorkflow ? { ...wait, breakerOpen: admission.breakerOpen } : wait;
      }
      permit = admission.permit;
    }
    const attempt = await recordFirstAttemptStarted(deps.store, row, now);
    if (attempt === null) {
      await release(deps, targets.webhook, permit, null);
      return toResult(await recordedOutcome(deps, input, 1));
    }
    return toResult(await sendAttempt(deps, input, attempt, targets, now, permit));
  };
}

function toResult(verdict: AttemptVerdict): FirstAttemptResult {
  switch (verdict.kind) {
    case 'success':
      return { outcome: 'success', attempt: verdict.attempt, responseCode: verdict.responseCode, durationMs: verdict.durationMs };
    case 'retry':
      return { outcome: 'retry', attempt: verdict.attempt, responseCode: verdict.responseCode, error: verdict.error, retryDelayMs: verdict.retryDelayMs };
    case 'final':
      return { outcome: 'dead', failureType: verdict.type, attempt: verdict.attempt, responseCode: verdict.responseCode, error: verdict.error, recorded: verdict.recorded };
  }
}
