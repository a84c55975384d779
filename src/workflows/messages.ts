/**
 * Types both sides of the workflow boundary share: workflow inputs and results, activity inputs, and the
 * failure types activities throw. Nothing here may be a secret: all of it is recorded in Temporal history.
 */

export type DeliveryStatus = 'pending' | 'in_flight' | 'success' | 'dead' | 'cancelled' | 'skipped';

/** One delivery = one (event, webhook) pair. Ids and the event itself; the webhook's URL, secrets and headers
 * are resolved by the send activity at send time so they never enter history. */
export interface DeliverWebhookInput {
  deliveryId: string;
  webhookId: string;
  tenantId: string;
  eventId: string;
  eventType: string;
  /** The event's time (epoch ms), the envelope's `timestamp`: stable across attempts and redeliveries. */
  eventTimeMs: number;
  payload: unknown;
  /** Attempts allowed by the webhook's retry schedule (Temporal's RetryPolicy bound). */
  maxAttempts: number;
  /** The webhook's per-attempt HTTP timeout; Temporal's start-to-close timeout sits just above it. */
  attemptTimeoutMs: number;
}

export interface DeliverWebhookResult {
  deliveryId: string;
  status: Extract<DeliveryStatus, 'success' | 'dead' | 'cancelled'>;
  attempts: number;
  responseCode: number | null;
  error: string | null;
}

export interface SendSignedWebhookInput {
  deliveryId: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  eventTimeMs: number;
  payload: unknown;
  /** The workflow run this attempt belongs to: table writes are fenced by it. */
  runId: string;
  maxAttempts: number;
}

export interface SendSignedWebhookResult {
  attempt: number;
  responseCode: number;
  durationMs: number;
}

/** What a failed attempt tells the workflow (ApplicationFailure details[0]); never a response body or secret. */
export interface AttemptFailureDetails {
  attempt: number;
  responseCode: number | null;
  error: string;
}

export type MirrorDeliveryInput =
  | {
      phase: 'created';
      deliveryId: string;
      webhookId: string;
      tenantId: string;
      eventId: string;
      eventType: string;
      eventTimeMs: number;
      payload: unknown;
      workflowId: string;
      runId: string;
    }
  | {
      phase: 'success' | 'dead' | 'cancelled';
      deliveryId: string;
      runId: string;
      attempts: number;
      responseCode: number | null;
      error: string | null;
    };

/** ApplicationFailure types the send activity throws. Matched by `type`, never by `instanceof` across the sandbox. */
export const FailureType = {
  /** Retryable: 408/425/429/5xx, network error, timeout. */
  AttemptFailed: 'HeraldAttemptFailed',
  /** Non-retryable: the schedule is used up. */
  RetriesExhausted: 'HeraldRetriesExhausted',
  /** Non-retryable: 3xx or a 4xx other than 408/410/425/429. */
  Rejected: 'HeraldDeliveryRejected',
  /** Non-retryable: 410 Gone; the webhook has been disabled. */
  Gone: 'HeraldWebhookGone',
  /** Non-retryable: the SSRF guard refused the target address. */
  EgressRefused: 'HeraldEgressRefused',
  /** Non-retryable: the webhook was deleted or disabled. */
  WebhookUnavailable: 'HeraldWebhookUnavailable',
  /** Non-retryable: the delivery row is no longer this run's to send (cancelled or redelivered). */
  Superseded: 'HeraldDeliverySuperseded',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

export const NON_RETRYABLE_FAILURE_TYPES: FailureType[] = [
  FailureType.RetriesExhausted,
  FailureType.Rejected,
  FailureType.Gone,
  FailureType.EgressRefused,
  FailureType.WebhookUnavailable,
  FailureType.Superseded,
];
