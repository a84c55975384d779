import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { z } from 'zod';
import { DeliveryNotEligibleError, DeliveryNotFoundError, ForbiddenError, ValidationError, WebhookNotFoundError } from '../errors.js';
import { findDelivery, findDeliveryByPair, getDeliveryWithAttempts, listDeliveries, type ListDeliveriesFilter } from '../store/deliveries.js';
import { findEvent } from '../store/events.js';
import { DELIVERY_STATUSES } from '../store/schema.js';
import { findWebhook } from '../store/webhooks.js';
import type { deliverWebhookV4 } from '../workflows/deliver-webhook.js';
import { deliveryResult } from '../delivery/delivery-result.js';
import type { DeliverWebhookResult } from '../workflows/messages.js';
import { starterOf, type ClientContext } from './context.js';
import { storeEvent } from './events-api.js';
import { startDelivery, startRedeliveryOfFinished, type StartedDelivery } from '../delivery/start-delivery.js';
import { resolveTenant, TenantId } from './tenant.js';
import { EventId, EventTime, EventType, parseOrThrow, payloadJson, toEpochMs } from './validation.js';

export const DeliverInput = z.strictObject({
  webhookId: z.string().min(1, 'must not be empty').max(64, 'must be at most 64 characters'),
  eventId: EventId,
  eventType: EventType,
  payload: z.unknown(),
  /** When the event happened; defaults to now. */
  eventTime: EventTime.optional(),
  tenantId: TenantId.optional(),
});
export type DeliverInput = z.input<typeof DeliverInput>;

const EpochMs = z.union([z.number().int('must be epoch milliseconds'), z.date()], 'must be epoch milliseconds or a Date');
/**
 * Checked here, so a bad filter is a ValidationError naming the caller's field (not the engine's error naming a
 * column) and a misspelt one is refused instead of silently listing everything. `limit` and `cursor` are
 * checked by the store.
 */
const ListDeliveriesInput = z.strictObject({
  tenantId: z.string().optional(),
  status: z.enum(DELIVERY_STATUSES).optional(),
  webhookId: z.string().optional(),
  eventId: z.string().optional(),
  eventType: z.string().optional(),
  since: EpochMs.optional(),
  until: EpochMs.optional(),
  limit: z.unknown().optional(),
  cursor: z.string().optional(),
});

const REDELIVERABLE = new Set(['dead', 'success', 'cancelled', 'skipped']);

export function deliveriesApi(ctx: ClientContext) {
  const scoped = async (id: string) => {
    const delivery = await findDelivery(ctx.store, id, ctx.scope);
    if (!delivery) throw new DeliveryNotFoundError(id);
    return delivery;
  };

  return {
    /**
     * Delivers one event to one webhook (no fan-out), at most once per (event, webhook): a repeated call —
     * concurrent or long after — returns the existing delivery and sends nothing.
     */
    async deliver(raw: DeliverInput): Promise<StartedDelivery> {
      const input = parseOrThrow(DeliverInput, raw);
      // The webhook names the tenant: an admin caller need not repeat it; a scoped one sees only its own.
      const requested = ctx.scope === undefined && input.tenantId === undefined ? undefined : resolveTenant(ctx.scope, input.tenantId);
      const json = payloadJson(input.payload, ctx.maxPayloadBytes);
      const webhook = await findWebhook(ctx.store, input.webhookId, requested);
      if (!webhook) throw new WebhookNotFoundError(input.webhookId);
      const tenantId = webhook.tenantId;
      if (!webhook.active) throw new ValidationError('webhookId', `webhook ${webhook.id} is disabled (${webhook.disabledReason ?? 'by an operator'})`);
      // The table's unique (event, webhook) key remembers deliveries longer than Temporal's retention does.
      const known = await findDeliveryByPair(ctx.store, input.eventId, webhook.id);
      if (known) return { deliveryId: known.id, workflowId: known.workflowId, runId: known.runId ?? '' };
      // `direct`: this event goes to the one webhook named, so the re-fan schedule must not fan it out.
      const { event } = await storeEvent(ctx, { tenantId, eventId: input.eventId, eventType: input.eventType, eventTimeMs: toEpochMs(input.eventTime, ctx.clock()), payloadJson: json, status: 'direct' });
      return await startDelivery(starterOf(ctx), webhook, event);
    },

    /** The delivery row, its attempt log (this run's), and the event payload it sends. */
    async get(id: string) {
      const delivery = await getDeliveryWithAttempts(ctx.store, id, ctx.scope);
      const event = await findEvent(ctx.store, delivery.tenantId, delivery.eventId);
      return { ...delivery, payload: event?.payload ?? null };
    },

    async attempts(id: string) {
      return (await getDeliveryWithAttempts(ctx.store, id, ctx.scope)).attemptLog;
    },

    list: async (filter: ListDeliveriesFilter = {}) => {
      parseOrThrow(ListDeliveriesInput, filter);
      return await listDeliveries(ctx.store, { ...filter, tenantId: ctx.scope ?? filter.tenantId });
    },

    /**
     * Sends a finished (or skipped) delivery again as a new run under the same workflow id: same delivery
     * id, same `webhook-id`, attempts counted from 1.
     */
    async redeliver(id: string): Promise<StartedDelivery> {
      const delivery = await scoped(id);
      if (!REDELIVERABLE.has(delivery.status)) {
        throw new DeliveryNotEligibleError(id, delivery.status, 'redeliver (only dead, success, cancelled or skipped deliveries can be)');
      }
      const webhook = await findWebhook(ctx.store, delivery.webhookId, delivery.tenantId);
      if (!webhook) throw new WebhookNotFoundError(delivery.webhookId, 'was deleted; its deliveries cannot be redelivered');
      if (!webhook.active) throw new DeliveryNotEligibleError(id, delivery.status, `redeliver: webhook ${webhook.id} is disabled`);
      try {
        return await startRedeliveryOfFinished(starterOf(ctx), webhook, delivery);
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) throw new DeliveryNotEligibleError(id, 'running', 'redeliver');
        throw err;
      }
    },

    /** Stops a pending delivery: no more attempts; its status becomes `cancelled`. */
    async cancel(id: string): Promise<void> {
      const delivery = await scoped(id);
      if (delivery.status !== 'pending' && delivery.status !== 'in_flight') {
        throw new DeliveryNotEligibleError(id, delivery.status, 'cancel (only pending or in-flight deliveries can be)');
      }
      await ctx.temporal.workflow.getHandle(delivery.workflowId, delivery.runId ?? undefined).cancel();
    },

    /** Waits for the current run of a delivery to finish. */
    async result(id: string): Promise<DeliverWebhookResult> {
      const delivery = await scoped(id);
      return await deliveryResult(ctx.temporal.workflow.getHandle<typeof deliverWebhookV4>(delivery.workflowId, delivery.runId ?? undefined));
    },

    /**
     * The Temporal handle of a delivery's workflow (history, describe, result, cancel). Admin only: a handle
     * reaches any workflow by id, so a tenant-scoped client has none.
     */
    handle(workflowId: string, runId?: string) {
      if (ctx.scope !== undefined) throw new ForbiddenError('workflow handles are for admin clients only');
      return ctx.temporal.workflow.getHandle<typeof deliverWebhookV4>(workflowId, runId);
    },

  };
}
