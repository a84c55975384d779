import { activityInfo, ApplicationFailure, cancellationSignal, heartbeat } from '@temporalio/activity';
import { buildSignedRequest } from '../signing/build-request.js';
import { findDelivery, recordAttemptFinished, recordAttemptStarted, type AttemptOutcome } from '../store/deliveries.js';
import { findEvent } from '../store/events.js';
import { disableWebhook, findWebhookForSending } from '../store/webhooks.js';
import { FailureType, type AttemptFailureDetails, type SendSignedWebhookInput, type SendSignedWebhookResult } from '../workflows/messages.js';
import { classifyAttempt } from './classify-response.js';
import type { ActivityDeps } from './create-activities.js';
import { HttpAttemptError, performHttpAttempt, type HttpAttemptResult } from './http-attempt.js';
import { nextRetryDelayMs } from './retry-schedule.js';

/** Well inside the workflow's heartbeat timeout. */
export const HEARTBEAT_INTERVAL_MS = 2_000;

/**
 * One signed HTTP attempt per activity attempt. Temporal retries the activity; this code decides how long to
 * wait (Herald's schedule, jitter, Retry-After) through `nextRetryDelay`, and which failures are final.
 * Secrets and custom headers are read here, at send time, and never leave this function: failures carry only
 * the status code and a short reason.
 */
export function createSendSignedWebhook(deps: ActivityDeps) {
  return async function sendSignedWebhook(input: SendSignedWebhookInput): Promise<SendSignedWebhookResult> {
    const { attempt } = activityInfo();
    const { store, clock, logger } = deps;
    const fail = (type: FailureType, error: string, responseCode: number | null, nonRetryable: boolean, nextRetryDelayMs?: number, reportedAttempt = attempt): never => {
      const details: AttemptFailureDetails = { attempt: reportedAttempt, responseCode, error };
      throw ApplicationFailure.create({
        type,
        message: error,
        nonRetryable,
        details: [details],
        ...(nextRetryDelayMs !== undefined ? { nextRetryDelay: nextRetryDelayMs } : {}),
      });
    };

    const webhook = await findWebhookForSending({ engine: store, box: deps.box }, input.webhookId, clock());
    if (!webhook) return fail(FailureType.WebhookUnavailable, `webhook ${input.webhookId} was deleted`, null, true);
    if (!webhook.active) return fail(FailureType.WebhookUnavailable, `webhook ${input.webhookId} is disabled (${webhook.disabledReason ?? 'by an operator'})`, null, true);

    const event = await findEvent(store, input.tenantId, input.eventId);
    if (!event) return fail(FailureType.EventMissing, `event ${input.eventId} is no longer stored`, null, true);

    const startedAt = clock();
    // Compare-and-set on (run, open status): a cancelled or redelivered delivery must not send again.
    const mine = await recordAttemptStarted(store, { deliveryId: input.deliveryId, runId: input.runId, attempt, url: webhook.url }, startedAt);
    if (!mine) {
      // An earlier attempt of this run already recorded its outcome, but its completion never reached Temporal
      // (worker killed, Temporal or the database unreachable in between). Report that outcome, do not send again.
      const row = await findDelivery(store, input.deliveryId);
      if (row?.runId === input.runId && row.status === 'success') return { attempt: row.attempts, responseCode: row.responseCode ?? 0, durationMs: row.durationMs ?? 0 };
      if (row?.runId === input.runId && row.status === 'dead') return fail(FailureType.Rejected, row.error ?? 'dead', row.responseCode, true, undefined, row.attempts);
      return fail(FailureType.Superseded, 'the delivery is no longer open for this run', null, true);
    }

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
    // Heartbeats let Temporal notice a dead worker quickly and deliver cancellation into the request.
    const beating = setInterval(() => heartbeat(), HEARTBEAT_INTERVAL_MS);
    try {
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
      clearInterval(beating);
    }

    const verdict = classifyAttempt(response ?? failure!, clock());
    const responseCode = response?.status ?? null;
    const durationMs = response?.durationMs ?? failure?.durationMs ?? null;
    const error = verdict.outcome === 'success' ? null : verdict.reason;
    const retryDelay =
      verdict.outcome === 'retry'
        ? nextRetryDelayMs({ schedule: webhook.retrySchedule, attempt, jitter: webhook.retryJitter, random: deps.random, retryAfterMs: verdict.retryAfterMs })
        : undefined;
    const lastAllowed = attempt >= input.maxAttempts;
    const willRetry = retryDelay !== undefined && !lastAllowed;
    const outcome: AttemptOutcome = verdict.outcome === 'retry' ? (willRetry ? 'retry' : 'dead') : failure?.kind === 'refused' ? 'refused' : verdict.outcome;

    await recordAttemptFinished(
      store,
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
        nextRetryAt: willRetry ? clock() + retryDelay : null,
      },
      clock(),
    );
    logger.info({ deliveryId: input.deliveryId, webhookId: input.webhookId, attempt, responseCode, durationMs, outcome }, 'delivery attempt');
    deps.metrics?.recordAttempt({ outcome, durationMs });

    switch (verdict.outcome) {
      case 'success':
        return { attempt, responseCode: responseCode!, durationMs: durationMs ?? 0 };
      case 'gone':
        await disableWebhook(store, webhook.id, `410 Gone from ${new URL(webhook.url).host} on delivery ${input.deliveryId}`, clock());
        return fail(FailureType.Gone, verdict.reason, responseCode, true);
      case 'dead':
        return fail(failure?.kind === 'refused' ? FailureType.EgressRefused : FailureType.Rejected, verdict.reason, responseCode, true);
      case 'retry':
        if (!willRetry) return fail(FailureType.RetriesExhausted, `${verdict.reason} (attempt ${attempt} of ${input.maxAttempts}; retries exhausted)`, responseCode, true);
        return fail(FailureType.AttemptFailed, verdict.reason, responseCode, false, retryDelay);
    }
  };
}
