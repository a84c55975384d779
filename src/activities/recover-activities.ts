import { ApplicationFailure, heartbeat } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { FailureType } from '../delivery/failure-types.js';
import { startRedeliveryOfFinished } from '../delivery/start-delivery.js';
import { listRecoverable } from '../store/deliveries.js';
import { findWebhook } from '../store/webhooks.js';
import type { RecoverBatchInput, RecoverBatchResult } from '../workflows/messages.js';
import type { ActivityDeps } from './create-activities.js';

export function createRecoverActivities(deps: ActivityDeps) {
  const { store } = deps;
  return {
    /** One page of a webhook's dead and skipped deliveries, each redelivered as a new run. */
    async recoverBatch(input: RecoverBatchInput): Promise<RecoverBatchResult> {
      const webhook = await findWebhook(store, input.webhookId, input.tenantId);
      if (!webhook) throw ApplicationFailure.nonRetryable(`webhook ${input.webhookId} was deleted`, FailureType.WebhookUnavailable);
      if (!webhook.active) throw ApplicationFailure.nonRetryable(`webhook ${input.webhookId} is disabled; enable it before recovering`, FailureType.WebhookUnavailable);
      const page = await listRecoverable(store, { ...input });
      let redelivered = 0;
      for (const delivery of page.items) {
        try {
          await startRedeliveryOfFinished(deps.starter, webhook, {
            tenantId: delivery.tenantId,
            eventId: delivery.eventId,
            eventType: delivery.eventType,
            eventTimeMs: delivery.eventTimeMs,
          });
          redelivered += 1;
        } catch (err) {
          // Already running again (a retried page, or an operator's redeliver): nothing to do.
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        }
        heartbeat({ redelivered });
      }
      return { nextCursor: page.nextCursor, redelivered, scanned: page.items.length };
    },
  };
}
