import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { fanOutStoredEvent, type FannedOutDelivery } from '../delivery/fan-out.js';
import { fanOutWorkflowId } from '../delivery/ids.js';
import { ConflictError, EventNotFoundError } from '../errors.js';
import { countSkippedDeliveries } from '../store/deliveries.js';
import { findEvent, recordEvent, type StoredEvent } from '../store/events.js';
import type { fanOutEvent } from '../workflows/fan-out-event.js';
import type { FanOutEventResult } from '../workflows/messages.js';
import { inSpan } from '../telemetry/spans.js';
import { starterOf, type ClientContext } from './context.js';
import { resolveTenant, TenantId } from './tenant.js';
import { EventId, EventTime, EventType, newEventId, parseOrThrow, payloadJson, toEpochMs } from './validation.js';

/** Fan-outs up to this many subscribers are started by publish itself; larger ones run the fanOutEvent workflow. */
export const DEFAULT_DIRECT_FAN_OUT_LIMIT = 100;

export const PublishInput = z.strictObject({
  /** Defaults to a generated id. Publishing the same id again is the same event. */
  id: EventId.optional(),
  type: EventType,
  payload: z.unknown(),
  /** When it happened; defaults to now. */
  time: EventTime.optional(),
  tenantId: TenantId.optional(),
  /** Tuning for very large fan-outs (tests use small values to exercise the workflow path and continue-as-new). */
  fanOut: z
    .strictObject({
      batchSize: z.number().int().min(1).max(1000).optional(),
      batchesPerRun: z.number().int().min(1).max(1000).optional(),
      /** Up to this many subscribers publish starts the deliveries itself (default: the client's setting). */
      directLimit: z.number().int().min(0).max(1000).optional(),
    })
    .optional(),
});
export type PublishInput = z.input<typeof PublishInput>;

export interface Published {
  eventId: string;
  tenantId: string;
  eventType: string;
  /** `direct`: publish started every delivery itself; `workflow`: the durable fan-out workflow is starting them. */
  fanOut: 'direct' | 'workflow';
  /** The fan-out workflow and its first run (`workflow` fan-outs only). */
  workflowId: string | null;
  runId: string | null;
  /** The deliveries the event makes (ids are deterministic), at most MAX_LISTED_DELIVERIES (delivery/fan-out.ts). */
  deliveries: FannedOutDelivery[];
  deliveriesTruncated: boolean;
  /** False when this id was already published: nothing new happened. */
  created: boolean;
}

/** Stores the event under its (tenant, id), refusing a different event under an id already used. */
export async function storeEvent(ctx: ClientContext, input: { tenantId: string; eventId: string; eventType: string; eventTimeMs: number; payloadJson: string; status?: 'fanning_out' | 'direct' }) {
  const stored = await recordEvent(ctx.store, input, ctx.clock());
  if (!stored.created && (stored.event.eventType !== input.eventType || JSON.stringify(stored.event.payload) !== input.payloadJson)) {
    throw new ConflictError(`event ${input.eventId} was already published with a different type or payload`);
  }
  return stored;
}

/** Fans the stored event out (`fanOutStoredEvent`, shared with Herald's operational events) with the client's limit. */
export async function fanOut(ctx: ClientContext, event: StoredEvent, tuning: PublishInput['fanOut'] = {}): Promise<Omit<Published, 'created'>> {
  const deps = { store: ctx.store, starter: starterOf(ctx), clock: ctx.clock };
  const outcome = await fanOutStoredEvent(deps, event, { ...tuning, directLimit: tuning.directLimit ?? ctx.directFanOutLimit });
  return { eventId: event.eventId, tenantId: event.tenantId, eventType: event.eventType, ...outcome };
}

/** How long `fanOutResult` waits for a direct fan-out that a crash left unfinished (the re-fan schedule repairs it). */
const FAN_OUT_WAIT_MS = 5 * 60_000;

export function eventsApi(ctx: ClientContext) {
  return {
    /**
     * Stores the event, then fans it out. Once the event is stored, every matching webhook will get it (or a
     * `skipped` row if disabled) even if this call fails half-way or the caller crashes: the re-fan schedule
     * finishes any fan-out still open after a minute.
     */
    async publish(raw: PublishInput): Promise<Published> {
      // The root of the event's trace: every delivery start, workflow, activity and HTTP attempt descends from it.
      return await inSpan('herald.publish', {}, async (span) => {
        const input = parseOrThrow(PublishInput, raw);
        const tenantId = resolveTenant(ctx.scope, input.tenantId);
        const json = payloadJson(input.payload, ctx.maxPayloadBytes);
        const eventId = input.id ?? newEventId();
        // Ids and the type only: the payload never goes into a span.
        span.setAttributes({ 'herald.event.id': eventId, 'herald.event.type': input.type, 'herald.tenant.id': tenantId });
        const now = ctx.clock();
        const { event, created } = await storeEvent(ctx, { tenantId, eventId, eventType: input.type, eventTimeMs: toEpochMs(input.time, now), payloadJson: json });
        const published = { ...(await fanOut(ctx, event, input.fanOut)), created };
        span.setAttributes({ 'herald.fan_out': published.fanOut, 'herald.event.created': created });
        return published;
      });
    },

    async get(eventId: string, tenantId?: string): Promise<StoredEvent> {
      const tenant = resolveTenant(ctx.scope, tenantId);
      const event = await findEvent(ctx.store, tenant, eventId);
      if (!event) throw new EventNotFoundError(eventId);
      return event;
    },

    /** Waits until the fan-out has started (or skipped) every matching delivery. */
    async fanOutResult(eventId: string, tenantId?: string): Promise<FanOutEventResult> {
      const tenant = resolveTenant(ctx.scope, tenantId);
      try {
        return await ctx.temporal.workflow.getHandle<typeof fanOutEvent>(fanOutWorkflowId(tenant, eventId)).result();
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
      // A direct fan-out: done when the event says so.
      const deadline = Date.now() + FAN_OUT_WAIT_MS;
      for (;;) {
        const event = await findEvent(ctx.store, tenant, eventId);
        if (!event) throw new EventNotFoundError(eventId);
        if (event.status === 'fanned_out') {
          const matched = event.matchedCount ?? 0;
          const skipped = await countSkippedDeliveries(ctx.store, tenant, eventId);
          return { eventId, tenantId: tenant, matched, started: matched - skipped, skipped };
        }
        if (Date.now() > deadline) throw new Error(`the fan-out of event ${eventId} did not finish within ${FAN_OUT_WAIT_MS / 1000} s`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
  };
}
