/**
 * FROZEN: the first delivery workflow type, kept only so runs started before `deliverWebhookV2` (and their
 * recorded histories in test/histories/deliverWebhook.*.json) still replay. New deliveries never start it;
 * do not change its logic. Remove it once no `deliverWebhook` run is open (README, "Changing workflows").
 *
 * The life of one delivery (one event to one webhook). The workflow id is the dedup key, so this runs at
 * most once per (event, webhook) until an operator redelivers.
 *
 *   mirror "pending" → sendSignedWebhook (retried on Herald's schedule by Temporal) → mirror "success" | "dead"
 *                                                 └─ cancel request → mirror "cancelled"
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../../activities/create-activities.js';
import { LEGACY_NON_RETRYABLE_FAILURE_TYPES } from '../../delivery/failure-types.js';
import {
  type AttemptFailureDetails,
  type DeliverWebhookInput,
  type DeliverWebhookResult,
  type DeliveryStatus,
} from '../messages.js';
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

export async function deliverWebhook(input: DeliverWebhookInput): Promise<DeliverWebhookResult> {
  const { workflowId, runId, typedSearchAttributes } = workflowInfo();
  // Started without Herald's attributes (a server that cannot register them): leave them alone.
  const indexed = typedSearchAttributes.get(HERALD_WEBHOOK_ID) !== undefined;
  const setStatus = (status: DeliveryStatus) => {
    if (indexed) upsertSearchAttributes([{ key: HERALD_DELIVERY_STATUS, value: status }]);
  };

  await mirrorDelivery({
    phase: 'created',
    deliveryId: input.deliveryId,
    webhookId: input.webhookId,
    tenantId: input.tenantId,
    eventId: input.eventId,
    eventType: input.eventType,
    eventTimeMs: input.eventTimeMs,
    workflowId,
    runId,
  });
  setStatus('pending');

  const { sendSignedWebhook } = proxyActivities<Activities>({
    startToCloseTimeout: input.attemptTimeoutMs + ATTEMPT_OVERHEAD_MS,
    // The activity heartbeats while it waits on the receiver: a crashed worker's attempt is retried after this.
    heartbeatTimeout: '10 seconds',
    summary: `attempt delivery of ${input.eventType}`,
    retry: {
      maximumAttempts: input.maxAttempts,
      // Herald's schedule arrives with each failure as nextRetryDelay; these apply only when an attempt
      // dies without reporting (a worker crash or timeout).
      initialInterval: '5 seconds',
      backoffCoefficient: 2,
      maximumInterval: '1 hour',
      nonRetryableErrorTypes: LEGACY_NON_RETRYABLE_FAILURE_TYPES,
    },
  });

  let result: DeliverWebhookResult;
  try {
    const sent = await sendSignedWebhook({
      deliveryId: input.deliveryId,
      webhookId: input.webhookId,
      tenantId: input.tenantId,
      eventId: input.eventId,
      eventType: input.eventType,
      eventTimeMs: input.eventTimeMs,
      runId,
      maxAttempts: input.maxAttempts,
    });
    result = { deliveryId: input.deliveryId, status: 'success', attempts: sent.attempt, responseCode: sent.responseCode, error: null };
  } catch (err) {
    if (isCancellation(err)) {
      result = { deliveryId: input.deliveryId, status: 'cancelled', attempts: 0, responseCode: null, error: 'cancelled by request' };
    } else {
      result = { deliveryId: input.deliveryId, status: 'dead', ...lastAttempt(err) };
    }
  }

  // The final write must happen even when the workflow is being cancelled. It answers with the attempts (and
  // last response code) the table counted, which a cancelled send cannot report itself.
  const recorded = await CancellationScope.nonCancellable(() =>
    mirrorDelivery({
      phase: result.status,
      deliveryId: input.deliveryId,
      runId,
      attempts: result.attempts,
      responseCode: result.responseCode,
      error: result.error,
    }),
  );
  // Histories recorded before the mirror answered with a response code carry none: keep the send's then.
  if (recorded) result = { ...result, attempts: Math.max(result.attempts, recorded.attempts), responseCode: result.responseCode ?? recorded.responseCode ?? null };
  setStatus(result.status);
  return result;
}

/** What the last failed attempt reported, from the activity failure's details. */
function lastAttempt(err: unknown): Pick<DeliverWebhookResult, 'attempts' | 'responseCode' | 'error'> {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const details = cause.details?.[0] as AttemptFailureDetails | undefined;
    if (details) return { attempts: details.attempt, responseCode: details.responseCode, error: details.error };
    return { attempts: 0, responseCode: null, error: cause.message };
  }
  return { attempts: 0, responseCode: null, error: err instanceof Error ? err.message : String(err) };
}
