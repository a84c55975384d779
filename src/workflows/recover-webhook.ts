/**
 * Recovery: redeliver every `dead` and `skipped` delivery of one webhook created in a time window — after
 * an outage, or once a disabled webhook is enabled again. Walks the window in pages (oldest first) and
 * continues as new on long windows; a delivery already redelivered is no longer dead, so repeating a page
 * or the whole recovery redelivers nothing twice. The `progress` query reports the counts so far.
 */
import { continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities/create-activities.js';
import { recoverProgressQuery } from '../delivery/queries.js';
import type { RecoverWebhookInput, RecoverWebhookResult } from './messages.js';

type Activities = ReturnType<typeof createActivities>;

export const DEFAULT_RECOVER_BATCH_SIZE = 100;
export const DEFAULT_RECOVER_BATCHES_PER_RUN = 50;

const { recoverBatch } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  // Pages heartbeat on every start: a dead worker's page is retried (idempotently) within seconds.
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export async function recoverWebhook(input: RecoverWebhookInput): Promise<RecoverWebhookResult> {
  const batchSize = input.batchSize ?? DEFAULT_RECOVER_BATCH_SIZE;
  const batchesPerRun = input.batchesPerRun ?? DEFAULT_RECOVER_BATCHES_PER_RUN;
  let { cursor = null, redelivered = 0, scanned = 0 } = input;
  let done = false;
  setHandler(recoverProgressQuery, () => ({ redelivered, scanned, done }));

  for (let batches = 0; ; batches++) {
    if (batches >= batchesPerRun || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof recoverWebhook>({ ...input, cursor, redelivered, scanned });
    }
    const page = await recoverBatch({
      tenantId: input.tenantId,
      webhookId: input.webhookId,
      sinceMs: input.sinceMs,
      untilMs: input.untilMs,
      cursor,
      limit: batchSize,
    });
    redelivered += page.redelivered;
    scanned += page.scanned;
    cursor = page.nextCursor;
    if (cursor === null) break;
  }
  done = true;
  return { webhookId: input.webhookId, redelivered, scanned };
}
