/**
 * One signed HTTP attempt of a delivery, and the decisions around it: what the response means (success, retry
 * on Herald's schedule, dead), what the table records, and when a 410 disables the webhook. Both ways an
 * attempt runs share it: the fast path's first attempt (a local activity) and every retry (the regular
 * `sendSignedWebhook` activity). It returns a verdict instead of throwing, so each caller turns it into its
 * own kind of answer. Secrets and custom headers are read here, at send time, and never leave this module.
 */
import { activityInfo, cancellationSignal, heartbeat } from '@temporalio/activity';
import { nextRetryDelayMs } from '../delivery/retry-schedule.js';
import { buildSignedRequest } from '../signing/build-request.js';
import { findDelivery, recordAttemptFinished, type AttemptOutcome } from '../store/deliveries.js';
import { findEvent, type StoredEvent } from '../store/events.js';
import { findWebhookForSending, type WebhookForSending } from '../store/webhooks.js';
import type { SendPermit } from '../endpoints/endpoint-gate.js';
import { announce, disableEndpoint, freshPermit, release } from './endpoint-health.js';
import { FailureType } from '../delivery/failure-types.js';
import type { SendSignedWebhookInput } from '../workflows/messages.js';
import { classifyAttempt } from './classify-response.js';
import type { ActivityDeps } from './create-activities.js';
import { HttpAttemptError, performHttpAttempt, type HttpAttemptResult } from './http-attempt.js';

/** Well inside the workflow's heartbeat timeout. */
export const HEARTBEAT_INTERVAL_MS = 2_000;

export type AttemptVerdict =
  | { kind: 'success'; attempt: number; responseCode: number; durationMs: number }
  | { kind: 'retry'; attempt: number; responseCode: number | null; error: string; retryDelayMs: number }
  /** Final: nothing more will be sent. `recorded`: the row already holds this outcome. */
  | { kind: 'final'; type: FailureType; attempt: number; responseCode: number | null; error: string; recorded: boolean };

export interface AttemptTargets {
  webhook: WebhookForSending;
  event: StoredEvent;
}

type DeliveryRef = Pick<SendSignedWebhookInput, 'webhookId' | 'tenantId' | 'eventId'>;

/**
 * The webhook (with its secrets) and the event: one read each per attempt. A final verdict when either is gone.
 * `endpointAware` (runs since deliverWebhookV3): a disabled webhook ends the delivery `skipped`, for recover, not dead.
 */
export async function loadTargets(deps: ActivityDeps, ref: DeliveryRef & { endpointAware?: true }, attempt: number): Promise<AttemptTargets | AttemptVerdict> {
  const webhook = await findWebhookForSending({ engine: deps.store, box: deps.box }, ref.webhookId, deps.clock());
  if (!webhook) return final(FailureType.WebhookUnavailable, `webhook ${ref.webhookId} was deleted`, attempt);
  if (!webhook.active) {
    const why = `webhook ${ref.webhookId} is disabled (${webhook.disabledReason ?? 'by an operator'})`;
    return final(ref.endpointAware ? FailureType.WebhookDisabled : FailureType.WebhookUnavailable, why, attempt);
  }
  const event = await findEvent(deps.store, ref.tenantId, ref.eventId);
  if (!event) return final(FailureType.EventMissing, `event ${ref.eventId} is no longer stored`, attempt);
  return { webhook, event };
}

export function isVerdict(value: AttemptTargets | AttemptVerdict): value is AttemptVerdict {
  return 'kind' in value;
}

function final(type: FailureType, error: string, attempt: number, responseCode: number | null = null, recorded = false): AttemptVerdict {
  return { kind: 'final', type, attempt, responseCode, error, recorded };
}

/**
 * The row said "not yours" before sending: an earlier attempt of this run already recorded its outcome but its
 * completion never reached Temporal (worker killed, Temporal or the database unreachable in between). Report
 * that outcome; do not send again.
 */
export async function recordedOutcome(deps: ActivityDeps, input: Pick<SendSignedWebhookInput, 'deliveryId' | 'runId' | 'endpointAware'>, attempt: number): Promise<AttemptVerdict> {
  const row = await findDelivery(deps.store, input.deliveryId);
  if (row?.runId === input.runId && row.status === 'success') return { kind: 'success', attempt: row.attempts, responseCode: row.responseCode ?? 0, durationMs: row.durationMs ?? 0 };
  if (row?.runId === input.runId && row.status === 'dead') return final(FailureType.Rejected, row.error ?? 'dead', row.attempts, row.responseCode, true);
  // Skipped while it waited (its webhook was disabled): the row already says so, with the reason.
  if (row?.runId === input.runId && row.status === 'skipped') {
    return final(input.endpointAware ? FailureType.WebhookDisabled : FailureType.WebhookUnavailable, row.error ?? 'the webhook is disabled', row.attempts, row.responseCode, true);
  }
  return final(FailureType.Superseded, 'the delivery is no longer open for this run', attempt);
}

/**
 * Signs and sends attempt `attempt` (the row already says it is in flight), classifies the answer, records it
 * (attempt log + the row's state, fenced by run and attempt) and, on 410, disables the webhook.
 */
