import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { z } from 'zod';
import { maxAttemptsOf } from '../activities/retry-schedule.js';
import { DeliveryNotEligibleError, DeliveryNotFoundError, ValidationError, WebhookNotFoundError } from '../errors.js';
import type { DataEngine } from '../store/data-engine.js';
import { findDelivery, findDeliveryByPair, getDeliveryWithAttempts, listDeliveries, type ListDeliveriesFilter } from '../store/deliveries.js';
import { createWebhook, deleteWebhook, findWebhook, getWebhook, parseOrThrow, type CreateWebhookInput, type Webhook } from '../store/webhooks.js';
import { deliverWebhook } from '../workflows/deliver-webhook.js';
import type { DeliverWebhookInput, DeliverWebhookResult } from '../workflows/messages.js';
import { HERALD_DELIVERY_STATUS, HERALD_EVENT_ID, HERALD_EVENT_TYPE, HERALD_TENANT_ID, HERALD_WEBHOOK_ID } from '../workflows/search-attributes.js';
import { deliveryId as makeDeliveryId, deliveryWorkflowId } from './ids.js';

export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024;
// Printable ASCII without spaces (ids go into headers and workflow ids) and without '.', which Standard
// Webhooks forbids in the signed id.
const ID_PATTERN = /^[\x21-\x2d\x2f-\x7e]+$/;

