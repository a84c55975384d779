/**
 * The fan-out rule, in one place: an event goes to every live webhook of its tenant that subscribes to its
 * type and existed when the event was stored — a delivery for each active one, a `skipped` row for each
 * disabled one (recorded, never silently dropped). Publish applies it directly to small fan-outs; the
 * fanOutEvent workflow applies it page by page to large ones. Every step is idempotent (delivery starts
 * dedup on their workflow id, skipped rows on the table's key), so a retried page or a re-fan repeats nothing.
 * Which filters match a type is `patternsMatching` (store/event-type-filter.ts: `*` does not match Herald's
 * `herald.*` events); and an operational event never goes to the webhook it is about (`operationalSubjectOf`).
 */
import type { DataEngine } from '../store/data-engine.js';
import { recordDeliverySkipped } from '../store/deliveries.js';
import { isOperationalEventType } from '../store/event-type-filter.js';
import { markEventFannedOut, type StoredEvent } from '../store/events.js';
import { findSubscribedWebhookIds } from '../store/subscriptions.js';
import { findWebhooksByIds, type Webhook } from '../store/webhooks.js';
import { forEachLimited } from './for-each-limited.js';
import { deliveryId, deliveryWorkflowId, fanOutWorkflowId } from './ids.js';
import { startDelivery, startFanOut, type DeliveryStarter } from './start-delivery.js';

/** Delivery starts in flight at once: enough to hide round trips, few enough not to flood the server. */
export const FAN_OUT_START_CONCURRENCY = 16;
/** A fan-out's answer lists at most this many deliveries (`deliveriesTruncated` says when there are more). */
export const MAX_LISTED_DELIVERIES = 1000;

export interface FanOutDeps {
  store: DataEngine;
  starter: DeliveryStarter;
  clock: () => number;
}

export interface FannedOutDelivery {
  id: string;
  webhookId: string;
  status: 'pending' | 'skipped';
}

type EventOf = Pick<StoredEvent, 'tenantId' | 'eventId' | 'eventType' | 'eventTimeMs' | 'createdAt'>;

/**
 * The webhook an operational event is about (its `data.webhookId`), which never receives it: a webhook
 * subscribed to `herald.*` that fails hears nothing about its own failures, so they cannot feed each other
 * (src/delivery/operational-events.ts has the whole no-loop argument). Null for a tenant's own events. Read
 * from the stored payload, so every path that fans the event out (publish, the fanOutEvent workflow, the
 * re-fan schedule) applies it.
 */
export function operationalSubjectOf(event: Pick<StoredEvent, 'eventType' | 'payload'>): string | null {
  if (!isOperationalEventType(event.eventType)) return null;
  const subject = (event.payload as { webhookId?: unknown } | null)?.webhookId;
  return typeof subject === 'string' ? subject : null;
}

/**
 * One page of the event's subscribers (active or not), in webhook id order after `afterWebhookId`.
 * `nextCursor` is null when this page was the last (it counts index rows, so a webhook deleted meanwhile, or
 * an operational event's subject left out, does not end the walk early).
 */
export async function findSubscribers(
  store: DataEngine,
  event: EventOf & Pick<StoredEvent, 'payload'>,
  page: { afterWebhookId?: string | null; limit: number },
): Promise<{ webhooks: Webhook[]; nextCursor: string | null }> {
  const subject = operationalSubjectOf(event);
  const ids = await findSubscribedWebhookIds(store, {
    tenantId: event.tenantId,
    eventType: event.eventType,
    createdAtOrBefore: event.createdAt,
    afterWebhookId: page.afterWebhookId ?? null,
    limit: page.limit,
  });
  const recipients = subject === null ? ids : ids.filter((id) => id !== subject);
  return { webhooks: await findWebhooksByIds(store, recipients), nextCursor: ids.length < page.limit ? null : ids[ids.length - 1]! };
}

/** What a subscriber gets from this event: a started delivery or a skipped row (the ids are deterministic). */
export function plannedDelivery(webhook: Webhook, eventId: string): FannedOutDelivery {
  return { id: deliveryId(webhook.id, eventId), webhookId: webhook.id, status: webhook.active ? 'pending' : 'skipped' };
}

