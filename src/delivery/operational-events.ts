/**
 * Herald's operational events: what Herald itself publishes into a tenant's stream when one of the tenant's
 * endpoints changes health or a delivery dies. They are ordinary events from there on (stored, fanned out by
 * the same rule, signed and retried like any other), with three differences:
 *
 * - Their types live under `herald.`, which tenants cannot publish (client/validation.ts), and which a
 *   catch-all `*` filter does not match (store/event-type-filter.ts): only webhooks that name them get them.
 * - Their ids are deterministic per occurrence (`operationalEventId`), so an activity that reports the same
 *   transition twice (a retry, a second worker) publishes one event and starts each delivery once.
 * - No loops. An operational event is never delivered to the webhook it is about (fan-out.ts,
 *   `operationalSubjectOf`), and a dead delivery of an operational event publishes nothing. So a webhook's
 *   failures to receive `herald.*` events never produce events sent to itself, and the only traffic they can
 *   cause is one event per breaker transition or death of *another* webhook: it cannot feed itself.
 *   We exclude the subject rather than suppress every transition of a webhook that subscribes to `herald.*`,
 *   so an operator with two operational endpoints (a primary and a pager) still hears when one of them breaks.
 *
 * This module must not import src/client: the worker's activities call it.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { DataEngine } from '../store/data-engine.js';
import { isOperationalEventType } from '../store/event-type-filter.js';
import { recordEvent } from '../store/events.js';
import { fanOutStoredEvent, findSubscribers } from './fan-out.js';
import type { DeliveryStarter } from './start-delivery.js';

/**
 * One occurrence to report. `occurredAt` (epoch ms) is when it happened as Herald recorded it, and for the
 * webhook transitions it is part of the event id: pass the stored transition time (the breaker's opened-at,
 * closed-at, the webhook's disabled-at), never the clock at the call, so a retry names the same occurrence.
 * A delivery's death is named by (deliveryId, runId): a redelivery is a new run that can die again.
 */
export type OperationalEvent =
  | { type: 'herald.webhook.failing'; tenantId: string; webhookId: string; url: string; consecutiveFailures: number; nextProbeAt: number; occurredAt: number }
  | { type: 'herald.webhook.recovered'; tenantId: string; webhookId: string; url: string; failedForMs: number; occurredAt: number }
  | { type: 'herald.webhook.disabled'; tenantId: string; webhookId: string; url: string; reason: string; occurredAt: number }
  | {
      type: 'herald.delivery.dead';
      tenantId: string;
      deliveryId: string;
      runId: string;
      webhookId: string;
      eventId: string;
      eventType: string;
      attempts: number;
      responseCode: number | null;
      error: string | null;
      occurredAt: number;
    };

export type OperationalEventType = OperationalEvent['type'];

export const OPERATIONAL_EVENT_TYPES: readonly OperationalEventType[] = ['herald.webhook.failing', 'herald.webhook.recovered', 'herald.webhook.disabled', 'herald.delivery.dead'];

export interface OperationalEventDeps {
  store: DataEngine;
  starter: DeliveryStarter;
  clock: () => number;
  logger: Logger;
  /** Up to this many subscribers the call starts the deliveries itself, more go to the fanOutEvent workflow (default 100, publish's). */
  directFanOutLimit?: number;
}

export interface OperationalPublishResult {
  /** True when this call stored the event or finished its fan-out; false with `reason` otherwise. */
  published: boolean;
  eventId: string;
  /** Deliveries the event makes (started, or `skipped` rows for disabled subscribers). */
  deliveries: number;
  reason?: 'operational event about an operational event' | 'no subscriber' | 'already published';
}

/** Publish's default direct fan-out limit (client/events-api.ts, which this module may not import). */
const OPERATIONAL_DIRECT_FAN_OUT_LIMIT = 100;
/** Error texts are cut to this many characters: the event reports a death, it is not the attempt log. */
const MAX_ERROR_CHARS = 1000;
/** Event ids are at most 128 characters without '.' (client/validation.ts); readable ones use this subset. */
const READABLE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The event's id, the same for every report of one occurrence: `herald_<kind>_<webhookId>_<occurredAt>` for
 * webhook transitions, `herald_delivery_dead_<deliveryId>_<runId>` for deaths; hashed when the readable form
 * would be too long or hold characters an event id cannot.
 */
