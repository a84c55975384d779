import { findWebhook } from '../store/webhooks.js';
import type { CheckEndpointBreakerInput, CheckEndpointBreakerResult } from '../workflows/messages.js';
import type { ActivityDeps } from './create-activities.js';
import { breakerStillOpen, wakeDepsOf } from './endpoint-health.js';
import { wakeWaitingDeliveries } from '../delivery/wake-waiting-deliveries.js';

/** A catch-up wake runs at most this often per endpoint and process. */
const CATCH_UP_WAKE_EVERY_MS = 60_000;

/**
 * A local activity (deliverWebhookV4): a delivery back from its wait behind an open breaker asks whether to
 * keep waiting, reading the breaker without taking a permit. Back on its own timer (not woken) to find the
 * breaker closed means the wake that should have come did not (its worker died midway): this delivery wakes
 * the rest. A webhook gone or disabled is not for this check to decide: the send activity ends the delivery.
 */
export function createCheckEndpointBreaker(deps: ActivityDeps) {
  return async function checkEndpointBreaker(input: CheckEndpointBreakerInput): Promise<CheckEndpointBreakerResult> {
    const webhook = await findWebhook(deps.store, input.webhookId);
    if (!webhook || !webhook.active) return { open: false };
    const open = await breakerStillOpen(deps, webhook);
    if (open) return { open: true, ...open };
    if (!input.woken) wakeWaitingDeliveries(wakeDepsOf(deps), webhook, { status: 'pending' }, 'a waiting delivery found the breaker closed', { unlessWokenWithinMs: CATCH_UP_WAKE_EVERY_MS });
    return { open: false };
  };
}
