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
  /**
   * The webhook's host when the delivery started (it is in the static summary too), for the words a dead
   * delivery fails with. Absent in runs of the earlier workflow types.
   */
  endpointHost?: string;
}

export interface DeliverWebhookResult {
  deliveryId: string;
  /** `skipped`: the webhook was disabled before the delivery could finish (recover redelivers it). */
  status: Extract<DeliveryStatus, 'success' | 'dead' | 'cancelled' | 'skipped'>;
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
  /**
   * HTTP attempts this run made before this activity (1 after the fast path's first attempt; absent = 0 in
   * runs of the first workflow type). The HTTP attempt number is the activity attempt plus this.
   */
  attemptOffset?: number;
  /**
   * Set since `deliverWebhookV3`: the attempt number comes from the delivery table (attempts that sent a request),
   * and waits for the endpoint (breaker, rate limit, concurrency) or for the delivery database are retried
   * without spending one. Absent in runs of the earlier types: attempt = activity attempt + attemptOffset.
   */
  endpointAware?: true;
  /**
   * Set by `deliverWebhookV4`: a breaker-open wait is not retried inside the activity but ends it with a
   * non-retryable `HeraldBreakerOpen` failure (details `BreakerWaitDetails`); the workflow waits, woken early by
   * `ENDPOINT_READY_SIGNAL` when the breaker closes, and schedules the activity again.
   */
  breakerWaitsInWorkflow?: true;
}

/** The breaker check a delivery makes after its wait behind an open breaker (deliverWebhookV4). */
export interface CheckEndpointBreakerInput {
  webhookId: string;
  /** The wait ended with the endpoint-ready signal (false: on its own timer). */
  woken: boolean;
}

export type CheckEndpointBreakerResult = { open: false } | ({ open: true } & BreakerWaitDetails);

/** How long a delivery behind an open breaker waits at most, and why (a `HeraldBreakerOpen` failure's details). */
export interface BreakerWaitDetails {
  untilMs: number;
  message: string;
}

/**
 * What the send activity tells its delivery workflow between attempts, as signal `ATTEMPT_REPORT_SIGNAL`, so
 * the workflow's current details say in words what it waits for (the retries themselves run inside one
 * Temporal activity, which the workflow does not see until it ends).
 */
export type AttemptReport =
  | { kind: 'retry'; attempt: number; error: string; nextAttemptAtMs: number }
  | { kind: 'wait'; message: string; untilMs: number };

/** The fast path's input: the delivery plus where the row's run fencing comes from. */
export interface FirstAttemptInput extends DeliverWebhookInput {
  workflowId: string;
  runId: string;
  /** As in SendSignedWebhookInput: set since deliverWebhookV3 (it understands the `wait` outcome). */
  endpointAware?: true;
  /** As in SendSignedWebhookInput: set by deliverWebhookV4 (its `wait` outcome says whether the breaker is open). */
  breakerWaitsInWorkflow?: true;
}

/**
 * What the fast path's first attempt reports. Delivery outcomes are returned, never thrown, so the local
 * activity is retried only for what is not a delivery outcome (the database away before the send).
 */
export type FirstAttemptResult =
  | { outcome: 'success'; attempt: number; responseCode: number; durationMs: number }
  | { outcome: 'retry'; attempt: number; responseCode: number | null; error: string; retryDelayMs: number }
  /** Nothing was sent: the endpoint's breaker is open or its limits are reached (since deliverWebhookV3). */
  | { outcome: 'wait'; attempt: number; message: string; retryDelayMs: number; breakerOpen?: boolean }
  | {
      outcome: 'dead';
      failureType: FailureType;
      attempt: number;
      responseCode: number | null;
      error: string;
      /** The attempt already wrote the row's final state; the workflow need not mirror it. */
      recorded: boolean;
    };

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
  /** The attempt already wrote the row's final state (absent in histories recorded before it was added). */
  recorded?: boolean;
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
      phase: 'success' | 'dead' | 'cancelled' | 'skipped';
      deliveryId: string;
      runId: string;
      attempts: number;
      responseCode: number | null;
      error: string | null;
    };

import type { FailureType } from '../delivery/failure-types.js';

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

// ── re-fan ───────────────────────────────────────────────────────────────────────────────────────────

export interface RefanEventsInput {
  /** Only events stored at least this long ago: a publish still running is left alone. */
  olderThanMs: number;
  pageSize?: number;
}

export interface RefanPageInput {
  olderThanMs: number;
  cursor: string | null;
  limit: number;
}

export interface RefanPageResult {
  refanned: number;
  nextCursor: string | null;
}
