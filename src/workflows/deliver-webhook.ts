/**
 * The life of one delivery (one event to one webhook). The workflow id is the dedup key, so this runs at
 * most once per (event, webhook) until an operator redelivers. Where each decision is made:
 *
 *   start (delivery/start-delivery.ts: ids, dedup policies, every search attribute with status "pending")
 *     │
 *   workflow task 1 ── deliverFirstAttempt, a local activity (activities/deliver-first-attempt.ts):
 *     │                  endpoint gate → row in flight → signed send → outcome recorded (attempt-delivery.ts
 *     │                  decides success / retry / dead from classify-response.ts and delivery/retry-schedule.ts;
 *     │                  a 410 disables the webhook there; a lost earlier completion is reported, not resent)
 *     ├─ success ────────────────────────────────────────────────────────────────┐
 *     ├─ dead (4xx, 410, SSRF refusal, empty schedule) / skipped (webhook disabled) ┤
 *     └─ retry due, or the endpoint says wait ── timer ── sendSignedWebhook, the   │
 *          regular activity: attempts 2…N on Herald's schedule via nextRetryDelay;  │
 *          waits for the endpoint's limits or the database retry it too but spend   │
 *          no attempt (the table counts attempts); it signals each failure here     ┤
 *        ↺ breaker open (either activity): wait HERE, spending nothing, until the   │
 *          endpoint-ready signal (the breaker closed) or the wait's end; a local    │
 *          checkEndpointBreaker says wait again or go on to the regular activity    │
 *   cancel request (any time) → "cancelled" ─────────────────────────────────────┤
 *                                                                                ▼
 *   mirrorDelivery (only when no attempt recorded the outcome: cancelled, webhook or event gone, a crashed
 *   last attempt) → one search-attribute upsert of the final status → success / cancelled complete the
 *   workflow; dead and skipped FAIL it with a non-retryable failure saying why, so the Web UI shows them.
 *
 * A healthy delivery is one workflow start and one workflow task, with no activity task. A delivery behind an
 * open breaker costs nothing while it waits: no activity retries, one timer (long for a large backlog: the
 * breaker's probe is whichever waiting delivery wakes first after the cool-down), and the close wakes it.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  defineSignal,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/create-activities.js';
import { deadReason, finalDetails, waitingDetails } from '../delivery/delivery-words.js';
import { FailureType, NON_RETRYABLE_FAILURE_TYPES } from '../delivery/failure-types.js';
import { markdownText } from '../delivery/markdown.js';
import { ATTEMPT_REPORT_SIGNAL, ENDPOINT_READY_SIGNAL } from '../delivery/signals.js';
import type { AttemptFailureDetails, AttemptReport, BreakerWaitDetails, DeliverWebhookInput, DeliverWebhookResult } from './messages.js';
import { HERALD_DELIVERY_STATUS, HERALD_WEBHOOK_ID } from '../delivery/search-attributes.js';

type Activities = ReturnType<typeof createActivities>;

/** Mirror writes are local activities: cheap, no extra task-queue round trip, retried until the table answers. */
const { mirrorDelivery } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  summary: 'record the delivery state in the delivery table',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds' },
});

/** Margin above the HTTP timeout for the endpoint gate, signing, DNS and the table writes around the request. */
const ATTEMPT_OVERHEAD_MS = 10_000;

export const attemptReported = defineSignal<[AttemptReport]>(ATTEMPT_REPORT_SIGNAL);
export const endpointReady = defineSignal(ENDPOINT_READY_SIGNAL);

/** A result, whether an attempt already wrote it to the table, and for a dead one the failure type. */
type Outcome = { result: DeliverWebhookResult; recorded: boolean; failureType?: string; durationMs?: number };

