import { pino } from 'pino';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HeraldClient } from '../../src/client/herald-client.js';
import { operationalEventData, publishOperationalEvent, type OperationalEvent, type OperationalEventDeps } from '../../src/delivery/operational-events.js';
import type { Delivery } from '../../src/store/deliveries.js';
import { findEvent, recordEvent } from '../../src/store/events.js';
import { eventually, verifyStandard } from '../support/delivery-checks.js';
import { uniqueId } from '../support/deps.js';
import { useDevServerFixture } from '../support/dev-server-fixture.js';
import { ADMIN_TOKEN, caller, testApi } from '../support/http.js';
import type { Receiver } from '../support/receiver.js';

// Herald's operational events on a real dev server, a real worker, a SQLite delivery table and receivers on
// 127.0.0.1. The triggers (the breaker, the death of a delivery) are wired elsewhere; here the reports are
// made by calling publishOperationalEvent directly, as the activities do, and what matters is what arrives:
// signed like any event, only at the webhooks that name herald.*, once per occurrence, and never in a loop.

const DELIVERY_TIMEOUT_MS = 30_000;

describe('operational events on the dev server', () => {
  const dev = useDevServerFixture('opevents');
  let herald: HeraldClient;
  let deps: OperationalEventDeps;
  let taskQueue: string;

  beforeAll(async () => {
    ({ taskQueue } = await dev.runningWorker());
    herald = dev.client({ taskQueue });
    deps = { store: dev.store, starter: { temporal: dev.temporal.env.client, taskQueue, searchAttributes: true }, clock: Date.now, logger: pino({ level: 'silent' }) };
  });

  async function hook(tenantId: string, rx: Receiver, eventTypes: string[]) {
    return await herald.webhooks.create({ url: `${rx.url}?${uniqueId('h')}`, tenantId, eventTypes, retryJitter: 0 });
  }

  /** The event's deliveries once each has reached a final status. */
  async function finished(tenantId: string, eventId: string, count: number): Promise<Delivery[]> {
    return await eventually(async () => {
      const { items } = await herald.deliveries.list({ tenantId, eventId });
      expect(items).toHaveLength(count);
      for (const d of items) expect(['success', 'dead', 'skipped']).toContain(d.status);
      return items;
    }, DELIVERY_TIMEOUT_MS);
  }

  /** What the death of `d` reports. */
  const deathOf = (d: Delivery): OperationalEvent => ({
    type: 'herald.delivery.dead',
    tenantId: d.tenantId,
    deliveryId: d.id,
    runId: d.runId!,
    webhookId: d.webhookId,
    eventId: d.eventId,
    eventType: d.eventType,
    attempts: d.attempts,
    responseCode: d.responseCode,
    error: d.error,
    occurredAt: d.updatedAt,
  });

  it('an operator webhook on herald.* gets a signed herald.webhook.disabled, once; `*`, the subject and other herald types get nothing', async () => {
    const tenantId = uniqueId('t-');
    const [opsRx, allRx, subjectRx, deadOnlyRx] = await Promise.all([dev.receiver(), dev.receiver(), dev.receiver(), dev.receiver()]);
    const ops = await hook(tenantId, opsRx, ['herald.*']);
    await hook(tenantId, allRx, ['*']);
    await hook(tenantId, deadOnlyRx, ['herald.delivery.dead']);
    // The webhook the event is about subscribes to herald.* too: it must not hear about itself.
    const subject = await hook(tenantId, subjectRx, ['order.*', 'herald.*']);
    const disabledAt = Date.now();
    await herald.webhooks.disable(subject.webhook.id, 'failing without a success for 5 days');

    const report: OperationalEvent = { type: 'herald.webhook.disabled', tenantId, webhookId: subject.webhook.id, url: subject.webhook.url, reason: 'failing without a success for 5 days', occurredAt: disabledAt };
    const first = await publishOperationalEvent(deps, report);
    expect(first).toEqual({ published: true, eventId: `herald_webhook_disabled_${subject.webhook.id}_${disabledAt}`, deliveries: 1 });

    const [request] = await opsRx.waitForRequests(1, DELIVERY_TIMEOUT_MS);
    expect(request!.headers['webhook-id']).toBe(first.eventId);
    const headers = request!.headers as Record<string, string>;
    const envelope = new StandardWebhook(ops.secret).verify(request!.body, {
      'webhook-id': headers['webhook-id']!,
      'webhook-timestamp': headers['webhook-timestamp']!,
      'webhook-signature': headers['webhook-signature']!,
    });
    expect(envelope).toEqual({
      type: 'herald.webhook.disabled',
      timestamp: new Date(disabledAt).toISOString(),
      data: { webhookId: subject.webhook.id, url: subject.webhook.url, reason: 'failing without a success for 5 days', occurredAt: new Date(disabledAt).toISOString() },
    });
    const [delivery] = await finished(tenantId, first.eventId, 1);
    expect(delivery).toMatchObject({ webhookId: ops.webhook.id, status: 'success' });

    // The same occurrence reported again (a retried activity): nothing new is stored, started or sent.
    expect(await publishOperationalEvent(deps, { ...report })).toEqual({ published: false, eventId: first.eventId, deliveries: 1, reason: 'already published' });

    // A tenant event after it: `*` gets it, proof the receivers work and the operational event went first.
    const order = await herald.events.publish({ tenantId, type: 'order.created', payload: { n: 1 } });
    expect(order.deliveries.map((d) => d.webhookId).sort()).not.toContain(ops.webhook.id);
    await allRx.waitForRequests(1, DELIVERY_TIMEOUT_MS);
    await finished(tenantId, order.eventId, 2); // `*` delivered, the disabled subject skipped
    expect(allRx.requests.map((r) => r.headers['webhook-id'])).toEqual([order.eventId]);
    expect(opsRx.requests).toHaveLength(1);
    expect(subjectRx.requests).toHaveLength(0);
    expect(deadOnlyRx.requests).toHaveLength(0);
    expect((await herald.deliveries.list({ tenantId, eventId: first.eventId })).items).toHaveLength(1);
  });

  it('a report stored by a first try that stopped, then made twice at once, is delivered once', async () => {
    const tenantId = uniqueId('t-');
    const opsRx = await dev.receiver();
    const ops = await hook(tenantId, opsRx, ['herald.webhook.*']);
    const openedAt = Date.now();
    const report: OperationalEvent = { type: 'herald.webhook.failing', tenantId, webhookId: 'wh_someone_else', url: 'https://hooks.example.com/x', consecutiveFailures: 10, nextProbeAt: openedAt + 30_000, occurredAt: openedAt };
    const eventId = `herald_webhook_failing_wh_someone_else_${openedAt}`;
    // The first try stored the event and stopped before starting anything.
    await recordEvent(dev.store, { tenantId, eventId, eventType: 'herald.webhook.failing', eventTimeMs: openedAt, payloadJson: JSON.stringify(operationalEventData(report)) });

    // Two reports at once (two workers saw the transition): either may finish the fan-out first.
    const results = await Promise.all([publishOperationalEvent(deps, report), publishOperationalEvent(deps, report)]);
    expect(results.map((r) => r.eventId)).toEqual([eventId, eventId]);
    expect(results.some((r) => r.published)).toBe(true);
    for (const r of results) expect(r).toEqual(r.published ? { published: true, eventId, deliveries: 1 } : { published: false, eventId, deliveries: 1, reason: 'already published' });
    expect(await publishOperationalEvent(deps, report)).toMatchObject({ published: false, reason: 'already published' });
    await finished(tenantId, eventId, 1);
    const [request] = await opsRx.waitForRequests(1, DELIVERY_TIMEOUT_MS);
    expect(verifyStandard(ops.secret, request!)).toMatchObject({ type: 'herald.webhook.failing' });
    await new Promise((r) => setTimeout(r, 500));
    expect(opsRx.requests).toHaveLength(1);
  });

  it('a large fan-out (the fanOutEvent workflow) leaves the subject out too; a tenant event through it still reaches `*`', async () => {
    const tenantId = uniqueId('t-');
    const [opsRx, allRx] = await Promise.all([dev.receiver(), dev.receiver()]);
    const operators = [await hook(tenantId, opsRx, ['herald.*']), await hook(tenantId, opsRx, ['herald.webhook.*']), await hook(tenantId, opsRx, ['herald.webhook.recovered'])];
    await hook(tenantId, allRx, ['*']);
    const subject = operators[1]!.webhook;
    const report: OperationalEvent = { type: 'herald.webhook.recovered', tenantId, webhookId: subject.id, url: subject.url, failedForMs: 90_000, occurredAt: Date.now() };
    const published = await publishOperationalEvent({ ...deps, directFanOutLimit: 0 }, report);
    expect(published).toMatchObject({ published: true, deliveries: 2 });
    expect(await herald.events.fanOutResult(published.eventId, tenantId)).toMatchObject({ matched: 2, started: 2, skipped: 0 });
    const delivered = await finished(tenantId, published.eventId, 2);
    expect(delivered.map((d) => d.webhookId).sort()).toEqual([operators[0]!.webhook.id, operators[2]!.webhook.id].sort());
    await opsRx.waitForRequests(2, DELIVERY_TIMEOUT_MS);
    const toFirst = opsRx.requests.find((r) => operators[0]!.webhook.url.endsWith(r.url))!;
    expect(verifyStandard(operators[0]!.secret, toFirst)).toMatchObject({
      type: 'herald.webhook.recovered',
      data: { webhookId: subject.id, failedForMs: 90_000 },
    });

    const order = await herald.events.publish({ tenantId, type: 'order.created', payload: { n: 1 }, fanOut: { directLimit: 0 } });
    expect(order).toMatchObject({ fanOut: 'workflow', deliveriesTruncated: false });
    expect(await herald.events.fanOutResult(order.eventId, tenantId)).toMatchObject({ matched: 1, started: 1 });
    await allRx.waitForRequests(1, DELIVERY_TIMEOUT_MS);
    expect(allRx.requests.map((r) => r.headers['webhook-id'])).toEqual([order.eventId]);
    expect(opsRx.requests).toHaveLength(2);
  });

  it('a dead delivery of a herald.* event publishes no herald.delivery.dead; a dead tenant delivery does, to every operator webhook but its own', async () => {
    const tenantId = uniqueId('t-');
    const [opsRx, brokenRx, ordersRx] = await Promise.all([dev.receiver(), dev.receiver(() => ({ status: 400 })), dev.receiver(() => ({ status: 400 }))]);
    const ops = await hook(tenantId, opsRx, ['herald.*']);
    // An operator endpoint that refuses everything (400 kills a delivery at once).
    const broken = await hook(tenantId, brokenRx, ['herald.*']);
    // A tenant endpoint that also wants to hear about deliveries: its own deaths are not sent to it.
    const orders = await hook(tenantId, ordersRx, ['order.*', 'herald.delivery.*']);

    // 1. An operational event reaches both operator webhooks; the broken one's delivery dies.
    const failing = await publishOperationalEvent(deps, {
      type: 'herald.webhook.failing',
      tenantId,
      webhookId: 'wh_elsewhere',
      url: 'https://hooks.example.com/e',
      consecutiveFailures: 10,
      nextProbeAt: Date.now() + 30_000,
      occurredAt: Date.now(),
    });
    expect(failing).toMatchObject({ published: true, deliveries: 2 });
    const firstRound = await finished(tenantId, failing.eventId, 2);
    const brokenDeath = firstRound.find((d) => d.webhookId === broken.webhook.id)!;
    expect(brokenDeath).toMatchObject({ status: 'dead', responseCode: 400, eventType: 'herald.webhook.failing' });

    // Its death is about an operational event: nothing is published, nothing stored.
    const suppressed = await publishOperationalEvent(deps, deathOf(brokenDeath));
    expect(suppressed).toMatchObject({ published: false, deliveries: 0, reason: 'operational event about an operational event' });
    expect(await findEvent(dev.store, tenantId, suppressed.eventId)).toBeUndefined();

    // 2. A tenant event dies at `orders`: its death goes to `ops` and `broken`, not to `orders` itself.
    const order = await herald.events.publish({ tenantId, type: 'order.created', payload: { n: 1 } });
    const [orderDeath] = await finished(tenantId, order.eventId, 1);
    expect(orderDeath).toMatchObject({ webhookId: orders.webhook.id, status: 'dead', responseCode: 400 });
    // The worker published the death itself when the attempt came back dead; reporting it again is a no-op.
    const reported = await publishOperationalEvent(deps, deathOf(orderDeath!));
    expect(reported).toMatchObject({ published: false, reason: 'already published', eventId: `herald_delivery_dead_${orderDeath!.id}_${orderDeath!.runId}` });
    const secondRound = await finished(tenantId, reported.eventId, 2);
    expect(secondRound.map((d) => d.webhookId).sort()).toEqual([ops.webhook.id, broken.webhook.id].sort());

    await opsRx.waitForRequests(2, DELIVERY_TIMEOUT_MS);
    const deathEvent = verifyStandard(ops.secret, opsRx.requests[1]!) as { timestamp: string; data: { occurredAt: string } };
    // When the worker noticed the death: at or just after the row's final write.
    const noticedAt = Date.parse(deathEvent.data.occurredAt);
    expect(noticedAt).toBeGreaterThanOrEqual(orderDeath!.updatedAt);
    expect(noticedAt - orderDeath!.updatedAt).toBeLessThan(5_000);
    expect(deathEvent).toEqual({
      type: 'herald.delivery.dead',
      timestamp: deathEvent.data.occurredAt,
      data: {
        deliveryId: orderDeath!.id,
        runId: orderDeath!.runId,
        webhookId: orders.webhook.id,
        eventId: order.eventId,
        eventType: 'order.created',
        attempts: 1,
        responseCode: 400,
        error: orderDeath!.error,
        occurredAt: deathEvent.data.occurredAt,
      },
    });

    // The broken operator webhook's delivery of that death dies too, and the chain stops there.
    const brokenAgain = secondRound.find((d) => d.webhookId === broken.webhook.id)!;
    expect(brokenAgain.status).toBe('dead');
    expect(await publishOperationalEvent(deps, deathOf(brokenAgain))).toMatchObject({ published: false, reason: 'operational event about an operational event' });
    expect(ordersRx.requests.map((r) => r.headers['webhook-id'])).toEqual([order.eventId]);
    expect(opsRx.requests).toHaveLength(2);
  });

  it('tenants cannot publish herald.* events: the client and POST /v1/events refuse them with 400, storing nothing', async () => {
    const tenantId = uniqueId('t-');
    const rx = await dev.receiver();
    const { webhook } = await hook(tenantId, rx, ['herald.*']);
    const forged = uniqueId('evt_');
    const reason = 'must not start with "herald.": that prefix is reserved for Herald\'s operational events';

    await expect(herald.events.publish({ id: forged, tenantId, type: 'herald.webhook.disabled', payload: { webhookId: webhook.id } })).rejects.toMatchObject({
      name: 'ValidationError',
      field: 'type',
      reason,
    });
    await expect(herald.deliveries.deliver({ tenantId, webhookId: webhook.id, eventId: forged, eventType: 'herald.delivery.dead', payload: {} })).rejects.toMatchObject({
      name: 'ValidationError',
      field: 'eventType',
      reason,
    });

    const api = testApi({ temporal: dev.temporal.env.client, store: dev.store, taskQueue });
    const res = await caller(api.app, ADMIN_TOKEN).post('/v1/events', { id: forged, tenantId, type: 'herald.webhook.failing', payload: {} });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'validation', field: 'type' });
    expect(res.body.error.message).toContain('reserved');
    // A tenant type that only looks alike is an ordinary event.
    expect((await caller(api.app, ADMIN_TOKEN).post('/v1/events', { tenantId, type: 'heraldry.created', payload: {} })).status).toBe(202);

    expect(await findEvent(dev.store, tenantId, forged)).toBeUndefined();
    expect(rx.requests).toHaveLength(0);
  });
});
