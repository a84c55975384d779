/**
 * The ApplicationFailure types delivery attempts throw (or report). Shared by the activities that throw them and
 * the workflows that set retry policies on them; matched by `type`, never by `instanceof` across the sandbox.
 * Pure constants: safe inside the workflow bundle.
 */
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
  /** Non-retryable (since deliverWebhookV3): the webhook is disabled; the delivery ends `skipped`, for recover. */
  WebhookDisabled: 'HeraldWebhookDisabled',
  /** Retryable, spends no attempt (since deliverWebhookV3): the delivery database could not be read or written. */
  StorageUnavailable: 'HeraldStorageUnavailable',
  /** Retryable, spends no attempt (since deliverWebhookV3): the endpoint's breaker is open or its limits are reached. */
  EndpointWaiting: 'HeraldEndpointWaiting',
  /**
   * Non-retryable, spends no attempt (deliverWebhookV4): the endpoint's breaker is open. The workflow waits
   * (woken by the endpoint-ready signal when the breaker closes, or at the time in the details) and sends again.
   */
  BreakerOpen: 'HeraldBreakerOpen',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/**
 * FROZEN: the list the retired delivery types (`deliverWebhook`, `deliverWebhookV2`) put in their retry policies.
 * Their activities never report the newer types, and their recorded commands must not change.
 */
export const LEGACY_NON_RETRYABLE_FAILURE_TYPES: FailureType[] = [
  FailureType.RetriesExhausted,
  FailureType.Rejected,
  FailureType.Gone,
  FailureType.EgressRefused,
  FailureType.WebhookUnavailable,
  FailureType.Superseded,
  FailureType.EventMissing,
];

/** FROZEN: the list `deliverWebhookV3` puts in its retry policies (its recorded commands must not change). */
export const V3_NON_RETRYABLE_FAILURE_TYPES: FailureType[] = [...LEGACY_NON_RETRYABLE_FAILURE_TYPES, FailureType.WebhookDisabled];

export const NON_RETRYABLE_FAILURE_TYPES: FailureType[] = [...V3_NON_RETRYABLE_FAILURE_TYPES, FailureType.BreakerOpen];