/** Starts a delivery per active subscriber and records a skipped row per disabled one, concurrently. */
export async function deliverToSubscribers(deps: FanOutDeps, event: EventOf, webhooks: readonly Webhook[], onEach?: () => void): Promise<{ started: number; skipped: number }> {
  let started = 0;
  let skipped = 0;
  const ref = { tenantId: event.tenantId, eventId: event.eventId, eventType: event.eventType, eventTimeMs: event.eventTimeMs };
  await forEachLimited(webhooks, FAN_OUT_START_CONCURRENCY, async (webhook) => {
    if (webhook.active) {
      await startDelivery(deps.starter, webhook, ref);
      started += 1;
    } else {
      await recordDeliverySkipped(
        deps.store,
        {
          deliveryId: deliveryId(webhook.id, event.eventId),
          workflowId: deliveryWorkflowId(webhook.id, event.eventId),
          tenantId: event.tenantId,
          webhookId: webhook.id,
          eventId: event.eventId,
          eventType: event.eventType,
          eventTimeMs: event.eventTimeMs,
          url: webhook.url,
          method: webhook.method,
          reason: `webhook disabled: ${webhook.disabledReason ?? 'by an operator'}`,
        },
        deps.clock(),
      );
      skipped += 1;
    }
    onEach?.();
  });
  return { started, skipped };
}

export interface FanOutTuning {
  /** Up to this many subscribers the caller starts the deliveries itself; more go to the fanOutEvent workflow. */
  directLimit: number;
  batchSize?: number;
  batchesPerRun?: number;
}

export interface FanOutOutcome {
  /** `direct`: this call started every delivery itself; `workflow`: the durable fan-out workflow is starting them. */
  fanOut: 'direct' | 'workflow';
  /** The fan-out workflow and its first run (`workflow` fan-outs only). */
  workflowId: string | null;
  runId: string | null;
  /** The deliveries the event makes (ids are deterministic), at most MAX_LISTED_DELIVERIES. */
  deliveries: FannedOutDelivery[];
  deliveriesTruncated: boolean;
}

/**
 * Fans a stored event out: small fan-outs here (one indexed look-up, the starts concurrently, then the event
 * marked done), large ones through the fanOutEvent workflow. Idempotent, so a repeated publish, a retried
 * activity and the re-fan schedule can all call it for an event whose fan-out did not finish. Publish
 * (src/client/events-api.ts) and Herald's operational events (operational-events.ts) both go through it.
 */
export async function fanOutStoredEvent(deps: FanOutDeps, event: StoredEvent, tuning: FanOutTuning): Promise<FanOutOutcome> {
  const { directLimit } = tuning;
  // One query serves both: more than the limit tells "small" from "large", and the same page is the listing.
  const page = await findSubscribers(deps.store, event, { limit: Math.max(directLimit + 1, MAX_LISTED_DELIVERIES) });
  if (page.webhooks.length <= directLimit && page.nextCursor === null) {
    const deliveries = page.webhooks.map((w) => plannedDelivery(w, event.eventId));
    if (event.status !== 'fanned_out') {
      await deliverToSubscribers(deps, event, page.webhooks);
      await markEventFannedOut(deps.store, event.tenantId, event.eventId, page.webhooks.length, deps.clock());
    }
    return { fanOut: 'direct', workflowId: null, runId: null, deliveries, deliveriesTruncated: false };
  }
  // Finished long ago: its workflow id may be past Temporal's retention, so a start would fan out again.
  const started =
    event.status === 'fanned_out'
      ? { workflowId: fanOutWorkflowId(event.tenantId, event.eventId), runId: null }
      : await startFanOut(deps.starter, {
          tenantId: event.tenantId,
          eventId: event.eventId,
          eventType: event.eventType,
          publishedAtMs: event.createdAt,
          ...(tuning.batchSize !== undefined ? { batchSize: tuning.batchSize } : {}),
          ...(tuning.batchesPerRun !== undefined ? { batchesPerRun: tuning.batchesPerRun } : {}),
        });
  return {
    fanOut: 'workflow',
    ...started,
    deliveries: page.webhooks.slice(0, MAX_LISTED_DELIVERIES).map((w) => plannedDelivery(w, event.eventId)),
    deliveriesTruncated: page.webhooks.length > MAX_LISTED_DELIVERIES || page.nextCursor !== null,
  };
}
