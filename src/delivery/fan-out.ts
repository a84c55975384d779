/**
 * The fan-out rule, in one place: an event goes to every live webhook of its tenant that subscribes to its
 * type and existed when the event was stored — a delivery for each active one, a `skipped` row for each
 * disabled one (recorded, never silently dropped). Publish applies it directly to small fan-outs; the
 * fanOutEvent workflow applies it page by page to large ones. Every step is idempotent (delivery starts
 * dedup on their workflow id, skipped rows on the table's key), so a retried page or a re-fan repeats nothing.
 */
import type { DataEngine } from '../store/data-engine.js';
import { recordDeliverySkipped } from '../store/deliveries.js';
import type { StoredEvent } from '../store/events.js';
import { findSubscribedWebhookIds } from '../store/subscriptions.js';
import { findWebhooksByIds, type Webhook } from '../store/webhooks.js';
import { forEachLimited } from './for-each-limited.js';
import { deliveryId, deliveryWorkflowId } from './ids.js';
import { startDelivery, type DeliveryStarter } from './start-delivery.js';

/** Delivery starts in flight at once: enough to hide round trips, few enough not to flood the server. */
export const FAN_OUT_START_CONCURRENCY = 16;

export interface FanOutDeps {
  store: DataEngine;
  starter: DeliveryStarter;
  clock: () => number;
}

export interface FannedOutDelivery {
  id: string;
  webhookId: string;
  status: 'pending' | 'skipped';
}

type EventOf = Pick<StoredEvent, 'tenantId' | 'eventId' | 'eventType' | 'eventTimeMs' | 'createdAt'>;

/**
 * One page of the event's subscribers (active or not), in webhook id order after `afterWebhookId`.
 * `nextCursor` is null when this page was the last (it counts index rows, so a webhook deleted meanwhile does
 * not end the walk early).
 */
export async function findSubscribers(
  store: DataEngine,
  event: EventOf,
  page: { afterWebhookId?: string | null; limit: number },
): Promise<{ webhooks: Webhook[]; nextCursor: string | null }> {
  const ids = await findSubscribedWebhookIds(store, {
    tenantId: event.tenantId,
    eventType: event.eventType,
    createdAtOrBefore: event.createdAt,
    afterWebhookId: page.afterWebhookId ?? null,
    limit: page.limit,
  });
  return { webhooks: await findWebhooksByIds(store, ids), nextCursor: ids.length < page.limit ? null : ids[ids.length - 1]! };
}

/** What a subscriber gets from this event: a started delivery or a skipped row (the ids are deterministic). */
export function plannedDelivery(webhook: Webhook, eventId: string): FannedOutDelivery {
  return { id: deliveryId(webhook.id, eventId), webhookId: webhook.id, status: webhook.active ? 'pending' : 'skipped' };
}

/** Starts a delivery per active subscriber and records a skipped row per disabled one, concurrently. */
export async function deliverToSubscribers(deps: FanOutDeps, event: EventOf, webhooks: readonly Webhook[], onEach?: () => void): Promise<{ started: number; skipped: number }> {
  let started = 0;
  let skipped = 0;
  const ref = { tenantId: event.tenantId, eventId: event.eventId, eventType: event.eventType, eventTimeMs: event.eventTimeMs };
  await forEachLimited(webhooks, FAN_OUT_START_CONCURRENCY, async (webhook) => {
    if (webhook.active) {
      await startDelivery(deps.starter, webhook, ref);
      started += 1;
    } else {
      await recordDeliverySkipped(
        deps.store,
        {
          deliveryId: deliveryId(webhook.id, event.eventId),
          workflowId: deliveryWorkflowId(webhook.id, event.eventId),
          tenantId: event.tenantId,
          webhookId: webhook.id,
          eventId: event.eventId,
          eventType: event.eventType,
          eventTimeMs: event.eventTimeMs,
          url: webhook.url,
          method: webhook.method,
          reason: `webhook disabled: ${webhook.disabledReason ?? 'by an operator'}`,
        },
        deps.clock(),
      );
      skipped += 1;
    }
    onEach?.();
  });
  return { started, skipped };
}
