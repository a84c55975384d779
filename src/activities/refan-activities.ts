import { heartbeat } from '@temporalio/activity';
import { startFanOut } from '../delivery/start-delivery.js';
import { listUnfinishedEvents } from '../store/events.js';
import type { RefanPageInput, RefanPageResult } from '../workflows/messages.js';
import type { ActivityDeps } from './create-activities.js';

export function createRefanActivities(deps: ActivityDeps) {
  return {
    /**
     * One page of events stored long enough ago whose fan-out never finished (publish stopped between storing
     * the event and starting its deliveries): each gets its durable fan-out workflow. Idempotent: the fan-out is
     * keyed by the event, and every delivery it starts by (event, webhook).
     */
    async refanUnfinishedEvents(input: RefanPageInput): Promise<RefanPageResult> {
      const page = await listUnfinishedEvents(deps.store, { storedBeforeMs: deps.clock() - input.olderThanMs, cursor: input.cursor, limit: input.limit });
      for (const event of page.events) {
        await startFanOut(deps.starter, { tenantId: event.tenantId, eventId: event.eventId, eventType: event.eventType, publishedAtMs: event.createdAt });
        heartbeat();
      }
      if (page.events.length) deps.logger.warn({ events: page.events.map((e) => e.eventId) }, 're-fanned events whose fan-out had not finished');
      return { refanned: page.events.length, nextCursor: page.nextCursor };
    },
  };
}
