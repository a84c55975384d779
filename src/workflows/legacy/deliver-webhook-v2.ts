/**
 * FROZEN: the second delivery workflow type, kept so runs started before `deliverWebhookV3` (and the recorded
 * histories test/histories/deliverWebhookV2.*.json) still replay and finish. New deliveries never start it; do
 * not change its logic. Remove it once no `deliverWebhookV2` run is open (README, "Changing workflows").
 *
 * The life of one delivery (one event to one webhook). The workflow id is the dedup key, so this runs at
 * most once per (event, webhook) until an operator redelivers. Where each decision is made:
 *
 *   start (delivery/start-delivery.ts: ids, dedup policies, every search attribute with status "pending")
 *     │
 *   workflow task 1 ── deliverFirstAttempt, a local activity (activities/deliver-first-attempt.ts):
 *     │                  row in flight → signed send → outcome recorded (attempt-delivery.ts decides
 *     │                  success / retry / dead from classify-response.ts and delivery/retry-schedule.ts;
 *     │                  a 410 disables the webhook there; a lost earlier completion is reported, not resent)
 *     ├─ success ─────────────────────────────────────────────────────────────┐
 *     ├─ dead (4xx, 410, SSRF refusal, schedule of 1) ────────────────────────┤
 *     └─ retry due ── timer (Herald's delay) ── sendSignedWebhook, the regular │
 *                      activity: attempts 2…N, retried by Temporal on Herald's  │
 *                      schedule via nextRetryDelay (send-signed-webhook.ts) ──┤
 *   cancel request (any time) → "cancelled" ──────────────────────────────────┤
 *                                                                              ▼
 *   mirrorDelivery (only when no attempt recorded the outcome: cancelled, webhook or event gone, a crashed
 *   last attempt) → one search-attribute upsert of the final status → result
 *
 * A healthy delivery is therefore one workflow start and one workflow task, with no activity task.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../../activities/create-activities.js';
import { LEGACY_NON_RETRYABLE_FAILURE_TYPES } from '../../delivery/failure-types.js';
import type { AttemptFailureDetails, DeliverWebhookInput, DeliverWebhookResult, FirstAttemptResult } from '../messages.js';
import { HERALD_DELIVERY_STATUS, HERALD_WEBHOOK_ID } from '../../delivery/search-attributes.js';

type Activities = ReturnType<typeof createActivities>;

/** Mirror writes are local activities: cheap, no extra task-queue round trip, retried until the table answers. */
const { mirrorDelivery } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  summary: 'record the delivery state in the delivery table',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds' },
});

/** Margin above the HTTP timeout for signing, DNS and the table writes around the request. */
const ATTEMPT_OVERHEAD_MS = 10_000;

/** A result plus whether an attempt already wrote it to the table (then no final mirror write is needed). */
type Outcome = { result: DeliverWebhookResult; recorded: boolean };

export async function deliverWebhookV2(input: DeliverWebhookInput): Promise<DeliverWebhookResult> {
  const { workflowId, runId, typedSearchAttributes } = workflowInfo();
  let outcome: Outcome;
  try {
    outcome = await attemptUntilFinal(input, workflowId, runId);
  } catch (err) {
    outcome = isCancellation(err)
      ? { result: { deliveryId: input.deliveryId, status: 'cancelled', attempts: 0, responseCode: null, error: 'cancelled by request' }, recorded: false }
      : lastAttempt(input.deliveryId, err);
  }

  let { result } = outcome;
  if (!outcome.recorded) {
    // Must happen even while the workflow is being cancelled. It answers with the attempts (and last response
    // code) the table counted, which a cancelled send cannot report itself.
    const counted = await CancellationScope.nonCancellable(() =>
      mirrorDelivery({ phase: result.status, deliveryId: input.deliveryId, runId, attempts: result.attempts, responseCode: result.responseCode, error: result.error }),
    );
    if (counted) result = { ...result, attempts: Math.max(result.attempts, counted.attempts), responseCode: result.responseCode ?? counted.responseCode ?? null };
  }
  setCurrentDetails(describeResult(result));
  // Started without Herald's attributes (a server that cannot register them): leave them alone.
  if (typedSearchAttributes.get(HERALD_WEBHOOK_ID) !== undefined) upsertSearchAttributes([{ key: HERALD_DELIVERY_STATUS, value: result.status }]);
  return result;
}

