import { z } from 'zod';
import { WorkflowNotFoundError } from '@temporalio/client';
import { ConflictError, NotFoundError, ValidationError, WebhookNotFoundError } from '../errors.js';
import { findWebhook } from '../store/webhooks.js';
import { parseOrThrow } from './validation.js';
import type { RecoverProgress, RecoverWebhookResult } from '../workflows/messages.js';
import { recoverProgressQuery } from '../delivery/queries.js';
import type { recoverWebhook } from '../workflows/recover-webhook.js';
import type { ClientContext } from './context.js';

export const MAX_RECOVER_WINDOW_MS = 30 * 24 * 60 * 60 * 1000;

export interface RecoverOptions {
  since: Date | number;
  /** Defaults to now. */
  until?: Date | number;
}

export interface RecoverJob {
  workflowId: string;
  runId: string;
  result(): Promise<RecoverWebhookResult>;
  progress(): Promise<RecoverProgress>;
}

const RecoverTime = z.union([z.date(), z.number()], 'must be a Date or epoch milliseconds');
// Strict: a missing `since` or a misspelt `until` must not quietly widen the window.
const RecoverOptionsInput = z.strictObject({ since: RecoverTime, until: RecoverTime.optional() });

function ms(value: Date | number | undefined, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = value instanceof Date ? value.getTime() : value;
  if (!Number.isFinite(n)) throw new ValidationError(field, 'is not a valid time');
  return n;
}

/**
 * Redelivers every `dead` and `skipped` delivery of a webhook created in [since, until), as a durable
 * workflow: resumable, idempotent (the same window again returns the running job), reporting progress.
 */
export async function recover(ctx: ClientContext, webhookId: string, options: RecoverOptions): Promise<RecoverJob> {
  const now = ctx.clock();
  parseOrThrow(RecoverOptionsInput, options);
  const sinceMs = ms(options.since, 'since', NaN);
  const untilMs = ms(options.until, 'until', now);
  if (untilMs <= sinceMs) throw new ValidationError('until', 'must be after since');
  if (untilMs - sinceMs > MAX_RECOVER_WINDOW_MS) throw new ValidationError('since', 'the window may span at most 30 days');
  const webhook = await findWebhook(ctx.store, webhookId, ctx.scope);
  if (!webhook) throw new WebhookNotFoundError(webhookId);
  if (!webhook.active) throw new ConflictError(`webhook ${webhookId} is disabled: enable it before recovering its deliveries`);
  const workflowId = `recover:${webhook.id}:${sinceMs}:${untilMs}`;
  const handle = await ctx.temporal.workflow.start<typeof recoverWebhook>('recoverWebhook', {
    taskQueue: ctx.taskQueue,
    workflowId,
    args: [{ tenantId: webhook.tenantId, webhookId: webhook.id, sinceMs, untilMs }],
    // The same window again while it runs joins it; after it finished, runs again (it only resends what is still dead).
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: `recover ${webhook.id} from ${new Date(sinceMs).toISOString()} to ${new Date(untilMs).toISOString()}`,
  });
  return {
    workflowId,
    runId: handle.firstExecutionRunId,
    result: () => handle.result(),
    progress: () => handle.query(recoverProgressQuery),
  };
}

export interface RecoveryStatus {
  workflowId: string;
  webhookId: string;
  status: 'running' | 'completed' | 'failed' | 'cancelled' | 'terminated' | 'timed_out' | 'continued_as_new' | 'unknown';
  redelivered: number;
  scanned: number;
  done: boolean;
}

const KNOWN_STATUSES = new Set(['running', 'completed', 'failed', 'cancelled', 'terminated', 'timed_out', 'continued_as_new']);

/** `recover:<webhookId>:<sinceMs>:<untilMs>`: the id `recover` gives its job. */
const RECOVERY_ID = /^recover:(.+):(\d+):(\d+)$/;

/**
 * A recovery job's progress, for a caller that can see its webhook (another tenant's job is "not found"):
 * the job's `progress` query while it runs, its result once it finished.
 */
export async function recoveryStatus(ctx: ClientContext, workflowId: string): Promise<RecoveryStatus> {
  const match = RECOVERY_ID.exec(workflowId);
  if (!match) throw new NotFoundError(`recovery ${workflowId}: no such recovery job`);
  const webhookId = match[1]!;
  if (!(await findWebhook(ctx.store, webhookId, ctx.scope))) throw new NotFoundError(`recovery ${workflowId}: no such recovery job`);
  const handle = ctx.temporal.workflow.getHandle<typeof recoverWebhook>(workflowId);
  try {
    const description = await handle.describe();
    const name = description.status.name.toLowerCase();
    const status = (KNOWN_STATUSES.has(name) ? name : 'unknown') as RecoveryStatus['status'];
    if (status === 'completed') {
      const result = await handle.result();
      return { workflowId, webhookId, status, redelivered: result.redelivered, scanned: result.scanned, done: true };
    }
    const progress = await handle.query(recoverProgressQuery);
    return { workflowId, webhookId, status, redelivered: progress.redelivered, scanned: progress.scanned, done: progress.done || status !== 'running' };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new NotFoundError(`recovery ${workflowId}: no such recovery job`);
    throw err;
  }
}
