import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { beforeAll, describe, expect, it } from 'vitest';
import { deliveryId } from '../../src/delivery/ids.js';
import { checkHealth } from '../../src/http/health.js';
import { HeraldMetrics } from '../../src/metrics/metrics.js';
import { eventually, verifyStandard } from '../support/delivery-checks.js';
import { uniqueId } from '../support/deps.js';
import { useDevServerFixture } from '../support/dev-server-fixture.js';
import { ACME_TOKEN, ADMIN_TOKEN, caller, GLOBEX_TOKEN, testApi, type TestApi } from '../support/http.js';
import { sample } from '../support/prometheus.js';
import type { Receiver } from '../support/receiver.js';

// The REST API end to end: a real Temporal dev server, a real worker (prebuilt bundle: `npm run build`), the
// delivery table in a real SQLite file, and a receiver on 127.0.0.1 that answers per path. Requests go
// through `app.request` in-process, and, in the last test, through a real server listening on 127.0.0.1.
// Every test works in tenants of its own, so lists and counts are its own.

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DELIVERY_TIMEOUT_MS = 30_000;

describe('REST API on the dev server', () => {
  const dev = useDevServerFixture('api');
  let rx: Receiver;
  let api: TestApi;
  /** Status the receiver answers per path (default 200). */
  const statusByPath = new Map<string, number>();

  const admin = () => caller(api.app, ADMIN_TOKEN);
  const acme = () => caller(api.app, ACME_TOKEN);
  const globex = () => caller(api.app, GLOBEX_TOKEN);

  beforeAll(async () => {
    rx = await dev.receiver((req) => ({ status: statusByPath.get(new URL(req.url, 'http://x').pathname) ?? 200, body: 'ok' }));
    const metrics = new HeraldMetrics({ store: dev.store });
    const { taskQueue } = await dev.runningWorker({ deps: { metrics } });
    api = testApi({
      temporal: dev.temporal.env.client,
      store: dev.store,
      taskQueue,
      metrics,
      health: () => checkHealth({ connection: dev.temporal.env.connection, namespace: 'default', store: dev.store }),
    });
  });

  /** A receiver URL with its own path, answered with `status`. */
  function hook(status = 200): { url: string; path: string } {
    const p = `/${uniqueId('hook-')}`;
    statusByPath.set(p, status);
    return { url: `http://127.0.0.1:${rx.port}${p}`, path: p };
  }

  const requestsTo = (p: string) => rx.requests.filter((r) => r.url === p);

  async function createWebhook(body: Record<string, unknown>, as = admin()) {
    const res = await as.post('/v1/webhooks', body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: string; secret: string; tenantId: string } & Record<string, unknown>;
  }

  /**
   * Waits until the delivery has `status`, and for a final status also until its run has closed: the table
   * is written just before the workflow ends, and until it has, a redelivery is (rightly) a 409.
   */
  async function deliveryIn(id: string, status: string, as = admin()) {
    return await eventually(async () => {
      const res = await as.get(`/v1/deliveries/${id}`);
      expect(res.status).toBe(200);
      expect(res.body.status).toBe(status);
      if (['success', 'dead', 'cancelled'].includes(status)) {
        const run = await dev.temporal.env.client.workflow.getHandle(res.body.workflowId, res.body.runId).describe();
        expect(run.status.name).not.toBe('RUNNING');
      }
      return res.body;
    }, DELIVERY_TIMEOUT_MS);
  }

  /** A webhook in a fresh tenant, one event published to it, delivered. */
  async function deliveredOnce() {
    const tenantId = uniqueId('t-');
    const target = hook();
    const webhook = await createWebhook({ url: target.url, eventTypes: ['order.*'], tenantId });
    const eventId = uniqueId('evt_');
    const published = await admin().post('/v1/events', { id: eventId, type: 'order.created', payload: { n: 1 }, tenantId });
    expect(published.status).toBe(202);
    const id = deliveryId(webhook.id, eventId);
    const delivery = await deliveryIn(id, 'success');
    return { tenantId, target, webhook, eventId, id, delivery };
  }

  it('webhooks: create (201, secret once), get, list, patch, rotate, disable, enable, delete (204)', async () => {
    const tenantId = uniqueId('t-');
    const target = hook();
    const before = Date.now();
    const created = await admin().post('/v1/webhooks', {
      url: target.url,
      eventTypes: ['order.*'],
      description: 'orders',
      headers: { 'X-Api-Key': 'custom-header-value-1234' },
      retrySchedule: [5, 300],
      retryJitter: 0.1,
      timeoutMs: 5000,
      tenantId,
    });
    expect(created.status).toBe(201);
    const webhook = created.body;
    expect(created.headers.get('location')).toBe(`/v1/webhooks/${webhook.id}`);
    expect(webhook).toMatchObject({
      tenantId,
      url: target.url,
      eventTypes: ['order.*'],
      description: 'orders',
      active: true,
      disabledReason: null,
      disabledAt: null,
      signatureScheme: 'standard',
      method: 'POST',
      headerNames: ['X-Api-Key'],
      retrySchedule: [5, 300],
      retryJitter: 0.1,
      timeoutMs: 5000,
    });
    expect(webhook.secret).toMatch(/^whsec_/);
    expect(webhook.createdAt).toMatch(ISO);
    expect(Date.parse(webhook.createdAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(JSON.stringify(webhook)).not.toContain('custom-header-value-1234');

    const got = await admin().get(`/v1/webhooks/${webhook.id}`);
    expect(got.status).toBe(200);
    const { secret, ...withoutSecret } = webhook;
    // One webhook read shows its endpoint's health too; a new one has sent nothing yet.
    const health = { state: 'healthy', consecutiveFailures: 0, failingSince: null, lastSuccessAt: null, nextProbeAt: null, effectiveConcurrency: null, inFlight: 0 };
    expect(got.body).toEqual({ ...withoutSecret, health });
    expect(JSON.stringify(got.body)).not.toContain(secret);

    const listed = await admin().get(`/v1/webhooks?tenantId=${tenantId}`);
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ items: [withoutSecret], nextCursor: null });

    const patched = await admin().patch(`/v1/webhooks/${webhook.id}`, { description: 'changed', eventTypes: ['order.created'] });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id: webhook.id, description: 'changed', eventTypes: ['order.created'], url: target.url });
    expect(Date.parse(patched.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(webhook.updatedAt));

    const rotated = await admin().post(`/v1/webhooks/${webhook.id}/rotate-secret`, { graceSeconds: 60 });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(secret);

    const disabled = await admin().post(`/v1/webhooks/${webhook.id}/disable`, { reason: 'maintenance' });
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ active: false, disabledReason: 'maintenance' });
    expect(disabled.body.disabledAt).toMatch(ISO);
    expect((await admin().get(`/v1/webhooks?tenantId=${tenantId}&active=false`)).body.items).toHaveLength(1);
    expect((await admin().get(`/v1/webhooks?tenantId=${tenantId}&active=true`)).body.items).toHaveLength(0);

    const enabled = await admin().post(`/v1/webhooks/${webhook.id}/enable`);
    expect(enabled.status).toBe(200);
    expect(enabled.body).toMatchObject({ active: true, disabledReason: null, disabledAt: null });

    const deleted = await admin().delete(`/v1/webhooks/${webhook.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBe('');
    const gone = await admin().get(`/v1/webhooks/${webhook.id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('not_found');
    expect((await admin().delete(`/v1/webhooks/${webhook.id}`)).status).toBe(404);
  });

  it('events: publish → 202 with the matching deliveries (deterministic ids, pending/skipped), signed POST; same id → 200 same body; other payload → 409', async () => {
    const tenantId = uniqueId('t-');
    const active = hook();
    const disabledTarget = hook();
    const a = await createWebhook({ url: active.url, eventTypes: ['order.created'], tenantId });
    const d = await createWebhook({ url: disabledTarget.url, eventTypes: ['order.*'], tenantId });
    await createWebhook({ url: hook().url, eventTypes: ['invoice.*'], tenantId }); // does not match
    await createWebhook({ url: hook().url, eventTypes: ['*'], tenantId: uniqueId('other-') }); // another tenant
    expect((await admin().post(`/v1/webhooks/${d.id}/disable`, {})).status).toBe(200);

    const eventId = uniqueId('evt_');
    const body = { id: eventId, type: 'order.created', payload: { orderId: 42, items: ['a'] }, time: '2025-06-01T12:00:00.000Z', tenantId };
    const first = await admin().post('/v1/events', body);
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ eventId, tenantId, type: 'order.created', fanOut: 'direct', workflowId: null, deliveriesTruncated: false });
    const byWebhook = [...first.body.deliveries].sort((x: { webhookId: string }, y: { webhookId: string }) => x.webhookId.localeCompare(y.webhookId));
    expect(byWebhook).toEqual(
      [
        { id: deliveryId(a.id, eventId), webhookId: a.id, status: 'pending' },
        { id: deliveryId(d.id, eventId), webhookId: d.id, status: 'skipped' },
      ].sort((x, y) => x.webhookId.localeCompare(y.webhookId)),
    );

    // The listed ids are the rows the fan-out makes.
    const sent = await deliveryIn(deliveryId(a.id, eventId), 'success');
    await deliveryIn(deliveryId(d.id, eventId), 'skipped');
    expect(sent).toMatchObject({ webhookId: a.id, eventId, eventType: 'order.created', tenantId, url: active.url, attempts: 1, responseCode: 200, error: null, eventTime: '2025-06-01T12:00:00.000Z' });
    expect(sent.payload).toEqual({ orderId: 42, items: ['a'] });
    expect(sent.attemptLog).toHaveLength(1);
    expect(sent.attemptLog[0]).toMatchObject({ attempt: 1, outcome: 'success', responseCode: 200, error: null, responseBody: 'ok' });
    expect(sent.attemptLog[0].at).toMatch(ISO);
    expect(sent.lastAttemptedAt).toMatch(ISO);
    const [request] = requestsTo(active.path);
    expect(request!.headers['webhook-id']).toBe(eventId);
    expect(verifyStandard(a.secret, request!)).toEqual({ type: 'order.created', timestamp: '2025-06-01T12:00:00.000Z', data: { orderId: 42, items: ['a'] } });
    expect(requestsTo(disabledTarget.path)).toHaveLength(0);

    const again = await admin().post('/v1/events', body);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const conflict = await admin().post('/v1/events', { ...body, payload: { orderId: 43 } });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('conflict');

    const event = await admin().get(`/v1/events/${eventId}?tenantId=${tenantId}`);
    expect(event.status).toBe(200);
    expect(event.body).toMatchObject({ eventId, tenantId, type: 'order.created', time: '2025-06-01T12:00:00.000Z', payload: { orderId: 42, items: ['a'] } });
    expect((await admin().get(`/v1/events/${eventId}`)).status).toBe(404); // the default tenant has no such event
    expect(requestsTo(active.path)).toHaveLength(1);
  });

  it('deliveries: list with filters, redeliver (202, same id, new run), retrying delivery → redeliver 409, cancel 202 → cancelled; finished → cancel 409; deleted webhook → 422', async () => {
    const { tenantId, target, webhook, eventId, id, delivery } = await deliveredOnce();
    expect(delivery).toMatchObject({ id, webhookId: webhook.id, eventId, tenantId, status: 'success', workflowId: `delivery:${webhook.id}:${eventId}` });

    const byWebhook = await admin().get(`/v1/deliveries?webhookId=${webhook.id}&status=success`);
    expect(byWebhook.status).toBe(200);
    expect(byWebhook.body.items.map((x: { id: string }) => x.id)).toEqual([id]);
    expect(byWebhook.body.items[0]).not.toHaveProperty('attemptLog');
    expect((await admin().get(`/v1/deliveries?webhookId=${webhook.id}&status=dead`)).body.items).toEqual([]);
    expect((await admin().get(`/v1/deliveries?eventId=${eventId}&tenantId=${tenantId}`)).body.items).toHaveLength(1);
    expect((await admin().get(`/v1/deliveries?webhookId=${webhook.id}&eventType=order.created`)).body.items.map((x: { id: string }) => x.id)).toEqual([id]);
    expect((await admin().get(`/v1/deliveries?webhookId=${webhook.id}&eventType=order.paid`)).body.items).toEqual([]);
    const since = new Date(Date.parse(delivery.createdAt) + 1).toISOString();
    expect((await admin().get(`/v1/deliveries?webhookId=${webhook.id}&since=${since}`)).body.items).toEqual([]);
    expect((await admin().get(`/v1/deliveries?webhookId=${webhook.id}&until=${since}`)).body.items).toHaveLength(1);

    const cancelFinished = await admin().post(`/v1/deliveries/${id}/cancel`);
    expect(cancelFinished.status).toBe(409);
    expect(cancelFinished.body.error.code).toBe('conflict');

    const redelivered = await admin().post(`/v1/deliveries/${id}/redeliver`);
    expect(redelivered.status).toBe(202);
    expect(redelivered.body).toMatchObject({ id, workflowId: delivery.workflowId, status: 'pending' });
    expect(redelivered.body.runId).not.toBe(delivery.runId);
    const second = await eventually(async () => {
      const row = await deliveryIn(id, 'success');
      expect(row.runId).toBe(redelivered.body.runId);
      return row;
    }, DELIVERY_TIMEOUT_MS);
    expect(second.attemptLog).toHaveLength(1);
    expect(requestsTo(target.path).map((r) => r.headers['webhook-id'])).toEqual([eventId, eventId]);

    // A delivery waiting for its retry: pending with nextRetryAt, not redeliverable, cancellable.
    const flaky = hook(500);
    const slow = await createWebhook({ url: flaky.url, eventTypes: ['*'], retrySchedule: [3600], retryJitter: 0, tenantId });
    const retryEvent = uniqueId('evt_');
    expect((await admin().post('/v1/events', { id: retryEvent, type: 'order.paid', payload: {}, tenantId })).status).toBe(202);
    const retryId = deliveryId(slow.id, retryEvent);
    const waiting = await eventually(async () => {
      const row = (await admin().get(`/v1/deliveries/${retryId}`)).body;
      expect(row).toMatchObject({ status: 'pending', attempts: 1, responseCode: 500 });
      expect(row.nextRetryAt).toMatch(ISO);
      return row;
    }, DELIVERY_TIMEOUT_MS);
    expect(Date.parse(waiting.nextRetryAt)).toBeGreaterThan(Date.now() + 3_000_000);
    expect(waiting.attemptLog).toEqual([expect.objectContaining({ attempt: 1, outcome: 'retry', responseCode: 500, nextRetryAt: waiting.nextRetryAt })]);
    const notYet = await admin().post(`/v1/deliveries/${retryId}/redeliver`);
    expect(notYet.status).toBe(409);
    expect(notYet.body.error).toMatchObject({ code: 'conflict', message: expect.stringMatching(/pending/) });

    const cancelled = await admin().post(`/v1/deliveries/${retryId}/cancel`);
    expect(cancelled.status).toBe(202);
    expect(cancelled.body).toMatchObject({ id: retryId, workflowId: waiting.workflowId, runId: waiting.runId, status: 'cancelling' });
    await deliveryIn(retryId, 'cancelled');
    expect(requestsTo(flaky.path)).toHaveLength(1);

    // Its webhook deleted, a cancelled delivery has nowhere to go.
    expect((await admin().delete(`/v1/webhooks/${slow.id}`)).status).toBe(204);
    const nowhere = await admin().post(`/v1/deliveries/${retryId}/redeliver`);
    expect(nowhere.status).toBe(422);
    expect(nowhere.body.error).toMatchObject({ code: 'unprocessable', field: 'webhookId' });

    expect((await admin().get('/v1/deliveries/dlv_nope')).status).toBe(404);
    expect((await admin().post('/v1/deliveries/dlv_nope/redeliver')).status).toBe(404);
    expect((await admin().post('/v1/deliveries/dlv_nope/cancel')).status).toBe(404);
  });

  it("recover: a webhook's dead deliveries in a window are sent again; progress by the job's id", async () => {
    const tenantId = uniqueId('t-');
    const target = hook(400);
    const webhook = await createWebhook({ url: target.url, eventTypes: ['*'], tenantId });
    const eventId = uniqueId('evt_');
    expect((await admin().post('/v1/events', { id: eventId, type: 'order.created', payload: { n: 1 }, tenantId })).status).toBe(202);
    const id = deliveryId(webhook.id, eventId);
    await deliveryIn(id, 'dead');

    statusByPath.set(target.path, 200); // the receiver is fixed
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const started = await admin().post(`/v1/webhooks/${webhook.id}/recover`, { since });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ webhookId: webhook.id, since });
    expect(started.body.until).toMatch(ISO);
    expect(started.body.workflowId).toMatch(/^recover:/);

    const progressPath = `/v1/recoveries/${encodeURIComponent(started.body.workflowId)}`;
    const progress = await eventually(async () => {
      const res = await admin().get(progressPath);
      expect(res.status).toBe(200);
      expect(res.body.done).toBe(true);
      return res.body;
    }, DELIVERY_TIMEOUT_MS);
    expect(progress).toEqual({ workflowId: started.body.workflowId, webhookId: webhook.id, status: 'completed', redelivered: 1, scanned: 1, done: true });
    await deliveryIn(id, 'success');
    expect(requestsTo(target.path)).toHaveLength(2);

    // Another tenant cannot see the job; an id that is no job is a 404.
    expect((await acme().get(progressPath)).status).toBe(404);
    expect((await admin().get('/v1/recoveries/not-a-recovery')).status).toBe(404);
    expect((await admin().get(`/v1/recoveries/${encodeURIComponent(`recover:${webhook.id}:1:2`)}`)).status).toBe(404);
  });

  it('auth: no or bad token → 401; a tenant token acts only in its tenant (others’ objects → 404, naming another tenant → 403); /healthz, /metrics, /openapi.json, /docs are open', async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-token-000000000000000' }, { authorization: `Basic ${ADMIN_TOKEN}` }, { authorization: 'Bearer' }];
    for (const headers of attempts) {
      const res = await caller(api.app).get('/v1/webhooks', headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="herald"/);
    }
    expect((await caller(api.app).post('/v1/events', { type: 'a', payload: 1 })).status).toBe(401);
    for (const open of ['/healthz', '/metrics', '/openapi.json', '/docs']) expect((await caller(api.app).get(open)).status, open).toBe(200);

    // acme's webhook, made with acme's token: the tenant comes from the token.
    const target = hook();
    const acmeWebhook = await createWebhook({ url: target.url, eventTypes: ['*'] }, acme());
    expect(acmeWebhook.tenantId).toBe('acme');
    expect((await acme().post('/v1/webhooks', { url: hook().url, eventTypes: ['*'], tenantId: 'acme' })).status).toBe(201);
    const forbidden = await acme().post('/v1/webhooks', { url: hook().url, eventTypes: ['*'], tenantId: 'globex' });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error).toMatchObject({ code: 'forbidden', field: 'tenantId' });

    // globex cannot see or touch it.
    const w = `/v1/webhooks/${acmeWebhook.id}`;
    for (const [method, route, body] of [
      ['get', w],
      ['patch', w, { description: 'x' }],
      ['delete', w],
      ['post', `${w}/rotate-secret`, {}],
      ['post', `${w}/enable`],
      ['post', `${w}/disable`, {}],
      ['post', `${w}/recover`, { since: new Date(Date.now() - 60_000).toISOString() }],
    ] as const) {
      const as = globex() as unknown as Record<string, (p: string, b?: unknown) => Promise<{ status: number; body: any }>>;
      const res = await as[method]!(route, body);
      expect(res.status, `${method} ${route}`).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    expect((await globex().get('/v1/webhooks')).body.items.map((x: { id: string }) => x.id)).not.toContain(acmeWebhook.id);
    expect((await globex().get('/v1/webhooks?tenantId=acme')).status).toBe(403);

    // acme's event and delivery.
    const eventId = uniqueId('evt_');
    const published = await acme().post('/v1/events', { id: eventId, type: 'order.created', payload: { n: 1 } });
    expect(published.status).toBe(202);
    expect(published.body.tenantId).toBe('acme');
    expect(published.body.deliveries.map((x: { webhookId: string }) => x.webhookId)).toContain(acmeWebhook.id);
    const id = deliveryId(acmeWebhook.id, eventId);
    await deliveryIn(id, 'success', acme());
    for (const res of [
      await globex().get(`/v1/deliveries/${id}`),
      await globex().post(`/v1/deliveries/${id}/redeliver`),
      await globex().post(`/v1/deliveries/${id}/cancel`),
      await globex().get(`/v1/events/${eventId}`),
    ]) {
      expect(res.status).toBe(404);
    }
    expect((await globex().get(`/v1/deliveries?eventId=${eventId}`)).body.items).toEqual([]);
    expect((await globex().get('/v1/deliveries?tenantId=acme')).status).toBe(403);
    expect((await globex().get(`/v1/events/${eventId}?tenantId=acme`)).status).toBe(403);
    const publishForOther = await globex().post('/v1/events', { type: 'order.created', payload: {}, tenantId: 'acme' });
    expect(publishForOther.status).toBe(403);
    expect(publishForOther.body.error.field).toBe('tenantId');
    // The admin sees across tenants.
    expect((await admin().get(`/v1/deliveries/${id}`)).body.tenantId).toBe('acme');
    expect((await admin().get(`/v1/events/${eventId}?tenantId=acme`)).status).toBe(200);
  });

  it('validation: 400 naming the field, from the edge and from the client alike; nothing is created', async () => {
    const tenantId = uniqueId('t-');
    const url = hook().url;
    const w = await createWebhook({ url, eventTypes: ['*'], tenantId });
    const cases: [string, string, unknown, string][] = [
      ['POST', '/v1/webhooks', { url: 'not a url', eventTypes: ['a'], tenantId }, 'url'],
      ['POST', '/v1/webhooks', { url: 'ftp://example.com/x', eventTypes: ['a'], tenantId }, 'url'],
      ['POST', '/v1/webhooks', { eventTypes: ['a'], tenantId }, 'url'],
      ['POST', '/v1/webhooks', { url, tenantId }, 'eventTypes'],
      ['POST', '/v1/webhooks', { url, eventTypes: ['bad type!'], tenantId }, 'eventTypes.0'],
      ['POST', '/v1/webhooks', { url, eventTypes: [], tenantId }, 'eventTypes'],
      ['POST', '/v1/webhooks', { url, eventTypes: ['a'], timeoutMs: 5, tenantId }, 'timeoutMs'],
      ['POST', '/v1/webhooks', { url, eventTypes: ['a'], retrySchedule: [0], tenantId }, 'retrySchedule'],
      ['POST', '/v1/webhooks', { url, eventTypes: ['a'], headers: { 'webhook-signature': 'x' }, tenantId }, 'headers.webhook-signature'],
      ['POST', '/v1/webhooks', { url, eventTypes: ['a'], secret: 'short', tenantId }, 'secret'],
      ['POST', '/v1/webhooks', { url, eventTypes: ['a'], method: 'GET', tenantId }, 'method'],
      ['POST', '/v1/webhooks', { url, eventTypes: ['a'], nope: 1, tenantId }, 'nope'],
      ['POST', '/v1/webhooks', { url, eventTypes: ['a'], tenantId: 'has space' }, 'tenantId'],
      ['POST', '/v1/webhooks', [1, 2], 'body'],
      ['POST', '/v1/webhooks', '{"url":', 'body'],
      ['PATCH', `/v1/webhooks/${w.id}`, { timeoutMs: 'slow' }, 'timeoutMs'],
      ['PATCH', `/v1/webhooks/${w.id}`, { secret: 'x' }, 'secret'],
      ['POST', `/v1/webhooks/${w.id}/rotate-secret`, { graceSeconds: -1 }, 'graceSeconds'],
      ['POST', `/v1/webhooks/${w.id}/disable`, { reason: 7 }, 'reason'],
      ['POST', `/v1/webhooks/${w.id}/recover`, { since: 'yesterday' }, 'since'],
      ['POST', `/v1/webhooks/${w.id}/recover`, {}, 'since'],
      ['POST', `/v1/webhooks/${w.id}/recover`, { since: '2025-01-02T00:00:00Z', until: '2025-01-01T00:00:00Z' }, 'until'],
      ['POST', `/v1/webhooks/${w.id}/recover`, { since: '2024-01-01T00:00:00Z', until: '2025-01-01T00:00:00Z' }, 'since'],
      ['POST', '/v1/events', { payload: {}, tenantId }, 'type'],
      ['POST', '/v1/events', { type: 'a', tenantId }, 'payload'],
      ['POST', '/v1/events', { type: 'no spaces', payload: 1, tenantId }, 'type'],
      ['POST', '/v1/events', { id: 'has.dot', type: 'a', payload: 1, tenantId }, 'id'],
      ['POST', '/v1/events', { type: 'a', payload: 1, time: 'noon', tenantId }, 'time'],
      ['GET', '/v1/webhooks?limit=0', undefined, 'limit'],
      ['GET', '/v1/webhooks?limit=501', undefined, 'limit'],
      ['GET', '/v1/webhooks?limit=ten', undefined, 'limit'],
      ['GET', '/v1/webhooks?active=maybe', undefined, 'active'],
      ['GET', '/v1/webhooks?cursor=garbage', undefined, 'cursor'],
      ['GET', '/v1/deliveries?status=bogus', undefined, 'status'],
      ['GET', '/v1/deliveries?since=last-week', undefined, 'since'],
      ['GET', '/v1/deliveries?limit=1.5', undefined, 'limit'],
      ['GET', '/v1/deliveries?cursor=eyJub3QiOiJhIGN1cnNvciJ9', undefined, 'cursor'],
      ['POST', '/v1/webhooks', { url, eventTypes: ['a'], tenantId }, 'Idempotency-Key'],
    ];
    for (const [method, route, body, field] of cases) {
      const headers: Record<string, string> = field === 'Idempotency-Key' ? { 'Idempotency-Key': 'x'.repeat(256) } : {};
      const as = admin() as unknown as Record<string, (p: string, b?: unknown, h?: Record<string, string>) => Promise<{ status: number; body: any }>>;
      const res = method === 'GET' ? await as.get!(route, headers) : await as[method.toLowerCase()]!(route, body, headers);
      const where = `${method} ${route} ${JSON.stringify(body)}`;
      expect(res.status, where).toBe(400);
      expect(res.body.error, where).toMatchObject({ code: 'validation', field });
      expect(res.body.error.message.startsWith(`${field}:`), `${where}: ${res.body.error.message}`).toBe(true);
    }
    // Nothing was written by any of them.
    expect((await admin().get(`/v1/webhooks?tenantId=${tenantId}`)).body.items.map((x: { id: string }) => x.id)).toEqual([w.id]);
    expect((await admin().get(`/v1/webhooks/${w.id}`)).body).toMatchObject({ timeoutMs: 15000, active: true });
    expect((await admin().get(`/v1/deliveries?tenantId=${tenantId}`)).body.items).toEqual([]);
    // A body that is not JSON at all.
    const notJson = await admin().post('/v1/webhooks', 'url=x', { 'content-type': 'text/plain' });
    expect(notJson.status).toBe(415);
    expect(notJson.body.error.code).toBe('unsupported_media_type');
  });

  it('Idempotency-Key: same key and body → the stored response (once created); other body → 409; failures keep nothing; keys are per tenant', async () => {
    const tenantId = uniqueId('t-');
    const key = uniqueId('key-');
    const body = { url: hook().url, eventTypes: ['*'], tenantId };
    const first = await admin().post('/v1/webhooks', body, { 'Idempotency-Key': key });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const replay = await admin().post('/v1/webhooks', body, { 'Idempotency-Key': key });
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(first.body); // same id, same secret
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.headers.get('location')).toBe(first.headers.get('location'));
    expect((await admin().get(`/v1/webhooks?tenantId=${tenantId}`)).body.items).toHaveLength(1);

    const other = await admin().post('/v1/webhooks', { ...body, eventTypes: ['order.*'] }, { 'Idempotency-Key': key });
    expect(other.status).toBe(409);
    expect(other.body.error).toMatchObject({ code: 'conflict', field: 'Idempotency-Key' });
    expect((await admin().get(`/v1/webhooks?tenantId=${tenantId}`)).body.items).toHaveLength(1);

    // The same key under another tenant's token is that tenant's key.
    const acmeFirst = await acme().post('/v1/webhooks', { url: body.url, eventTypes: ['*'] }, { 'Idempotency-Key': key });
    expect(acmeFirst.status).toBe(201);
    expect(acmeFirst.body.id).not.toBe(first.body.id);

    // A failed request keeps nothing: the key works afterwards, with a corrected body.
    const failKey = uniqueId('key-');
    expect((await admin().post('/v1/webhooks', { ...body, url: 'nope' }, { 'Idempotency-Key': failKey })).status).toBe(400);
    expect((await admin().post('/v1/webhooks', { ...body, description: 'fixed' }, { 'Idempotency-Key': failKey })).status).toBe(201);

    // Publishing and redelivering under a key: the retry gets the first answer (not "already published"
    // or "already running").
    const eventKey = uniqueId('key-');
    const event = { type: 'order.created', payload: { n: 1 }, tenantId };
    const published = await admin().post('/v1/events', event, { 'Idempotency-Key': eventKey });
    expect(published.status).toBe(202);
    const republished = await admin().post('/v1/events', event, { 'Idempotency-Key': eventKey });
    expect(republished.status).toBe(202);
    expect(republished.body).toEqual(published.body); // the same generated event id: one event, not two
    const id = published.body.deliveries[0].id as string;
    await deliveryIn(id, 'success');
    const redeliverKey = uniqueId('key-');
    const redelivered = await admin().post(`/v1/deliveries/${id}/redeliver`, undefined, { 'Idempotency-Key': redeliverKey });
    expect(redelivered.status).toBe(202);
    const retried = await admin().post(`/v1/deliveries/${id}/redeliver`, undefined, { 'Idempotency-Key': redeliverKey });
    expect(retried.status).toBe(202);
    expect(retried.body).toEqual(redelivered.body);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
  });

  it('pagination: following nextCursor walks every webhook and every delivery exactly once, newest first', async () => {
    const tenantId = uniqueId('t-');
    const created: string[] = [];
    for (let i = 0; i < 7; i += 1) created.push((await createWebhook({ url: hook().url, eventTypes: ['page.*'], tenantId })).id);

    async function walk(route: string) {
      const seen: { id: string; createdAt: string }[] = [];
      const sizes: number[] = [];
      let cursor: string | null = null;
      do {
        const res: { status: number; body: { items: { id: string; createdAt: string }[]; nextCursor: string | null } } = await admin().get(`${route}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        expect(res.status).toBe(200);
        sizes.push(res.body.items.length);
        seen.push(...res.body.items);
        cursor = res.body.nextCursor;
      } while (cursor !== null);
      const times = seen.map((x) => Date.parse(x.createdAt));
      expect(times).toEqual([...times].sort((a, b) => b - a));
      return { ids: seen.map((x) => x.id), sizes };
    }

    const webhooks = await walk(`/v1/webhooks?tenantId=${tenantId}&limit=3`);
    expect(webhooks.sizes).toEqual([3, 3, 1]);
    expect(new Set(webhooks.ids).size).toBe(7);
    expect([...webhooks.ids].sort()).toEqual([...created].sort());

    // 2 events × 7 webhooks = 14 deliveries.
    const eventIds = [uniqueId('evt_'), uniqueId('evt_')];
    for (const id of eventIds) expect((await admin().post('/v1/events', { id, type: 'page.viewed', payload: {}, tenantId })).status).toBe(202);
    const expected = eventIds.flatMap((e) => created.map((w) => deliveryId(w, e))).sort();
    await eventually(async () => {
      expect((await admin().get(`/v1/deliveries?tenantId=${tenantId}&limit=500`)).body.items).toHaveLength(14);
    }, DELIVERY_TIMEOUT_MS);
    const deliveries = await walk(`/v1/deliveries?tenantId=${tenantId}&limit=4`);
    expect(deliveries.sizes).toEqual([4, 4, 4, 2]);
    expect([...deliveries.ids].sort()).toEqual(expected);
  });

  it('413: a body over 1 MiB (field body) and a payload over maxPayloadBytes (field payload); nothing is stored', async () => {
    const tenantId = uniqueId('t-');
    const eventId = uniqueId('evt_');
    const huge = await admin().post('/v1/events', { id: eventId, type: 'big', payload: 'x'.repeat(1024 * 1024 + 1), tenantId });
    expect(huge.status).toBe(413);
    expect(huge.body.error).toMatchObject({ code: 'payload_too_large', field: 'body' });

    const big = await admin().post('/v1/events', { id: eventId, type: 'big', payload: { blob: 'x'.repeat(256 * 1024) }, tenantId });
    expect(big.status).toBe(413);
    expect(big.body.error).toMatchObject({ code: 'payload_too_large', field: 'payload' });
    expect(big.body.error.message).toMatch(/limit is 262144/);
    expect((await admin().get(`/v1/events/${eventId}?tenantId=${tenantId}`)).status).toBe(404);

    // Just under the limit goes through.
    const fits = await admin().post('/v1/events', { id: eventId, type: 'big', payload: 'x'.repeat(256 * 1024 - 2), tenantId });
    expect(fits.status).toBe(202);

    // A smaller configured limit applies as configured.
    const small = testApi({ temporal: dev.temporal.env.client, store: dev.store, taskQueue: 'unused', maxPayloadBytes: 1024 });
    const tooBig = await caller(small.app, ADMIN_TOKEN).post('/v1/events', { type: 'big', payload: 'x'.repeat(1100), tenantId });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.error.field).toBe('payload');
  });

  it('GET /metrics: deliveries by status and open ones from the table, attempts by outcome, latency, retries, deaths, HTTP requests', async () => {
    // One event to three webhooks: one succeeds, one waits for a retry (500), one is dead (400).
    const tenantId = uniqueId('t-');
    const ok = await createWebhook({ url: hook(200).url, eventTypes: ['*'], tenantId });
    const flaky = await createWebhook({ url: hook(500).url, eventTypes: ['*'], retrySchedule: [3600], tenantId });
    const rejecting = await createWebhook({ url: hook(400).url, eventTypes: ['*'], tenantId });
    const eventId = uniqueId('evt_');
    expect((await admin().post('/v1/events', { id: eventId, type: 'metric.test', payload: {}, tenantId })).status).toBe(202);
    await deliveryIn(deliveryId(ok.id, eventId), 'success');
    await deliveryIn(deliveryId(rejecting.id, eventId), 'dead');
    await eventually(async () => expect((await admin().get(`/v1/deliveries/${deliveryId(flaky.id, eventId)}`)).body).toMatchObject({ status: 'pending', attempts: 1 }), DELIVERY_TIMEOUT_MS);

    const res = await caller(api.app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body as string;
    expect(sample(text, 'herald_delivery_attempts_total{outcome="success"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'herald_delivery_attempts_total{outcome="retry"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'herald_delivery_attempts_total{outcome="dead"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'herald_delivery_retries_scheduled_total')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'herald_deliveries_dead_total')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'herald_delivery_attempt_duration_seconds_count{outcome="success"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'herald_http_requests_total{method="POST",route="/v1/events",status="202"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'herald_http_request_duration_seconds_count{method="GET",route="/v1/deliveries/:id"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'herald_store_up')).toBe(1);
    // The table gauges are the table, counted at scrape time.
    for (const status of ['pending', 'in_flight', 'success', 'dead', 'cancelled', 'skipped']) {
      expect(sample(text, `herald_deliveries{status="${status}"}`), status).toBe(await dev.store.count('herald_deliveries', { where: { status } }));
    }
    expect(sample(text, 'herald_deliveries_open')).toBe(await dev.store.count('herald_deliveries', { where: { status: { $in: ['pending', 'in_flight'] } } }));
    expect(sample(text, 'herald_deliveries_open')).toBeGreaterThanOrEqual(1);
  });

  it('over a real server on 127.0.0.1: create, publish, delivered; 401; 413 for a declared Content-Length over 1 MiB; /healthz', async () => {
    const server: ServerType = await new Promise((resolve) => {
      const s = serve({ fetch: api.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const http = caller(base, ADMIN_TOKEN);
      const tenantId = uniqueId('t-');
      const target = hook();
      const created = await http.post('/v1/webhooks', { url: target.url, eventTypes: ['*'], tenantId });
      expect(created.status).toBe(201);
      const eventId = uniqueId('evt_');
      const published = await http.post('/v1/events', { id: eventId, type: 'order.created', payload: { over: 'http' }, tenantId });
      expect(published.status).toBe(202);
      expect(published.headers.get('content-type')).toMatch(/^application\/json/);
      const id = deliveryId(created.body.id, eventId);
      await eventually(async () => expect((await http.get(`/v1/deliveries/${id}`)).body.status).toBe('success'), DELIVERY_TIMEOUT_MS);
      expect(verifyStandard(created.body.secret, requestsTo(target.path)[0]!)).toMatchObject({ data: { over: 'http' } });

      expect((await caller(base).get('/v1/deliveries')).status).toBe(401);
      const tooLarge = await http.post('/v1/events', JSON.stringify({ type: 'big', payload: 'x'.repeat(2 * 1024 * 1024), tenantId }));
      expect(tooLarge.status).toBe(413);
      expect(tooLarge.body.error.field).toBe('body');
      const health = await caller(base).get('/healthz');
      expect(health.status).toBe(200);
      expect(health.body).toEqual({ status: 'ok', checks: { temporal: { ok: true }, database: { ok: true } } });
    } finally {
      server.close();
    }
  });
});
