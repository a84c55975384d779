import { activityInfo } from '@temporalio/activity';
import { ATTEMPT_REPORT_SIGNAL } from '../delivery/signals.js';
import type { AttemptReport } from '../workflows/messages.js';
import type { ActivityDeps } from './create-activities.js';

/**
 * Tells the delivery workflow what its pending send activity is waiting for, so its current details say it in
 * words. Best effort and not awaited: the attempt's own answer to Temporal is what counts, and a report lost
 * with Temporal away only leaves the details one attempt behind.
 */
export function reportToWorkflow(deps: Pick<ActivityDeps, 'starter' | 'logger'>, report: AttemptReport): void {
  const execution = activityInfo().workflowExecution;
  if (!execution) return;
  const { workflowId, runId } = execution;
  const lost = (err: unknown) => deps.logger.debug({ err, workflowId }, 'attempt report not delivered to the workflow');
  try {
    deps.starter.temporal.workflow.getHandle(workflowId, runId).signal(ATTEMPT_REPORT_SIGNAL, report).catch(lost);
  } catch (err) {
    // Never let the report break the attempt it reports on (that answer already went to the table).
    lost(err);
  }
}
