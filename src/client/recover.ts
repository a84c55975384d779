import { z } from 'zod';
import { ConflictError, ValidationError, WebhookNotFoundError } from '../errors.js';
import { findWebhook, parseOrThrow } from '../store/webhooks.js';
import type { RecoverProgress, RecoverWebhookResult } from '../workflows/messages.js';
import { recoverProgressQuery } from '../workflows/queries.js';
import { recoverWebhook } from '../workflows/recover-webhook.js';
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
  const handle = await ctx.temporal.workflow.start(recoverWebhook, {
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