export async function sendAttempt(
  deps: ActivityDeps,
  input: SendSignedWebhookInput,
  attempt: number,
  targets: AttemptTargets,
  startedAt: number,
  /** The endpoint gate's permit for this request (endpoint-aware runs): returned with the outcome. */
  permit?: SendPermit,
): Promise<AttemptVerdict> {
  try {
    const verdict = await sendAndRecord(deps, input, attempt, targets, startedAt, permit);
    if (verdict.kind === 'final' && input.endpointAware) {
      await announce(deps, {
        type: 'herald.delivery.dead',
        tenantId: input.tenantId,
        deliveryId: input.deliveryId,
        runId: input.runId,
        webhookId: input.webhookId,
        eventId: input.eventId,
        eventType: input.eventType,
        attempts: verdict.attempt,
        responseCode: verdict.responseCode,
        error: verdict.error,
        occurredAt: deps.clock(),
      });
    }
    return verdict;
  } catch (err) {
    // Nothing recorded (cancelled, or the table away): the slot goes back without a verdict on the endpoint.
    await release(deps, targets.webhook, permit, null).catch(() => undefined);
    throw err;
  }
}

async function sendAndRecord(deps: ActivityDeps, input: SendSignedWebhookInput, attempt: number, targets: AttemptTargets, startedAt: number, permit: SendPermit | undefined): Promise<AttemptVerdict> {
  const { webhook, event } = targets;
  const request = buildSignedRequest({
    scheme: webhook.signatureScheme,
    eventId: input.eventId,
    eventType: input.eventType,
    eventTimeMs: input.eventTimeMs,
    deliveryId: input.deliveryId,
    attempt,
    payload: event.payload,
    secrets: webhook.secrets,
    customHeaders: webhook.headers,
    nowMs: startedAt,
    userAgent: deps.userAgent,
  });

  let response: HttpAttemptResult | undefined;
  let failure: HttpAttemptError | undefined;
  // Heartbeats let Temporal notice a dead worker quickly and deliver cancellation into the request. A local
  // activity cannot heartbeat: its workflow task is what Temporal watches.
  const beating = activityInfo().isLocal ? undefined : setInterval(() => heartbeat(), HEARTBEAT_INTERVAL_MS);
  try {
    permit = await freshPermit(deps, webhook, permit);
    response = await performHttpAttempt({
      url: webhook.url,
      method: webhook.method,
      headers: request.headers,
      body: request.body,
      timeoutMs: webhook.timeoutMs,
      dispatcher: deps.dispatcher,
      signal: cancellationSignal(),
    });
  } catch (err) {
    if (!(err instanceof HttpAttemptError)) throw err;
    // Temporal cancelled us: not a delivery outcome. Rethrow the CancelledFailure so it reports as such.
    if (err.kind === 'aborted') throw err.cause ?? err;
    failure = err;
  } finally {
    if (beating) clearInterval(beating);
  }

  const verdict = classifyAttempt(response ?? failure!, deps.clock());
  const responseCode = response?.status ?? null;
  const durationMs = response?.durationMs ?? failure?.durationMs ?? null;
  const error = verdict.outcome === 'success' ? null : verdict.reason;
  const retryDelay =
    verdict.outcome === 'retry'
      ? nextRetryDelayMs({ schedule: webhook.retrySchedule, attempt, jitter: webhook.retryJitter, random: deps.random, retryAfterMs: verdict.retryAfterMs })
      : undefined;
  const willRetry = retryDelay !== undefined && attempt < input.maxAttempts;
  const outcome: AttemptOutcome = verdict.outcome === 'retry' ? (willRetry ? 'retry' : 'dead') : failure?.kind === 'refused' ? 'refused' : verdict.outcome;

  await recordAttemptFinished(
    deps.store,
    {
      deliveryId: input.deliveryId,
      runId: input.runId,
      attempt,
      startedAt,
      durationMs,
      responseCode,
      responseBody: response?.responseBody ?? null,
      error,
      outcome,
      nextRetryAt: willRetry ? deps.clock() + retryDelay : null,
    },
    deps.clock(),
  );
  deps.logger.info({ deliveryId: input.deliveryId, eventId: input.eventId, webhookId: input.webhookId, attempt, responseCode, durationMs, outcome }, 'delivery attempt');
  deps.metrics?.recordAttempt({ outcome, durationMs });
  // An SSRF refusal sent nothing: it tells the gate nothing about the endpoint.
  await release(deps, webhook, permit, failure?.kind === 'refused' ? null : { status: responseCode, durationMs });

  switch (verdict.outcome) {
    case 'success':
      return { kind: 'success', attempt, responseCode: responseCode!, durationMs: durationMs ?? 0 };
    case 'gone':
      await disableEndpoint(deps, webhook, `410 Gone from ${new URL(webhook.url).host} on delivery ${input.deliveryId}`);
      return final(FailureType.Gone, verdict.reason, attempt, responseCode, true);
    case 'dead':
      return final(failure?.kind === 'refused' ? FailureType.EgressRefused : FailureType.Rejected, verdict.reason, attempt, responseCode, true);
    case 'retry':
      if (!willRetry) return final(FailureType.RetriesExhausted, `${verdict.reason} (attempt ${attempt} of ${input.maxAttempts}; retries exhausted)`, attempt, responseCode, true);
      return { kind: 'retry', attempt, responseCode, error: verdict.reason, retryDelayMs: retryDelay };
  }
}
