/**
 * Names of the signals delivery workflows take, shared by the workflow that handles them and the activities
 * that send them (which may not import workflow code). Pure.
 */

/** The send activity's report of a failed attempt or a wait (an `AttemptReport`), for the current details. */
export const ATTEMPT_REPORT_SIGNAL = 'heraldAttemptReport';

/**
 * The endpoint's breaker closed (or the webhook was disabled): a delivery waiting behind the breaker looks
 * again now instead of at the end of its wait. Sent by the worker that saw the change (activities/
 * endpoint-wake.ts); no payload. Runs of the types before `deliverWebhookV4` have no handler and ignore it.
 */
export const ENDPOINT_READY_SIGNAL = 'heraldEndpointReady';
