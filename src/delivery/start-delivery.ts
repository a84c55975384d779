/**
 * How a delivery is started: its ids, its dedup policies and its search attributes. The client (publish,
 * deliver, redeliver) and the activities (fan-out, recovery, re-fan) both start deliveries, so the rule lives
 * here, in neither. Workflows are started by type name with `import type` for their signatures, so nothing
 * outside the worker loads workflow code.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Webhook } from '../store/webhooks.js';
import type { deliverWebhookV4 } from '../workflows/deliver-webhook.js';
import type { fanOutEvent } from '../workflows/fan-out-event.js';
import type { DeliverWebhookInput, FanOutEventInput } from '../workflows/messages.js';
import { HERALD_DELIVERY_STATUS, HERALD_EVENT_ID, HERALD_EVENT_TYPE, HERALD_TENANT_ID, HERALD_WEBHOOK_ID } from './search-attributes.js';
import { deliveryId, deliveryWorkflowId, fanOutWorkflowId } from './ids.js';
import { maxAttemptsOf } from './retry-schedule.js';
import { markdownText } from './markdown.js';

/** The workflow type every new delivery runs (the fast-path lifecycle in workflows/deliver-webhook.ts). */
export const DELIVERY_WORKFLOW_TYPE = 'deliverWebhookV4';
export const FAN_OUT_WORKFLOW_TYPE = 'fanOutEvent';

/** Where deliveries start: the Temporal client, Herald's task queue, and whether the server indexes Herald's attributes. */
export interface DeliveryStarter {
  temporal: Client;
  taskQueue: string;
  searchAttributes: boolean;
  /**
   * Ask for eager workflow start: the server hands the first workflow task straight back to a worker in this
   * process. Only true where the client runs over the worker's own NativeConnection (the all-in-one process,
   * the activities); elsewhere the request would be ignored.
   */
  eager?: boolean;
  /** Told about every start that created a run (the metrics count eager ones). */
  onStarted?: (started: { eager: boolean }) => void;
}

export interface EventRef {
  tenantId: string;
  eventId: string;
  eventType: string;
  eventTimeMs: number;
}

export interface StartedDelivery {
  deliveryId: string;
  workflowId: string;
  /** The run delivering (or that delivered): the same for every repeated start of the pair. */
  runId: string;
}

function startOptions(starter: DeliveryStarter, webhook: Webhook, args: DeliverWebhookInput, workflowId: string) {
  return {
    taskQueue: starter.taskQueue,
    workflowId,
    args: [args] as [DeliverWebhookInput],
    staticSummary: `${webhook.method} ${new URL(webhook.url).host} · ${args.eventType}`,
    staticDetails: markdownText(`delivery ${args.deliveryId} of event ${args.eventId} (tenant ${args.tenantId}) to webhook ${webhook.id}`),
    // Every attribute, the status included, is set here; the workflow upserts the status once, at the end.
    typedSearchAttributes: starter.searchAttributes
      ? [
          { key: HERALD_WEBHOOK_ID, value: webhook.id },
          { key: HERALD_EVENT_ID, value: args.eventId },
          { key: HERALD_EVENT_TYPE, value: args.eventType },
          { key: HERALD_TENANT_ID, value: args.tenantId },
          { key: HERALD_DELIVERY_STATUS, value: 'pending' },
        ]
      : [],
    ...(starter.eager ? { requestEagerStart: true } : {}),
  };
}

export function deliveryInput(webhook: Webhook, event: EventRef): DeliverWebhookInput {
  return {
    deliveryId: deliveryId(webhook.id, event.eventId),
    webhookId: webhook.id,
    tenantId: event.tenantId,
    eventId: event.eventId,
    eventType: event.eventType,
    eventTimeMs: event.eventTimeMs,
    maxAttempts: maxAttemptsOf(webhook.retrySchedule),
    attemptTimeoutMs: webhook.timeoutMs,
    endpointHost: new URL(webhook.url).host,
  };
}

