import { createRoute, type z } from '@hono/zod-openapi';
import type { HeraldClient } from '../../client/herald-client.js';
import { deliveryId } from '../../client/ids.js';
import { encodeCursor } from '../../store/cursor.js';
import { matchesEventType } from '../../store/event-type-filter.js';
import type { StoredEvent } from '../../store/events.js';
import { MAX_WEBHOOK_LIST_LIMIT } from '../../store/webhooks.js';
import { tenantFilter } from '../auth.js';
import { HttpError } from '../errors.js';
import { eventJson } from '../present.js';
import { EventQuery, IdParam, PublishedEvent, PublishEventBody, StoredEvent as EventSchema } from '../schemas.js';
import { BEARER, errors, IDEMPOTENCY_HEADER_PARAMETER, json, jsonBody, type App, type RouteDeps } from './common.js';

/** The publish response lists at most this many deliveries (`deliveriesTruncated` says when there are more). */
export const MAX_LISTED_DELIVERIES = 1000;
/** …and looks at most this many of the tenant's webhooks to find them, so a publish answers quickly whatever the tenant's size. */
export const MAX_SCANNED_WEBHOOKS = 10_000;

const tags = ['events'];

export const publishEventRoute = createRoute({
  security: BEARER,
  tags,
  parameters: [IDEMPOTENCY_HEADER_PARAMETER],
  method: 'post',
  path: '/v1/events',
  summary: 'Publish an event',
  description:
    'Stores the event and starts its durable fan-out: once this answers, every matching webhook will get it. The same `id` again is the same event (200 with the same body); the same `id` with another type or payload is a 409.',
  request: { body: jsonBody(PublishEventBody, true) },
  responses: {
    202: json(PublishedEvent, 'Published; the deliveries are being started.'),
    200: json(PublishedEvent, 'This event id was already published: nothing new happened.'),
    ...errors(403, 409, 413, 415),
  },
});

export const getEventRoute = createRoute({
  security: BEARER,
  tags,
  method: 'get',
  path: '/v1/events/{id}',
  summary: 'Get a published event',
  request: { params: IdParam, query: EventQuery },
  responses: { 200: json(EventSchema, 'The event, its payload and its fan-out status.'), ...errors(403, 404) },
});

type ListedDelivery = z.infer<typeof PublishedEvent>['deliveries'][number];

/**
 * The deliveries the fan-out makes for `event`, computed here so the publisher learns them at once: the
 * tenant's live webhooks that existed when the event was stored and subscribe to its type (the fan-out's own
 * rule), `pending` if active and `skipped` if disabled. Ids are deterministic (`deliveryId`), so they are the
 * ids the fan-out gives the rows.
 */
export async function matchingDeliveries(herald: HeraldClient, event: StoredEvent): Promise<{ deliveries: ListedDelivery[]; truncated: boolean }> {
  const deliveries: ListedDelivery[] = [];
  // Newest first, starting at the event's own time: webhooks created after it do not get it.
  let cursor: string | null = encodeCursor(event.createdAt + 1, '');
  let scanned = 0;
  while (cursor !== null) {
    const page = await herald.webhooks.list({ tenantId: event.tenantId, limit: MAX_WEBHOOK_LIST_LIMIT, cursor });
    for (const webhook of page.items) {
      scanned += 1;
      if (!matchesEventType(webhook.eventTypes, event.eventType)) continue;
      if (deliveries.length === MAX_LISTED_DELIVERIES) return { deliveries, truncated: true };
      deliveries.push({ id: deliveryId(webhook.id, event.eventId), webhookId: webhook.id, status: webhook.active ? 'pending' : 'skipped' });
    }
    cursor = page.nextCursor;
    if (cursor !== null && scanned >= MAX_SCANNED_WEBHOOKS) return { deliveries, truncated: true };
  }
  return { deliveries, truncated: false };
}

/** 413 naming `payload` before anything is written, measured as the client measures it (UTF-8 JSON bytes). */
export function checkPayloadSize(payload: unknown, maxPayloadBytes: number): void {
  const bytes = Buffer.byteLength(JSON.stringify(payload ?? null), 'utf8');
  if (bytes > maxPayloadBytes) {
    throw new HttpError(413, 'payload_too_large', `payload: is ${bytes} bytes of JSON; the limit is ${maxPayloadBytes}`, 'payload');
  }
}

export function registerEventRoutes(app: App, deps: Pick<RouteDeps, 'maxPayloadBytes'>): void {
  app.openapi(publishEventRoute, async (c) => {
    const body = c.req.valid('json');
    checkPayloadSize(body.payload, deps.maxPayloadBytes);
    const herald = c.get('herald');
    const published = await herald.events.publish({
      type: body.type,
      payload: body.payload,
      ...(body.id !== undefined ? { id: body.id } : {}),
      ...(body.time !== undefined ? { time: new Date(body.time) } : {}),
      ...(body.tenantId !== undefined ? { tenantId: body.tenantId } : {}),
    });
    const event = await herald.events.get(published.eventId, published.tenantId);
    const { deliveries, truncated } = await matchingDeliveries(herald, event);
    const response = { eventId: event.eventId, tenantId: event.tenantId, type: event.eventType, workflowId: published.workflowId, deliveries, deliveriesTruncated: truncated };
    return published.created ? c.json(response, 202) : c.json(response, 200);
  });

  app.openapi(getEventRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { tenantId } = c.req.valid('query');
    const event = await c.get('herald').events.get(id, tenantFilter(c.get('caller'), tenantId));
    return c.json(eventJson(event), 200);
  });
}
