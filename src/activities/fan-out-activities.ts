import { ApplicationFailure, heartbeat } from '@temporalio/activity';
import { deliverToSubscribers, findSubscribers } from '../delivery/fan-out.js';
import { FailureType } from '../delivery/failure-types.js';
import { findEvent, markEventFannedOut } from '../store/events.js';
import type { FanOutBatchInput, FanOutBatchResult } from '../workflows/messages.js';
import type { ActivityDeps } from './create-activities.js';

export function createFanOutActivities(deps: ActivityDeps) {
  const { store, clock } = deps;
  return {
    /** One page of the event's subscribers: a delivery per active one, a `skipped` row per disabled one. */
    async fanOutBatch(input: FanOutBatchInput): Promise<FanOutBatchResult> {
      const event = await findEvent(store, input.tenantId, input.eventId);
      if (!event) throw ApplicationFailure.nonRetryable(`event ${input.eventId} of tenant ${input.tenantId} is not stored`, FailureType.EventMissing);
      // The page's bound is the run's (publishedAtMs), so every page of one fan-out sees the same subscribers.
      const page = await findSubscribers(store, { ...event, createdAt: input.publishedAtMs }, { afterWebhookId: input.cursor, limit: input.limit });
      let done = 0;
      const { started, skipped } = await deliverToSubscribers({ store, starter: deps.starter, clock }, event, page.webhooks, () => heartbeat({ done: ++done }));
      return { nextCursor: page.nextCursor, started, skipped };
    },

    async finishFanOut(input: { tenantId: string; eventId: string; matched: number }): Promise<void> {
      await markEventFannedOut(store, input.tenantId, input.eventId, input.matched, clock());
    },
  };
}