export const DeliverInput = z.object({
  webhookId: z.string().min(1, 'must not be empty').max(64, 'must be at most 64 characters'),
  eventId: z.string().min(1, 'must not be empty').max(128, 'must be at most 128 characters').regex(ID_PATTERN, 'must be printable ASCII without spaces or "."'),
  eventType: z
    .string()
    .min(1, 'must not be empty')
    .max(128, 'must be at most 128 characters')
    .regex(/^[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*$/, 'must be dot-separated names of [a-zA-Z0-9_-]'),
  payload: z.unknown(),
  /** When the event happened; defaults to now. */
  eventTime: z.union([z.date(), z.number().int().nonnegative()]).optional(),
  tenantId: z.string().min(1).max(128).optional(),
});
export type DeliverInput = z.input<typeof DeliverInput>;

export interface StartedDelivery {
  deliveryId: string;
  workflowId: string;
  /** The run now delivering (or that delivered): the same for every repeated start of the pair. */
  runId: string;
}

export interface HeraldClientOptions {
  temporal: Client;
  store: DataEngine;
  taskQueue: string;
  maxPayloadBytes?: number;
  clock?: () => number;
  /**
   * Start deliveries with Herald's search attributes (default true). Only for servers that cannot register
   * custom attributes, such as the time-skipping test server; the workflow then skips its status upserts.
   */
  searchAttributes?: boolean;
}

/**
 * The only way into Herald from outside: it owns the task queue, the delivery id scheme and the dedup
 * policies. Inputs are validated here, before anything is started or written.
 */
export class HeraldClient {
  readonly #temporal: Client;
  readonly #store: DataEngine;
  readonly #taskQueue: string;
  readonly #maxPayloadBytes: number;
  readonly #clock: () => number;
  readonly #searchAttributes: boolean;

  constructor(opts: HeraldClientOptions) {
    this.#temporal = opts.temporal;
    this.#store = opts.store;
    this.#taskQueue = opts.taskQueue;
    this.#maxPayloadBytes = opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.#clock = opts.clock ?? Date.now;
    this.#searchAttributes = opts.searchAttributes ?? true;
  }

  // ── webhooks (the minimal set the delivery core needs) ──────────────────────────────────────────────
  createWebhook(input: CreateWebhookInput): Promise<{ webhook: Webhook; secret: string }> {
    return createWebhook(this.#store, input, this.#clock());
  }

  getWebhook(id: string, tenantId?: string): Promise<Webhook> {
    return getWebhook(this.#store, id, tenantId);
  }

  deleteWebhook(id: string, tenantId?: string): Promise<void> {
    return deleteWebhook(this.#store, id, tenantId, this.#clock());
  }

  // ── deliveries ─────────────────────────────────────────────────────────────────────────────────────
  /**
   * Starts the delivery of one event to one webhook, at most once per (event, webhook): a repeated call —
   * concurrent or long after — returns the existing delivery and sends nothing.
   */
  async deliver(raw: DeliverInput): Promise<StartedDelivery> {
    const input = parseOrThrow(DeliverInput, raw);
    const payloadBytes = jsonSize(input.payload, 'payload');
    if (payloadBytes > this.#maxPayloadBytes) {
      throw new ValidationError('payload', `is ${payloadBytes} bytes of JSON; the limit is ${this.#maxPayloadBytes}`);
    }
    const webhook = await findWebhook(this.#store, input.webhookId, input.tenantId);
    if (!webhook) throw new WebhookNotFoundError(input.webhookId);
    if (!webhook.active) throw new ValidationError('webhookId', `webhook ${webhook.id} is disabled (${webhook.disabledReason ?? 'by an operator'})`);

    const workflowId = deliveryWorkflowId(webhook.id, input.eventId);
    // The table's unique (event, webhook) key remembers deliveries longer than Temporal's retention does.
    const known = await findDeliveryByPair(this.#store, input.eventId, webhook.id);
    if (known) return { deliveryId: known.id, workflowId: known.workflowId, runId: known.runId ?? '' };

    const eventTimeMs = input.eventTime === undefined ? this.#clock() : typeof input.eventTime === 'number' ? input.eventTime : input.eventTime.getTime();
    const args: DeliverWebhookInput = {
      deliveryId: makeDeliveryId(webhook.id, input.eventId),
      webhookId: webhook.id,
      tenantId: webhook.tenantId,
      eventId: input.eventId,
      eventType: input.eventType,
      eventTimeMs,
      payload: input.payload ?? null,
      maxAttempts: maxAttemptsOf(webhook.retrySchedule),
      attemptTimeoutMs: webhook.timeoutMs,
    };
    try {
      const handle = await this.#start(webhook, args, workflowId, 'REJECT_DUPLICATE');
      return { deliveryId: args.deliveryId, workflowId, runId: handle.firstExecutionRunId };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      const description = await this.#temporal.workflow.getHandle(workflowId).describe();
      return { deliveryId: args.deliveryId, workflowId, runId: description.runId };
    }
  }

  /**
   * Sends a finished delivery again as a new run under the same workflow id: same delivery id, same
   * `webhook-id`, attempts counted from 1.
   */
  async redeliver(deliveryId: string, tenantId?: string): Promise<StartedDelivery> {
    const delivery = await findDelivery(this.#store, deliveryId, tenantId);
    if (!delivery) throw new DeliveryNotFoundError(deliveryId);
    if (delivery.status !== 'dead' && delivery.status !== 'success' && delivery.status !== 'cancelled') {
      throw new DeliveryNotEligibleError(deliveryId, delivery.status, 'redeliver (only dead, success or cancelled deliveries can be)');
    }
    const webhook = await findWebhook(this.#store, delivery.webhookId);
    if (!webhook) throw new WebhookNotFoundError(delivery.webhookId, 'was deleted; its deliveries cannot be redelivered');
    if (!webhook.active) throw new DeliveryNotEligibleError(deliveryId, delivery.status, `redeliver: webhook ${webhook.id} is disabled`);
    const args: DeliverWebhookInput = {
      deliveryId: delivery.id,
      webhookId: webhook.id,
      tenantId: delivery.tenantId,
      eventId: delivery.eventId,
      eventType: delivery.eventType,
      eventTimeMs: delivery.eventTimeMs,
      payload: delivery.payload,
      maxAttempts: maxAttemptsOf(webhook.retrySchedule),
      attemptTimeoutMs: webhook.timeoutMs,
    };
    try {
      // ALLOW_DUPLICATE on this one call: the explicit new run; FAIL if a run is somehow still open.
      const handle = await this.#start(webhook, args, delivery.workflowId, 'ALLOW_DUPLICATE', 'FAIL');
      return { deliveryId: delivery.id, workflowId: delivery.workflowId, runId: handle.firstExecutionRunId };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new DeliveryNotEligibleError(deliveryId, 'running', 'redeliver');
      throw err;
    }
  }

  /** Stops a pending delivery: no more attempts; its status becomes `cancelled`. */
  async cancel(deliveryId: string, tenantId?: string): Promise<void> {
    const delivery = await findDelivery(this.#store, deliveryId, tenantId);
    if (!delivery) throw new DeliveryNotFoundError(deliveryId);
    if (delivery.status !== 'pending' && delivery.status !== 'in_flight') {
      throw new DeliveryNotEligibleError(deliveryId, delivery.status, 'cancel (only pending or in-flight deliveries can be)');
    }
    await this.#temporal.workflow.getHandle(delivery.workflowId, delivery.runId ?? undefined).cancel();
  }

  /** Waits for the current run of a delivery to finish. */
  async result(deliveryId: string, tenantId?: string): Promise<DeliverWebhookResult> {
    const delivery = await findDelivery(this.#store, deliveryId, tenantId);
    if (!delivery) throw new DeliveryNotFoundError(deliveryId);
    return await this.#temporal.workflow.getHandle<typeof deliverWebhook>(delivery.workflowId, delivery.runId ?? undefined).result();
  }

  handle(workflowId: string, runId?: string): WorkflowHandle<typeof deliverWebhook> {
    return this.#temporal.workflow.getHandle<typeof deliverWebhook>(workflowId, runId);
  }

  getDelivery(deliveryId: string, tenantId?: string) {
    return getDeliveryWithAttempts(this.#store, deliveryId, tenantId);
  }

  listDeliveries(filter: ListDeliveriesFilter = {}) {
    return listDeliveries(this.#store, filter);
  }

  async #start(webhook: Webhook, args: DeliverWebhookInput, workflowId: string, reuse: 'REJECT_DUPLICATE' | 'ALLOW_DUPLICATE', conflict: 'USE_EXISTING' | 'FAIL' = 'USE_EXISTING') {
    return await this.#temporal.workflow.start(deliverWebhook, {
      taskQueue: this.#taskQueue,
      workflowId,
      args: [args],
      workflowIdReusePolicy: reuse,
      workflowIdConflictPolicy: conflict,
      staticSummary: `${webhook.method} ${new URL(webhook.url).host} · ${args.eventType}`,
      staticDetails: `delivery ${args.deliveryId} of event ${args.eventId} to webhook ${webhook.id}`,
      typedSearchAttributes: this.#searchAttributes
        ? [
            { key: HERALD_WEBHOOK_ID, value: webhook.id },
            { key: HERALD_EVENT_ID, value: args.eventId },
            { key: HERALD_EVENT_TYPE, value: args.eventType },
            { key: HERALD_TENANT_ID, value: args.tenantId },
            { key: HERALD_DELIVERY_STATUS, value: 'pending' },
          ]
        : [],
    });
  }
}

function jsonSize(value: unknown, field: string): number {
  let text: string | undefined;
  try {
    text = JSON.stringify(value ?? null);
  } catch (err) {
    throw new ValidationError(field, `is not JSON-serialisable (${(err as Error).message})`);
  }
  if (text === undefined) throw new ValidationError(field, 'is not JSON-serialisable');
  return Buffer.byteLength(text, 'utf8');
}
