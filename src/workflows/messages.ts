/**
 * Types both sides of the workflow boundary share: workflow inputs and results, activity inputs, and the
 * failure types activities throw. Nothing here may be a secret: all of it is recorded in Temporal history.
 */

export type DeliveryStatus = 'pending' | 'in_flight' | 'success' | 'dead' | 'cancelled' | 'skipped';

/** One delivery = one (event, webhook) pair, by id. The payload is stored once with the event, and the
 * webhook's URL, secrets and headers are resolved by the send activity at send time: none of them enter
 * history. */
export interface DeliverWebhookInput {
  deliveryId: string;
  webhookId: string;
  tenantId: string;
  eventId: string;
  eventType: string;
  /** The event's time (epoch ms), the envelope's `timestamp`: stable across attempts and redeliveries. */
  eventTimeMs: number;
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
  tenantId: string;
  eventId: string;
  eventType: string;
  eventTimeMs: number;
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
  /** Non-retryable: the event's stored payload is gone (deleted by retention). */
  EventMissing: 'HeraldEventMissing',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

export const NON_RETRYABLE_FAILURE_TYPES: FailureType[] = [
  FailureType.RetriesExhausted,
  FailureType.Rejected,
  FailureType.Gone,
  FailureType.EgressRefused,
  FailureType.WebhookUnavailable,
  FailureType.Superseded,
  FailureType.EventMissing,
];

// ── fan-out ──────────────────────────────────────────────────────────────────────────────────────────

export interface FanOutEventInput {
  tenantId: string;
  eventId: string;
  eventType: string;
  /** Webhooks created after this (epoch ms) do not receive the event. */
  publishedAtMs: number;
  batchSize?: number;
  batchesPerRun?: number;
  /** Carried across continue-as-new. */
  cursor?: string | null;
  started?: number;
  skipped?: number;
}

export interface FanOutEventResult {
  tenantId: string;
  eventId: string;
  matched: number;
  started: number;
  skipped: number;
}

export interface FanOutBatchInput {
  tenantId: string;
  eventId: string;
  eventType: string;
  publishedAtMs: number;
  cursor: string | null;
  limit: number;
}

export interface FanOutBatchResult {
  /** The last webhook id of this page, or null when the walk is done. */
  nextCursor: string | null;
  started: number;
  skipped: number;
}

// ── recovery ─────────────────────────────────────────────────────────────────────────────────────────

export interface RecoverWebhookInput {
  tenantId: string;
  webhookId: string;
  /** created_at window of the deliveries to redeliver: [sinceMs, untilMs). */
  sinceMs: number;
  untilMs: number;
  batchSize?: number;
  batchesPerRun?: number;
  cursor?: string | null;
  redelivered?: number;
  scanned?: number;
}

export interface RecoverWebhookResult {
  webhookId: string;
  redelivered: number;
  scanned: number;
}

export interface RecoverBatchInput {
  tenantId: string;
  webhookId: string;
  sinceMs: number;
  untilMs: number;
  cursor: string | null;
  limit: number;
}

export interface RecoverBatchResult {
  nextCursor: string | null;
  redelivered: number;
  scanned: number;
}

export interface RecoverProgress {
  redelivered: number;
  scanned: number;
  done: boolean;
}

// ── retention ────────────────────────────────────────────────────────────────────────────────────────

export interface SweepRetentionInput {
  /** Age after which `success` deliveries (and their attempts) are deleted; 0 keeps them. */
  deliveredMaxAgeMs: number;
  /** Age after which `dead`, `skipped` and `cancelled` deliveries are deleted; 0 keeps them. */
  deadMaxAgeMs: number;
  batchSize?: number;
}

export interface SweepRetentionResult {
  deletedDeliveries: number;
  deletedEvents: number;
}

export interface DeleteUnreferencedEventsInput {
  olderThanMs: number;
  cursor: string | null;
  limit: number;
}

export interface DeleteExpiredInput {
  statuses: DeliveryStatus[];
  olderThanMs: number;
  limit: number;
}