export async function deliverWebhookV4(input: DeliverWebhookInput): Promise<DeliverWebhookResult> {
  const { workflowId, runId, typedSearchAttributes } = workflowInfo();
  const host = input.endpointHost ?? input.webhookId;
  setHandler(attemptReported, (report) => setCurrentDetails(markdownText(waitingDetails(report, input.maxAttempts, host, Date.now()))));
  const breaker = new BreakerWait(input.webhookId, input.maxAttempts, host);
  setHandler(endpointReady, () => breaker.wake());

  let outcome: Outcome;
  try {
    outcome = await attemptUntilFinal(input, workflowId, runId, host, breaker);
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
  const failed = result.status === 'dead' || result.status === 'skipped';
  const reason = failed ? deadReason(outcome.failureType ?? FailureType.RetriesExhausted, result, host) : undefined;
  setCurrentDetails(markdownText(finalDetails(result, reason, outcome.durationMs ?? null)));
  // Started without Herald's attributes (a server that cannot register them): leave them alone.
  if (typedSearchAttributes.get(HERALD_WEBHOOK_ID) !== undefined) upsertSearchAttributes([{ key: HERALD_DELIVERY_STATUS, value: result.status }]);
  if (failed) {
    // The Web UI's status badge and Failures view show this; the result rides along for the typed client.
    const failure = ApplicationFailure.create({ type: outcome.failureType ?? FailureType.RetriesExhausted, message: reason!, nonRetryable: true, details: [result] });
    // The Web UI prints a failure's stack trace under its message; this one would be the workflow bundle's,
    // which tells an operator nothing the message does not.
    failure.stack = '';
    throw failure;
  }
  return result;
}

/** The fast path's first attempt, then (if a retry is due) the regular activity for the rest of the schedule. */
async function attemptUntilFinal(input: DeliverWebhookInput, workflowId: string, runId: string, host: string, breaker: BreakerWait): Promise<Outcome> {
  const { deliverFirstAttempt } = proxyLocalActivities<Activities>({
    startToCloseTimeout: input.attemptTimeoutMs + ATTEMPT_OVERHEAD_MS,
    summary: `first delivery attempt (fast path) of ${input.eventType}`,
    // Delivery outcomes come back as results; only a failure before the send (the database away) is retried,
    // for as long as it takes, and none of these retries counts as an attempt.
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
  });
  const first = await deliverFirstAttempt({ ...input, workflowId, runId, endpointAware: true, breakerWaitsInWorkflow: true });
  const { deliveryId } = input;
  switch (first.outcome) {
    case 'success':
      return { result: { deliveryId, status: 'success', attempts: first.attempt, responseCode: first.responseCode, error: null }, recorded: true, durationMs: first.durationMs };
    case 'dead': {
      const status = first.failureType === FailureType.WebhookDisabled ? 'skipped' : 'dead';
      return { result: { deliveryId, status, attempts: first.attempt, responseCode: first.responseCode, error: first.error }, recorded: first.recorded, failureType: first.failureType };
    }
    case 'retry':
      setCurrentDetails(markdownText(waitingDetails({ kind: 'retry', attempt: first.attempt, error: first.error, nextAttemptAtMs: Date.now() + first.retryDelayMs }, input.maxAttempts, host, Date.now())));
      if (first.retryDelayMs > 0) await sleep(first.retryDelayMs, { summary: `wait before attempt ${first.attempt + 1} (Herald retry schedule)` });
      break;
    case 'wait':
      if (first.breakerOpen) {
        await breaker.untilClosed({ message: first.message, untilMs: Date.now() + first.retryDelayMs });
        break;
      }
      setCurrentDetails(markdownText(waitingDetails({ kind: 'wait', message: first.message, untilMs: Date.now() + first.retryDelayMs }, input.maxAttempts, host, Date.now())));
      if (first.retryDelayMs > 0) await sleep(first.retryDelayMs, { summary: 'wait for the endpoint (no attempt spent)' });
      break;
  }

  // `attempt` is how many requests were sent so far: normally 1, 0 after a wait, more when the local activity
  // ran again after a lost worker (the row counted the lost attempt).
  const made = first.attempt;
  const { sendSignedWebhook } = proxyActivities<Activities>({
    startToCloseTimeout: input.attemptTimeoutMs + ATTEMPT_OVERHEAD_MS,
    // The activity heartbeats while it waits on the receiver: a crashed worker's attempt is retried after this.
    heartbeatTimeout: '10 seconds',
    summary: `attempts ${made + 1}–${input.maxAttempts} of ${input.eventType} (numbered by the delivery table; waits spend none)`,
    retry: {
      // No maximumAttempts (unlimited): the activity ends the schedule itself (a non-retryable failure after the
      // last attempt), so retries that sent nothing (the endpoint's breaker or limits, the database away) cost
      // no attempt.
      // Herald's schedule arrives with each failure as nextRetryDelay; these apply only when an attempt
      // dies without reporting (a worker crash or timeout).
      initialInterval: '5 seconds',
      backoffCoefficient: 2,
      maximumInterval: '5 minutes',
      nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES,
    },
  });
  const send = () =>
    sendSignedWebhook({
      deliveryId,
      webhookId: input.webhookId,
      tenantId: input.tenantId,
      eventId: input.eventId,
      eventType: input.eventType,
      eventTimeMs: input.eventTimeMs,
      runId,
      maxAttempts: input.maxAttempts,
      endpointAware: true,
      breakerWaitsInWorkflow: true,
    });
  let sent: Awaited<ReturnType<typeof send>>;
  for (;;) {
    try {
      breaker.beforeLook();
      sent = await send();
      break;
    } catch (err) {
      const wait = breakerWaitOf(err);
      if (!wait) throw err;
      await breaker.untilClosed(wait);
    }
  }
  return { result: { deliveryId, status: 'success', attempts: sent.attempt, responseCode: sent.responseCode, error: null }, recorded: true, durationMs: sent.durationMs };
}

/** The breaker check after each wait: a local activity, so a wake-up while the endpoint is still down costs one task. */
const { checkEndpointBreaker } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  summary: 'look at the endpoint breaker again',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

/**
 * Waiting behind an open breaker, spending nothing: a timer to the wait's end, cut short by the endpoint-ready
 * signal (the breaker closed, or the webhook was disabled), then a look at the breaker; again while it is open.
 * A signal counts from the last look at the breaker on (`beforeLook`): one that arrives while an activity reads
 * the breaker open ends the wait that follows at once, for the breaker may have closed after that read.
 */
class BreakerWait {
  private ready = false;
  constructor(
    private readonly webhookId: string,
    private readonly maxAttempts: number,
    private readonly host: string,
  ) {}

  wake(): void {
    this.ready = true;
  }

  /** Called just before an activity reads the breaker: earlier signals are spent. */
  beforeLook(): void {
    this.ready = false;
  }

  async untilClosed(first: BreakerWaitDetails): Promise<void> {
    let details = first;
    for (;;) {
      setCurrentDetails(markdownText(waitingDetails({ kind: 'wait', message: details.message, untilMs: details.untilMs }, this.maxAttempts, this.host, Date.now())));
      // At least a second: a worker whose clock runs ahead of the workflow's must not make this a busy loop.
      const woken = await condition(() => this.ready, Math.max(details.untilMs - Date.now(), 1_000));
      this.beforeLook();
      const check = await checkEndpointBreaker({ webhookId: this.webhookId, woken });
      if (!check.open) return;
      details = check;
    }
  }
}

/** The wait a `HeraldBreakerOpen` failure of the send activity asks for, or undefined for any other failure. */
function breakerWaitOf(err: unknown): BreakerWaitDetails | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if (!(cause instanceof ApplicationFailure) || cause.type !== FailureType.BreakerOpen) return undefined;
  const details = cause.details?.[0] as BreakerWaitDetails | undefined;
  return details && typeof details.untilMs === 'number' ? details : undefined;
}

/** What the last failed attempt reported, from the activity failure's details. */
function lastAttempt(deliveryId: string, err: unknown): Outcome {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const status = cause.type === FailureType.WebhookDisabled ? ('skipped' as const) : ('dead' as const);
    const failureType = cause.type ?? undefined;
    const details = cause.details?.[0] as AttemptFailureDetails | undefined;
    if (details) return { result: { deliveryId, status, attempts: details.attempt, responseCode: details.responseCode, error: details.error }, recorded: details.recorded === true, failureType };
    return { result: { deliveryId, status, attempts: 0, responseCode: null, error: cause.message }, recorded: false, failureType };
  }
  // A timeout or a crash nothing recorded the end of.
  return { result: { deliveryId, status: 'dead', attempts: 0, responseCode: null, error: cause instanceof Error ? cause.message : String(err) }, recorded: false };
}