export function operationalEventId(event: OperationalEvent): string {
  const kind = event.type.slice('herald.'.length).replaceAll('.', '_');
  const key = event.type === 'herald.delivery.dead' ? [event.deliveryId, event.runId] : [event.webhookId, String(event.occurredAt)];
  const readable = `herald_${kind}_${key.join('_')}`;
  if (READABLE_ID.test(readable)) return readable;
  return `herald_${kind}_sha256-${createHash('sha256').update(key.join('\n')).digest('hex').slice(0, 48)}`;
}

/** The event's `data`: what README's "Operational events" documents. Times are ISO 8601 like the REST API. */
export function operationalEventData(event: OperationalEvent): Record<string, unknown> {
  const occurredAt = new Date(event.occurredAt).toISOString();
  switch (event.type) {
    case 'herald.webhook.failing':
      return { webhookId: event.webhookId, url: event.url, consecutiveFailures: event.consecutiveFailures, nextProbeAt: new Date(event.nextProbeAt).toISOString(), occurredAt };
    case 'herald.webhook.recovered':
      return { webhookId: event.webhookId, url: event.url, failedForMs: event.failedForMs, occurredAt };
    case 'herald.webhook.disabled':
      return { webhookId: event.webhookId, url: event.url, reason: event.reason, occurredAt };
    case 'herald.delivery.dead':
      return {
        deliveryId: event.deliveryId,
        runId: event.runId,
        webhookId: event.webhookId,
        eventId: event.eventId,
        eventType: event.eventType,
        attempts: event.attempts,
        responseCode: event.responseCode,
        error: event.error === null ? null : event.error.slice(0, MAX_ERROR_CHARS),
        occurredAt,
      };
  }
}

/**
 * Publishes one operational event into its tenant's stream and starts its deliveries, at most once per
 * occurrence however often it is called. Nothing is stored when no webhook of the tenant subscribes to the
 * type (besides the one it is about): most tenants never subscribe, and a breaker trip should not write for them.
 */
export async function publishOperationalEvent(deps: OperationalEventDeps, event: OperationalEvent): Promise<OperationalPublishResult> {
  const eventId = operationalEventId(event);
  const log = { eventId, eventType: event.type, tenantId: event.tenantId, webhookId: event.webhookId };
  if (event.type === 'herald.delivery.dead' && isOperationalEventType(event.eventType)) {
    deps.logger.debug(log, 'a dead delivery of an operational event publishes nothing (no loops)');
    return { published: false, eventId, deliveries: 0, reason: 'operational event about an operational event' };
  }
  const payload = operationalEventData(event);
  const now = deps.clock();
  // A page of 2: when the subject (left out) takes one of the index rows, the other still shows anyone else.
  const probe = await findSubscribers(deps.store, { tenantId: event.tenantId, eventId, eventType: event.type, eventTimeMs: event.occurredAt, createdAt: now, payload }, { limit: 2 });
  if (probe.webhooks.length === 0 && probe.nextCursor === null) return { published: false, eventId, deliveries: 0, reason: 'no subscriber' };

  const { event: stored, created } = await recordEvent(deps.store, { tenantId: event.tenantId, eventId, eventType: event.type, eventTimeMs: event.occurredAt, payloadJson: JSON.stringify(payload) }, now);
  if (stored.status === 'fanned_out') return { published: false, eventId, deliveries: stored.matchedCount ?? 0, reason: 'already published' };
  // Stored but not fanned out: new, or a report that stopped half-way; the starts are idempotent either way.
  const outcome = await fanOutStoredEvent(deps, stored, { directLimit: deps.directFanOutLimit ?? OPERATIONAL_DIRECT_FAN_OUT_LIMIT });
  deps.logger.info({ ...log, deliveries: outcome.deliveries.length, fanOut: outcome.fanOut, resumed: !created }, 'published an operational event');
  return { published: true, eventId, deliveries: outcome.deliveries.length };
}