/**
 * Starts the delivery of an event to a webhook at most once: REJECT_DUPLICATE (a finished delivery is not
 * started again) and USE_EXISTING (a running one is returned), so concurrent and repeated calls converge
 * on one workflow and one POST.
 */
export async function startDelivery(starter: DeliveryStarter, webhook: Webhook, event: EventRef): Promise<StartedDelivery> {
  const args = deliveryInput(webhook, event);
  const workflowId = deliveryWorkflowId(webhook.id, event.eventId);
  try {
    const handle = await starter.temporal.workflow.start<typeof deliverWebhookV4>(DELIVERY_WORKFLOW_TYPE, {
      ...startOptions(starter, webhook, args, workflowId),
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    starter.onStarted?.({ eager: handle.eagerlyStarted });
    return { deliveryId: args.deliveryId, workflowId, runId: handle.firstExecutionRunId };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const description = await starter.temporal.workflow.getHandle(workflowId).describe();
    return { deliveryId: args.deliveryId, workflowId, runId: description.runId };
  }
}

/**
 * The explicit new run of a finished delivery under the same workflow id (ALLOW_DUPLICATE on this one call;
 * FAIL if a run is still open, which the caller turns into "not eligible").
 */
export async function startRedelivery(starter: DeliveryStarter, webhook: Webhook, event: EventRef): Promise<StartedDelivery> {
  const args = deliveryInput(webhook, event);
  const workflowId = deliveryWorkflowId(webhook.id, event.eventId);
  const handle = await starter.temporal.workflow.start<typeof deliverWebhookV4>(DELIVERY_WORKFLOW_TYPE, {
    ...startOptions(starter, webhook, args, workflowId),
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    workflowIdConflictPolicy: 'FAIL',
  });
  starter.onStarted?.({ eager: handle.eagerlyStarted });
  return { deliveryId: args.deliveryId, workflowId, runId: handle.firstExecutionRunId };
}

/** How long a redelivery waits for a run whose table row is already final to close. */
export const CLOSING_RUN_WAIT_MS = 10_000;

/**
 * A redelivery of a delivery the table already shows as finished. The run writes its final row a moment
 * before it closes; a redelivery in that window waits for the close instead of being refused.
 */
export async function startRedeliveryOfFinished(starter: DeliveryStarter, webhook: Webhook, event: EventRef): Promise<StartedDelivery> {
  try {
    return await startRedelivery(starter, webhook, event);
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const running = starter.temporal.workflow.getHandle(deliveryWorkflowId(webhook.id, event.eventId));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      running.result().catch(() => undefined),
      new Promise((resolve) => {
        timer = setTimeout(resolve, CLOSING_RUN_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    return await startRedelivery(starter, webhook, event);
  }
}

/**
 * Starts (or finds) the durable fan-out of an event: keyed by (tenant, event id) with REJECT_DUPLICATE +
 * USE_EXISTING, so publish, a retried publish and the re-fan schedule all converge on one fan-out.
 * Returns the first run's id.
 */
export async function startFanOut(starter: DeliveryStarter, input: FanOutEventInput): Promise<{ workflowId: string; runId: string }> {
  const workflowId = fanOutWorkflowId(input.tenantId, input.eventId);
  try {
    const handle = await starter.temporal.workflow.start<typeof fanOutEvent>(FAN_OUT_WORKFLOW_TYPE, {
      taskQueue: starter.taskQueue,
      workflowId,
      args: [input],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: `fan out ${input.eventType} (tenant ${input.tenantId})`,
    });
    return { workflowId, runId: handle.firstExecutionRunId };
  } catch (err) {
    // Fanned out already: publishing is idempotent.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const description = await starter.temporal.workflow.getHandle(workflowId).describe();
    return { workflowId, runId: description.raw.workflowExecutionInfo?.firstRunId || description.runId };
  }
}
