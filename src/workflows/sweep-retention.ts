/**
 * Retention: deletes finished deliveries (and their attempt logs) once they are old enough, in batches,
 * then events no delivery refers to any more. Never touches `pending` or `in_flight` rows. A Temporal
 * Schedule runs it hourly; the age cut-off uses workflow time, so it is deterministic and testable with
 * skipped time.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities/create-activities.js';
import type { DeliveryStatus, SweepRetentionInput, SweepRetentionResult } from './messages.js';

type Activities = ReturnType<typeof createActivities>;

export const DEFAULT_RETENTION_BATCH_SIZE = 500;

const { deleteExpiredDeliveries, deleteUnreferencedEvents } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export async function sweepRetention(input: SweepRetentionInput): Promise<SweepRetentionResult> {
  const limit = input.batchSize ?? DEFAULT_RETENTION_BATCH_SIZE;
  const now = Date.now(); // workflow time: deterministic
  let deletedDeliveries = 0;
  const groups: { statuses: DeliveryStatus[]; maxAgeMs: number }[] = [
    { statuses: ['success'], maxAgeMs: input.deliveredMaxAgeMs },
    { statuses: ['dead', 'skipped', 'cancelled'], maxAgeMs: input.deadMaxAgeMs },
  ];
  for (const { statuses, maxAgeMs } of groups) {
    if (maxAgeMs <= 0) continue;
    for (;;) {
      const deleted = await deleteExpiredDeliveries({ statuses, olderThanMs: now - maxAgeMs, limit });
      deletedDeliveries += deleted;
      if (deleted < limit) break;
    }
  }
  let deletedEvents = 0;
  const eventMaxAgeMs = Math.max(input.deliveredMaxAgeMs, input.deadMaxAgeMs);
  // Events outlive every delivery that can still refer to them; kept forever if either age is 0.
  if (input.deliveredMaxAgeMs > 0 && input.deadMaxAgeMs > 0) {
    let cursor: string | null = null;
    do {
      const page: { deleted: number; nextCursor: string | null } = await deleteUnreferencedEvents({ olderThanMs: now - eventMaxAgeMs, cursor, limit });
      deletedEvents += page.deleted;
      cursor = page.nextCursor;
    } while (cursor !== null);
  }
  return { deletedDeliveries, deletedEvents };
}