/** The fast path's first attempt, then (if a retry is due) the regular activity for the rest of the schedule. */
async function attemptUntilFinal(input: DeliverWebhookInput, workflowId: string, runId: string): Promise<Outcome> {
  const { deliverFirstAttempt } = proxyLocalActivities<Activities>({
    startToCloseTimeout: input.attemptTimeoutMs + ATTEMPT_OVERHEAD_MS,
    summary: `first delivery attempt (fast path) of ${input.eventType}`,
    // Delivery outcomes come back as results; only a failure before the send (the database away) is retried,
    // for as long as it takes, and none of these retries counts as an attempt.
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
  });
  // Without `endpointAware` the activity never answers `wait` (that outcome came with deliverWebhookV3).
  const first = (await deliverFirstAttempt({ ...input, workflowId, runId })) as Exclude<FirstAttemptResult, { outcome: 'wait' }>;
  const delivered = { deliveryId: input.deliveryId, error: null };
  if (first.outcome === 'success') return { result: { ...delivered, status: 'success', attempts: first.attempt, responseCode: first.responseCode }, recorded: true };
  if (first.outcome === 'dead') {
    return { result: { deliveryId: input.deliveryId, status: 'dead', attempts: first.attempt, responseCode: first.responseCode, error: first.error }, recorded: first.recorded };
  }

  // Normally 1; more when the local activity ran again after a lost worker (the row counted the lost attempt).
  const made = first.attempt;
  const nextAt = new Date(Date.now() + first.retryDelayMs);
  setCurrentDetails(`attempt ${made} of ${input.maxAttempts} failed (${first.error}); next attempt at ${nextAt.toISOString().slice(11, 19)} UTC`);
  if (first.retryDelayMs > 0) await sleep(first.retryDelayMs, { summary: `wait before attempt ${made + 1} (Herald retry schedule)` });

  const { sendSignedWebhook } = proxyActivities<Activities>({
    startToCloseTimeout: input.attemptTimeoutMs + ATTEMPT_OVERHEAD_MS,
    // The activity heartbeats while it waits on the receiver: a crashed worker's attempt is retried after this.
    heartbeatTimeout: '10 seconds',
    summary: `attempts ${made + 1}–${input.maxAttempts} of ${input.eventType} (delivery attempt = activity attempt + ${made})`,
    retry: {
      maximumAttempts: input.maxAttempts - made,
      // Herald's schedule arrives with each failure as nextRetryDelay; these apply only when an attempt
      // dies without reporting (a worker crash or timeout).
      initialInterval: '5 seconds',
      backoffCoefficient: 2,
      maximumInterval: '1 hour',
      nonRetryableErrorTypes: LEGACY_NON_RETRYABLE_FAILURE_TYPES,
    },
  });
  setCurrentDetails(`attempt ${made} of ${input.maxAttempts} failed (${first.error}); attempts ${made + 1}–${input.maxAttempts} run as the pending sendSignedWebhook activity`);
  const sent = await sendSignedWebhook({
    deliveryId: input.deliveryId,
    webhookId: input.webhookId,
    tenantId: input.tenantId,
    eventId: input.eventId,
    eventType: input.eventType,
    eventTimeMs: input.eventTimeMs,
    runId,
    maxAttempts: input.maxAttempts,
    attemptOffset: made,
  });
  return { result: { ...delivered, status: 'success', attempts: sent.attempt, responseCode: sent.responseCode }, recorded: true };
}

/** What the last failed attempt reported, from the activity failure's details. */
function lastAttempt(deliveryId: string, err: unknown): Outcome {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  const dead = { deliveryId, status: 'dead' as const };
  if (cause instanceof ApplicationFailure) {
    const details = cause.details?.[0] as AttemptFailureDetails | undefined;
    if (details) return { result: { ...dead, attempts: details.attempt, responseCode: details.responseCode, error: details.error }, recorded: details.recorded === true };
    return { result: { ...dead, attempts: 0, responseCode: null, error: cause.message }, recorded: false };
  }
  // A timeout or a crash on the last attempt: nothing recorded the end.
  return { result: { ...dead, attempts: 0, responseCode: null, error: cause instanceof Error ? cause.message : String(err) }, recorded: false };
}

function describeResult(result: DeliverWebhookResult): string {
  switch (result.status) {
    case 'success':
      return `delivered (attempt ${result.attempts}, HTTP ${result.responseCode ?? '?'})`;
    case 'cancelled':
      return 'cancelled by request';
    case 'dead':
    case 'skipped':
      return `dead after ${result.attempts} attempt${result.attempts === 1 ? '' : 's'}: ${result.error ?? 'no reason recorded'}`;
  }
}
