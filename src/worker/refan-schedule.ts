import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Config } from '../config/config.js';
import type { refanEvents } from '../workflows/refan-events.js';

export const REFAN_SCHEDULE_ID = 'herald-refan';

/**
 * Creates (or brings up to date) the Temporal Schedule that repairs fan-outs a crash left unfinished: every
 * `refan.intervalMs` it re-fans the events stored more than `refan.olderThanMs` ago that are still
 * `fanning_out`. One sweep at a time (overlaps skipped).
 */
const REFAN_SUMMARY = 'Herald: re-fan events whose fan-out did not finish';

export async function ensureRefanSchedule(temporal: Client, config: Pick<Config, 'taskQueue' | 'refan'>): Promise<void> {
  const spec = { intervals: [{ every: config.refan.intervalMs }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'refanEvents',
    taskQueue: config.taskQueue,
    args: [{ olderThanMs: config.refan.olderThanMs }] as Parameters<typeof refanEvents>,
    workflowId: REFAN_SCHEDULE_ID,
    staticSummary: REFAN_SUMMARY,
  };
  try {
    await temporal.schedule.create({
      scheduleId: REFAN_SCHEDULE_ID,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
      // The Web UI shows the note as the schedule's Notes: what it is for, in words.
      state: { note: REFAN_SUMMARY },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await temporal.schedule.getHandle(REFAN_SCHEDULE_ID).update((previous) => ({ ...previous, spec, action, state: { ...previous.state, note: REFAN_SUMMARY } }));
  }
}
