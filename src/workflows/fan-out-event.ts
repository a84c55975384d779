/**
 * Fan-out of one published event: find every webhook of the tenant whose filter matches the event type and
 * start one delivery per match (disabled ones get a `skipped` row instead). Keyed by (tenant, event id), so
 * once `publish` returns this runs to the end even if the publisher crashes, and runs once per event.
 *
 * Webhooks are walked in pages, one activity per page, so history stays small; long fan-outs continue as
 * new with the cursor. Starting a delivery is idempotent (its workflow id is the dedup key), so a retried
 * page never delivers twice.
 */
import { continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities/create-activities.js';
import type { FanOutEventInput, FanOutEventResult } from './messages.js';

type Activities = ReturnType<typeof createActivities>;

export const DEFAULT_FAN_OUT_BATCH_SIZE = 200;
/** Pages per run before continuing as new; Temporal's own suggestion can come earlier. */
export const DEFAULT_FAN_OUT_BATCHES_PER_RUN = 50;

const { fanOutBatch, finishFanOut } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  // Pages heartbeat on every start: a dead worker's page is retried (idempotently) within seconds.
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export async function fanOutEvent(input: FanOutEventInput): Promise<FanOutEventResult> {
  const batchSize = input.batchSize ?? DEFAULT_FAN_OUT_BATCH_SIZE;
  const batchesPerRun = input.batchesPerRun ?? DEFAULT_FAN_OUT_BATCHES_PER_RUN;
  let { cursor = null, started = 0, skipped = 0 } = input;

  for (let batches = 0; ; batches++) {
    if (batches >= batchesPerRun || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof fanOutEvent>({ ...input, cursor, started, skipped });
    }
    const page = await fanOutBatch({
      tenantId: input.tenantId,
      eventId: input.eventId,
      eventType: input.eventType,
      publishedAtMs: input.publishedAtMs,
      cursor,
      limit: batchSize,
    });
    started += page.started;
    skipped += page.skipped;
    cursor = page.nextCursor;
    if (cursor === null) break;
  }

  await finishFanOut({ tenantId: input.tenantId, eventId: input.eventId, matched: started + skipped });
  return { eventId: input.eventId, tenantId: input.tenantId, matched: started + skipped, started, skipped };
}
