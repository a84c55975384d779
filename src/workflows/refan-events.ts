/**
 * The re-fan sweep, run every minute by the `herald-refan` Schedule: publish stores an event (status
 * `fanning_out`) before it starts anything, so an event still `fanning_out` a minute later was left half-way by
 * a crash. Each gets its durable fan-out workflow, which starts whatever is missing (starts are idempotent),
 * so once an event is stored every delivery happens exactly once per webhook.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities/create-activities.js';
import type { RefanEventsInput, RefanPageResult } from './messages.js';

type Activities = ReturnType<typeof createActivities>;

export const DEFAULT_REFAN_PAGE_SIZE = 100;
/** Pages per sweep; the next sweep (a minute later) goes on from the oldest again. */
const MAX_PAGES = 50;

const { refanUnfinishedEvents } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

export async function refanEvents(input: RefanEventsInput): Promise<{ refanned: number }> {
  let refanned = 0;
  let cursor: string | null = null;
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const page: RefanPageResult = await refanUnfinishedEvents({ olderThanMs: input.olderThanMs, cursor, limit: input.pageSize ?? DEFAULT_REFAN_PAGE_SIZE });
    refanned += page.refanned;
    cursor = page.nextCursor;
    if (cursor === null) break;
  }
  return { refanned };
}
