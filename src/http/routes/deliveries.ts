import { createRoute } from '@hono/zod-openapi';
import { WorkflowNotFoundError } from '@temporalio/client';
import { WebhookNotFoundError } from '../../errors.js';
import { tenantFilter } from '../auth.js';
import { HttpError } from '../errors.js';
import { deliveryDetailJson, deliveryJson, epochMs } from '../present.js';
import { DeliveryAction, DeliveryDetail, DeliveryListQuery, DeliveryPage, IdParam } from '../schemas.js';
import { BEARER, errors, IDEMPOTENCY_HEADER_PARAMETER, json, type App } from './common.js';

const tags = ['deliveries'];

const listDeliveriesRoute = createRoute({
  security: BEARER,
  tags,
  method: 'get',
  path: '/v1/deliveries',
  summary: 'List deliveries',
  description: 'Newest first, filtered by any of status, webhook, event, event type and creation time, a page at a time: follow `nextCursor` until it is null.',
  request: { query: DeliveryListQuery },
  responses: { 200: json(DeliveryPage, 'A page of deliveries.'), ...errors(403) },
});

const getDeliveryRoute = createRoute({
  security: BEARER,
  tags,
  method: 'get',
  path: '/v1/deliveries/{id}',
  summary: 'Get a delivery',
  description: "The delivery's current state, the attempt log of its current run, and the payload it sends.",
  request: { params: IdParam },
  responses: { 200: json(DeliveryDetail, 'The delivery.'), ...errors(404) },
});

const redeliverRoute = createRoute({
  security: BEARER,
  tags,
  parameters: [IDEMPOTENCY_HEADER_PARAMETER],
  method: 'post',
  path: '/v1/deliveries/{id}/redeliver',
  summary: 'Redeliver',
  description: 'Sends a finished delivery (success, dead, cancelled or skipped) again: a new run with the same delivery id and `webhook-id`, attempts counted from 1.',
  request: { params: IdParam },
  responses: {
    202: json(DeliveryAction, 'Redelivery started.'),
    ...errors(404, 409, 422),
  },
});

const cancelRoute = createRoute({
  security: BEARER,
  tags,
  parameters: [IDEMPOTENCY_HEADER_PARAMETER],
  method: 'post',
  path: '/v1/deliveries/{id}/cancel',
  summary: 'Cancel',
  description: 'Stops a pending or in-flight delivery: no more attempts; it becomes `cancelled` (and can be redelivered later).',
  request: { params: IdParam },
  responses: { 202: json(DeliveryAction, 'Cancellation requested.'), ...errors(404, 409) },
});

export function registerDeliveryRoutes(app: App): void {
  app.openapi(listDeliveriesRoute, async (c) => {
    const q = c.req.valid('query');
    const page = await c.get('herald').deliveries.list({
      tenantId: tenantFilter(c.get('caller'), q.tenantId),
      ...(q.status !== undefined ? { status: q.status } : {}),
      ...(q.webhookId !== undefined ? { webhookId: q.webhookId } : {}),
      ...(q.eventId !== undefined ? { eventId: q.eventId } : {}),
      ...(q.eventType !== undefined ? { eventType: q.eventType } : {}),
      ...(q.since !== undefined ? { since: epochMs(q.since) } : {}),
      ...(q.until !== undefined ? { until: epochMs(q.until) } : {}),
      ...(q.limit !== undefined ? { limit: q.limit } : {}),
      ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
    });
    return c.json({ items: page.items.map(deliveryJson), nextCursor: page.nextCursor }, 200);
  });

  app.openapi(getDeliveryRoute, async (c) => {
    const delivery = await c.get('herald').deliveries.get(c.req.valid('param').id);
    return c.json(deliveryDetailJson(delivery), 200);
  });

  app.openapi(redeliverRoute, async (c) => {
    const { id } = c.req.valid('param');
    try {
      const started = await c.get('herald').deliveries.redeliver(id);
      return c.json({ id: started.deliveryId, workflowId: started.workflowId, runId: started.runId, status: 'pending' as const }, 202);
    } catch (err) {
      // The delivery exists, but its webhook was deleted: nothing to send it to.
      if (err instanceof WebhookNotFoundError) throw new HttpError(422, 'unprocessable', `delivery ${id}: ${err.message}`, 'webhookId');
      throw err;
    }
  });

  app.openapi(cancelRoute, async (c) => {
    const { id } = c.req.valid('param');
    const herald = c.get('herald');
    const delivery = await herald.deliveries.get(id);
    try {
      await herald.deliveries.cancel(id);
    } catch (err) {
      // The table still said pending, but the run had just finished.
      if (err instanceof WorkflowNotFoundError) throw new HttpError(409, 'conflict', `delivery ${id} finished before it could be cancelled`);
      throw err;
    }
    return c.json({ id: delivery.id, workflowId: delivery.workflowId, runId: delivery.runId, status: 'cancelling' as const }, 202);
  });
}
