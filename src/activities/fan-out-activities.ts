import { ApplicationFailure, heartbeat } from '@temporalio/activity';
import { startDelivery } from '../client/start-delivery.js';
import { deliveryId, deliveryWorkflowId } from '../client/ids.js';
import { recordDeliverySkipped } from '../store/deliveries.js';
import { matchesEventType } from '../store/event-type-filter.js';
import { findEvent, markEventFannedOut } from '../store/events.js';
import { listWebhookPage } from '../store/webhooks.js';
import type { FanOutBatchInput, FanOutBatchResult } from '../workflows/messages.js';
import type { ActivityDeps } from './create-activities.js';
import { forEachLimited } from './for-each-limited.js';

/** Delivery starts in flight at once per page: enough to hide round trips, few enough not to flood the server. */
export const FAN_OUT_START_CONCURRENCY = 16;

export function createFanOutActivities(deps: ActivityDeps) {
  const { store, clock } = deps;
  return {
    /** One page of the tenant's webhooks: start a delivery per active match, a `skipped` row per disabled one. */
    async fanOutBatch(input: FanOutBatchInput): Promise<FanOutBatchResult> {
      const event = await findEvent(store, input.tenantId, input.eventId);
      if (!event) throw ApplicationFailure.nonRetryable(`event ${input.eventId} of tenant ${input.tenantId} is not stored`, 'HeraldEventMissing');
      const page = await listWebhookPage(store, { tenantId: input.tenantId, createdAtOrBefore: input.publishedAtMs, afterId: input.cursor, limit: input.limit });
      const matching = page.filter((w) => matchesEventType(w.eventTypes, input.eventType));
      let started = 0;
      let skipped = 0;
      const ref = { tenantId: event.tenantId, eventId: event.eventId, eventType: event.eventType, eventTimeMs: event.eventTimeMs };
      await forEachLimited(matching, FAN_OUT_START_CONCURRENCY, async (webhook) => {
        if (webhook.active) {
          await startDelivery(deps.starter, webhook, ref);
          started += 1;
        } else {
          await recordDeliverySkipped(
            store,
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
            clock(),
          );
          skipped += 1;
        }
        heartbeat({ started, skipped });
      });
      const last = page[page.length - 1];
      return { nextCursor: page.length < input.limit || !last ? null : last.id, started, skipped };
    },

    async finishFanOut(input: { tenantId: string; eventId: string; matched: number }): Promise<void> {
      await markEventFannedOut(store, input.tenantId, input.eventId, input.matched, clock());
    },
  };
}
