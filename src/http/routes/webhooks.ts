import { createRoute } from '@hono/zod-openapi';
import { tenantFilter } from '../auth.js';
import { epochMs, healthJson, iso, webhookJson } from '../present.js';
import {
  CreateWebhookBody,
  DisableWebhookBody,
  IdParam,
  RecoverBody,
  RecoveryJob,
  RotateSecretBody,
  UpdateWebhookBody,
  Webhook,
  WebhookListQuery,
  WebhookPage,
  WebhookWithHealth,
  WebhookWithSecret,
} from '../schemas.js';
import { BEARER, errors, IDEMPOTENCY_HEADER_PARAMETER, json, optionalJsonBody, requiredJsonBody, type App } from './common.js';

const tags = ['webhooks'];
const post = { security: BEARER, tags, parameters: [IDEMPOTENCY_HEADER_PARAMETER] };

const createWebhookRoute = createRoute({
  ...post,
  method: 'post',
  path: '/v1/webhooks',
  summary: 'Create a webhook',
  description: 'Registers an endpoint for event types. The response carries the signing secret: it is never returned again (rotate to get a new one).',
  request: { body: requiredJsonBody(CreateWebhookBody) },
  responses: { 201: json(WebhookWithSecret, 'Created; `Location` names it.'), ...errors(403, 409, 413, 415) },
});

const listWebhooksRoute = createRoute({
  security: BEARER,
  tags,
  method: 'get',
  path: '/v1/webhooks',
  summary: 'List webhooks',
  description: 'Newest first, a page at a time: follow `nextCursor` until it is null.',
  request: { query: WebhookListQuery },
  responses: { 200: json(WebhookPage, 'A page of webhooks.'), ...errors(403) },
});

const getWebhookRoute = createRoute({
  security: BEARER,
  tags,
  method: 'get',
  path: '/v1/webhooks/{id}',
  summary: 'Get a webhook',
  request: { params: IdParam },
  responses: { 200: json(WebhookWithHealth, 'The webhook (without its secret or header values) and its endpoint health.'), ...errors(404) },
});

const updateWebhookRoute = createRoute({
  security: BEARER,
  tags,
  method: 'patch',
  path: '/v1/webhooks/{id}',
  summary: 'Change a webhook',
  description: 'Only the fields given change. `headers` replaces the whole set of custom headers.',
  request: { params: IdParam, body: requiredJsonBody(UpdateWebhookBody) },
  responses: { 200: json(Webhook, 'The changed webhook.'), ...errors(404, 413, 415) },
});

const deleteWebhookRoute = createRoute({
  security: BEARER,
  tags,
  method: 'delete',
  path: '/v1/webhooks/{id}',
  summary: 'Delete a webhook',
  description: 'Nothing more is sent to it; its deliveries stay listed but cannot be redelivered.',
  request: { params: IdParam },
  responses: { 204: { description: 'Deleted.' }, ...errors(404) },
});

const rotateSecretRoute = createRoute({
  ...post,
  method: 'post',
  path: '/v1/webhooks/{id}/rotate-secret',
  summary: "Rotate a webhook's signing secret",
  description: 'The new secret signs at once; the previous ones keep signing too (several signatures) for `graceSeconds`.',
  request: { params: IdParam, body: optionalJsonBody(RotateSecretBody) },
  responses: { 200: json(WebhookWithSecret, 'The webhook and its new secret.'), ...errors(404, 409, 413, 415) },
});

const enableWebhookRoute = createRoute({
  ...post,
  method: 'post',
  path: '/v1/webhooks/{id}/enable',
  summary: 'Enable a webhook',
  description: 'New events are delivered again. Deliveries skipped while it was disabled are sent by `recover`.',
  request: { params: IdParam },
  responses: { 200: json(Webhook, 'The webhook, active.'), ...errors(404, 409) },
});

const disableWebhookRoute = createRoute({
  ...post,
  method: 'post',
  path: '/v1/webhooks/{id}/disable',
  summary: 'Disable a webhook',
  description: 'Matching events are still recorded, as `skipped` deliveries, and in-flight retries stop.',
  request: { params: IdParam, body: optionalJsonBody(DisableWebhookBody) },
  responses: { 200: json(Webhook, 'The webhook, disabled.'), ...errors(404, 409, 413, 415) },
});

const recoverWebhookRoute = createRoute({
  ...post,
  method: 'post',
  path: '/v1/webhooks/{id}/recover',
  summary: "Redeliver a webhook's dead and skipped deliveries",
  description:
    'Starts a durable recovery job over the deliveries created in [since, until) (at most 30 days) and returns at once. The same window while the job runs returns the same job.',
  request: { params: IdParam, body: requiredJsonBody(RecoverBody) },
  responses: { 202: json(RecoveryJob, 'The job started (poll `GET /v1/recoveries/{workflowId}`).'), ...errors(404, 409, 413, 415) },
});

export function registerWebhookRoutes(app: App): void {
  app.openapi(createWebhookRoute, async (c) => {
    const body = c.req.valid('json');
    const { webhook, secret } = await c.get('herald').webhooks.create(body);
    return c.json({ ...webhookJson(webhook), secret }, 201, { Location: `/v1/webhooks/${encodeURIComponent(webhook.id)}` });
  });

  app.openapi(listWebhooksRoute, async (c) => {
    const q = c.req.valid('query');
    const page = await c.get('herald').webhooks.list({
      tenantId: tenantFilter(c.get('caller'), q.tenantId),
      ...(q.active !== undefined ? { active: q.active === 'true' } : {}),
      ...(q.limit !== undefined ? { limit: q.limit } : {}),
      ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
    });
    return c.json({ items: page.items.map(webhookJson), nextCursor: page.nextCursor }, 200);
  });

  app.openapi(getWebhookRoute, async (c) => {
    const herald = c.get('herald');
    const webhook = await herald.webhooks.get(c.req.valid('param').id);
    return c.json({ ...webhookJson(webhook), health: healthJson(await herald.webhooks.health(webhook.id)) }, 200);
  });

  app.openapi(updateWebhookRoute, async (c) => {
    const webhook = await c.get('herald').webhooks.update(c.req.valid('param').id, c.req.valid('json'));
    return c.json(webhookJson(webhook), 200);
  });

  app.openapi(deleteWebhookRoute, async (c) => {
    await c.get('herald').webhooks.delete(c.req.valid('param').id);
    return c.body(null, 204);
  });

  app.openapi(rotateSecretRoute, async (c) => {
    const body = c.req.valid('json');
    const { webhook, secret } = await c.get('herald').webhooks.rotateSecret(c.req.valid('param').id, body);
    return c.json({ ...webhookJson(webhook), secret }, 200);
  });

  app.openapi(enableWebhookRoute, async (c) => {
    const webhook = await c.get('herald').webhooks.enable(c.req.valid('param').id);
    return c.json(webhookJson(webhook), 200);
  });

  app.openapi(disableWebhookRoute, async (c) => {
    const { reason } = c.req.valid('json');
    const webhook = await c.get('herald').webhooks.disable(c.req.valid('param').id, reason);
    return c.json(webhookJson(webhook), 200);
  });

  app.openapi(recoverWebhookRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { since, until } = c.req.valid('json');
    // The window is fixed here (not "now" inside the client), so the response can name it.
    const sinceMs = epochMs(since);
    const untilMs = until !== undefined ? epochMs(until) : Date.now();
    const job = await c.get('herald').recover(id, { since: sinceMs, until: untilMs });
    return c.json({ workflowId: job.workflowId, runId: job.runId, webhookId: id, since: iso(sinceMs), until: iso(untilMs) }, 202);
  });
}
