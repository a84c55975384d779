import { createRoute } from '@hono/zod-openapi';
import { tenantFilter } from '../auth.js';
import { eventJson } from '../present.js';
import { EventQuery, IdParam, PublishedEvent, PublishEventBody, StoredEvent as EventSchema } from '../schemas.js';
import { BEARER, errors, IDEMPOTENCY_HEADER_PARAMETER, json, requiredJsonBody, type App } from './common.js';


const tags = ['events'];

export const publishEventRoute = createRoute({
  security: BEARER,
  tags,
  parameters: [IDEMPOTENCY_HEADER_PARAMETER],
  method: 'post',
  path: '/v1/events',
  summary: 'Publish an event',
  description:
    'Stores the event, then starts its deliveries (directly for up to 100 matching webhooks, through the durable fan-out workflow beyond): once this answers, every matching webhook will get it, and once the event is stored even a crash half-way loses nothing (a schedule finishes unfinished fan-outs). The same `id` again is the same event (200 with the same body); the same `id` with another type or payload is a 409.',
  request: { body: requiredJsonBody(PublishEventBody) },
  responses: {
    202: json(PublishedEvent, 'Published; the listed deliveries are started (`fanOut: direct`) or being started (`fanOut: workflow`).'),
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

export function registerEventRoutes(app: App): void {
  app.openapi(publishEventRoute, async (c) => {
    const body = c.req.valid('json');
    const herald = c.get('herald');
    const published = await herald.events.publish({
      type: body.type,
      payload: body.payload,
      ...(body.id !== undefined ? { id: body.id } : {}),
      ...(body.time !== undefined ? { time: new Date(body.time) } : {}),
      ...(body.tenantId !== undefined ? { tenantId: body.tenantId } : {}),
    });
    const response = {
      eventId: published.eventId,
      tenantId: published.tenantId,
      type: published.eventType,
      fanOut: published.fanOut,
      workflowId: published.workflowId,
      deliveries: published.deliveries,
      deliveriesTruncated: published.deliveriesTruncated,
    };
    return published.created ? c.json(response, 202) : c.json(response, 200);
  });

  app.openapi(getEventRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { tenantId } = c.req.valid('query');
    const event = await c.get('herald').events.get(id, tenantFilter(c.get('caller'), tenantId));
    return c.json(eventJson(event), 200);
  });
}
