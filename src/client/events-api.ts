import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { z } from 'zod';
import { ConflictError, EventNotFoundError } from '../errors.js';
import { findEvent, recordEvent, type StoredEvent } from '../store/events.js';
import { fanOutEvent } from '../workflows/fan-out-event.js';
import type { ClientContext } from './context.js';
import { resolveTenant, TenantId } from './tenant.js';
import { EventId, EventTime, EventType, newEventId, parseOrThrow, payloadJson, toEpochMs } from './validation.js';

export const PublishInput = z.strictObject({
  /** Defaults to a generated id. Publishing the same id again is the same event. */
  id: EventId.optional(),
  type: EventType,
  payload: z.unknown(),
  /** When it happened; defaults to now. */
  time: EventTime.optional(),
  tenantId: TenantId.optional(),
  /** Tuning for very large fan-outs (tests use small values to exercise continue-as-new). */
  fanOut: z.strictObject({ batchSize: z.number().int().min(1).max(1000).optional(), batchesPerRun: z.number().int().min(1).max(1000).optional() }).optional(),
});
export type PublishInput = z.input<typeof PublishInput>;

export interface Published {
  eventId: string;
  tenantId: string;
  /** The fan-out workflow delivering it, and its first run. */
  workflowId: string;
  runId: string;
  /** False when this id was already published: nothing new happened. */
  created: boolean;
}

export function fanOutWorkflowId(tenantId: string, eventId: string): string {
  return `fanout:${tenantId}:${eventId}`;
}

/** Stores the event under its (tenant, id), refusing a different event under an id already used. */
export async function storeEvent(ctx: ClientContext, input: { tenantId: string; eventId: string; eventType: string; eventTimeMs: number; payloadJson: string }) {
  const stored = await recordEvent(ctx.store, input, ctx.clock());
  if (!stored.created && (stored.event.eventType !== input.eventType || JSON.stringify(stored.event.payload) !== input.payloadJson)) {
    throw new ConflictError(`event ${input.eventId} was already published with a different type or payload`);
  }
  return stored;
}

export function eventsApi(ctx: ClientContext) {
  return {
    /**
     * Stores the event and starts its durable fan-out. Once this returns, every matching webhook will get it
     * (or a `skipped` row if disabled), even if the caller crashes.
     */
    async publish(raw: PublishInput): Promise<Published> {
      const input = parseOrThrow(PublishInput, raw);
      const tenantId = resolveTenant(ctx.scope, input.tenantId);
      const json = payloadJson(input.payload, ctx.maxPayloadBytes);
      const eventId = input.id ?? newEventId();
      const now = ctx.clock();
      const { event, created } = await storeEvent(ctx, { tenantId, eventId, eventType: input.type, eventTimeMs: toEpochMs(input.time, now), payloadJson: json });
      const workflowId = fanOutWorkflowId(tenantId, eventId);
      let runId: string;
      try {
        const handle = await ctx.temporal.workflow.start(fanOutEvent, {
          taskQueue: ctx.taskQueue,
          workflowId,
          args: [{ tenantId, eventId, eventType: event.eventType, publishedAtMs: event.createdAt, ...input.fanOut }],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          workflowIdConflictPolicy: 'USE_EXISTING',
          staticSummary: `fan out ${event.eventType} (tenant ${tenantId})`,
        });
        runId = handle.firstExecutionRunId;
      } catch (err) {
        // Fanned out already: publishing is idempotent.
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        const description = await ctx.temporal.workflow.getHandle(workflowId).describe();
        runId = description.raw.workflowExecutionInfo?.firstRunId || description.runId;
      }
      return { eventId, tenantId, workflowId, runId, created };
    },

    async get(eventId: string, tenantId?: string): Promise<StoredEvent> {
      const tenant = resolveTenant(ctx.scope, tenantId);
      const event = await findEvent(ctx.store, tenant, eventId);
      if (!event) throw new EventNotFoundError(eventId);
      return event;
    },

    /** Waits until the fan-out has started (or skipped) every matching delivery. */
    async fanOutResult(eventId: string, tenantId?: string) {
      const tenant = resolveTenant(ctx.scope, tenantId);
      return await ctx.temporal.workflow.getHandle<typeof fanOutEvent>(fanOutWorkflowId(tenant, eventId)).result();
    },
  };
}
