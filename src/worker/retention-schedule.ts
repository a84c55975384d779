import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Config } from '../config/config.js';
import { sweepRetention } from '../workflows/sweep-retention.js';

export const RETENTION_SCHEDULE_ID = 'herald-retention';

/**
 * Creates (or brings up to date) the Temporal Schedule that runs the retention sweep. Overlaps are skipped:
 * one sweep at a time.
 */
const RETENTION_SUMMARY = 'Herald: delete delivered and dead deliveries (and unreferenced events) past their retention';

export async function ensureRetentionSchedule(temporal: Client, config: Pick<Config, 'taskQueue' | 'retention'>): Promise<void> {
  const spec = { intervals: [{ every: config.retention.intervalMs }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: sweepRetention,
    taskQueue: config.taskQueue,
    args: [{ deliveredMaxAgeMs: config.retention.deliveredMaxAgeMs, deadMaxAgeMs: config.retention.deadMaxAgeMs }] as [Parameters<typeof sweepRetention>[0]],
    workflowId: RETENTION_SCHEDULE_ID,
    staticSummary: RETENTION_SUMMARY,
  };
  try {
    await temporal.schedule.create({
      scheduleId: RETENTION_SCHEDULE_ID,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
      // The Web UI shows the note as the schedule's Notes: what it is for, in words.
      state: { note: RETENTION_SUMMARY },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await temporal.schedule.getHandle(RETENTION_SCHEDULE_ID).update((previous) => ({ ...previous, spec, action, state: { ...previous.state, note: RETENTION_SUMMARY } }));
  }
}
