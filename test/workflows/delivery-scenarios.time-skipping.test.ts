import { WorkflowNotFoundError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import type { ActivityDeps } from '../../src/activities/create-activities.js';
import { parseEgressAllowList } from '../../src/egress/allow-list.js';
import { createGuardedDispatcher } from '../../src/egress/guarded-dispatcher.js';
import { DEFAULT_RETRY_SCHEDULE_SECONDS } from '../../src/delivery/retry-schedule.js';
import { HeraldClient } from '../../src/client/herald-client.js';
import { deliveryWorkflowId } from '../../src/delivery/ids.js';
import { ValidationError, WebhookNotFoundError } from '../../src/errors.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { expectDeliveryEnd, objectstackSignature, secretForms, serverTimeRecorder, verifyStandard } from '../support/delivery-checks.js';
import { testActivityDeps, uniqueId, TEST_BOX } from '../support/deps.js';
import { useTimeSkippingServer } from '../support/time-skipping-server.js';
import { deliveryResult } from '../../src/delivery/delivery-result.js';

// The delivery core's schedules on the time-skipping server: real HTTP to receivers on loopback, Temporal's
// timers jump. Each test has its own task queue, worker, client and receiver. Gaps between attempts are
// measured in server time (see serverTimeRecorder for why that source is exact).

/** Real milliseconds an attempt may add to a server-time gap on top of the delay Herald asked for. */
const GAP_SLACK_MS = 1_000;

describe('delivery scenarios on the time-skipping server', () => {
  const server = useTimeSkippingServer();
  const receiver = (host?: string) => server.receiver(host);

  /** A worker and a client on a fresh task queue. Workflows run only inside `run(…)`. */
  async function setup(opts: { deps?: Partial<ActivityDeps>; maxPayloadBytes?: number } = {}) {
    const { taskQueue, herald } = client(opts);
    const deps = testActivityDeps(server.store, opts.deps);
    const recorder = serverTimeRecorder(() => server.temporal.env.currentTimeMs(), deps.dispatcher);
    const worker = await createWorker({
      connection: server.temporal.env.nativeConnection,
      namespace: 'default',
      taskQueue,
      deps: { ...deps, dispatcher: recorder.dispatcher },
    });
    return { herald, recorder, run: <T>(promise: Promise<T>) => worker.runUntil(promise) };
  }

  /** A client on a fresh task queue that no worker polls (for input that must never start anything). */
  function client(opts: { maxPayloadBytes?: number } = {}) {
    const taskQueue = uniqueId('tq-');
    const herald = new HeraldClient({
      temporal: server.temporal.env.client,
      store: server.store,
      box: TEST_BOX,
      taskQueue,
      searchAttributes: false,
      ...(opts.maxPayloadBytes !== undefined ? { maxPayloadBytes: opts.maxPayloadBytes } : {}),
    });
    return { taskQueue, herald };
  }

  it('success at the first attempt: one signed POST, envelope of the event, custom header delivered', async () => {
    const { herald, run } = await setup();
    const rx = await receiver();
    const headerValue = `tok-${uniqueId('custom-')}`;
    const { webhook, secret } = await herald.webhooks.create({ url: rx.url, eventTypes: ['order.created'], headers: { 'X-Partner-Token': headerValue } });
    const eventId = uniqueId('evt_');
    const eventTime = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
    const marker = uniqueId('payload-marker-');
    const started = await herald.deliveries.deliver({ webhookId: webhook.id, eventId, eventType: 'order.created', payload: { orderId: 42, marker }, eventTime });
    const handle = herald.deliveries.handle(started.workflowId);

    const result = await run(deliveryResult(handle));

    expect(result).toEqual({ deliveryId: started.deliveryId, status: 'success', attempts: 1, responseCode: 200, error: null });
    expect(rx.requests).toHaveLength(1);
    const [request] = rx.requests;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe('/hook');
    expect(request!.headers['webhook-id']).toBe(eventId);
    expect(request!.headers['x-partner-token']).toBe(headerValue);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(verifyStandard(secret, request!)).toEqual({ type: 'order.created', timestamp: '2025-01-02T03:04:05.678Z', data: { orderId: 42, marker } });
    // The event id lives inside the (bytes) workflow input: finding it proves the history text is decoded. The
    // payload is stored once with the event and never enters history, so its marker must be absent.
    await expectDeliveryEnd({ herald, handle, deliveryId: started.deliveryId, result, secrets: [...secretForms(secret), headerValue, marker], present: [eventId] });
  });

  it('503, 503, 200 on [60, 600] without jitter: exactly 3 attempts, 60 s and 600 s apart in server time', async () => {
    const { herald, run, recorder } = await setup();
    const rx = await receiver();
    rx.respond = (_req, index) => (index < 2 ? { status: 503, body: 'down' } : { status: 200 });
    const { webhook, secret } = await herald.webhooks.create({ url: rx.url, retrySchedule: [60, 600], retryJitter: 0 });
    const eventId = uniqueId('evt_');
    const started = await herald.deliveries.deliver({ webhookId: webhook.id, eventId, eventType: 'order.created', payload: { n: 1 } });
    const handle = herald.deliveries.handle(started.workflowId);

    const result = await run(deliveryResult(handle));

    expect(result).toMatchObject({ status: 'success', attempts: 3, responseCode: 200, error: null });
    expect(rx.requests).toHaveLength(3);
    const gaps = recorder.gaps(started.deliveryId);
    expect(gaps).toHaveLength(2);
    expect(gaps[0]).toBeGreaterThanOrEqual(60_000);
    expect(gaps[0]).toBeLessThan(60_000 + GAP_SLACK_MS);
    expect(gaps[1]).toBeGreaterThanOrEqual(600_000);
    expect(gaps[1]).toBeLessThan(600_000 + GAP_SLACK_MS);
    // Every attempt signed afresh and verifiable, with the same webhook-id.
    for (const request of rx.requests) {
      expect(request.headers['webhook-id']).toBe(eventId);
      verifyStandard(secret, request);
    }
    const row = await expectDeliveryEnd({ herald, handle, deliveryId: started.deliveryId, result, secrets: secretForms(secret), present: [eventId] });
    expect(row.attemptLog.map((a) => [a.outcome, a.responseCode])).toEqual([
      ['retry', 503],
      ['retry', 503],
      ['success', 200],
    ]);
  });

  it('the default 10-attempt schedule, exhausted: dead after ~3 days of skipped time, last response recorded', async () => {
    const { herald, run, recorder } = await setup();
    const rx = await receiver();
    rx.respond = () => ({ status: 503 });
    // Default schedule and default jitter (0.2); the test deps' random() of 0.5 makes the jitter factor exactly 1.
    const { webhook, secret } = await herald.webhooks.create({ url: rx.url });
    expect(webhook.retrySchedule).toEqual([...DEFAULT_RETRY_SCHEDULE_SECONDS]);
    const eventId = uniqueId('evt_');
    const started = await herald.deliveries.deliver({ webhookId: webhook.id, eventId, eventType: 'order.created', payload: {} });
    const handle = herald.deliveries.handle(started.workflowId);

    const serverStart = await server.temporal.env.currentTimeMs();
    const result = await run(deliveryResult(handle));
    const serverElapsedMs = (await server.temporal.env.currentTimeMs()) - serverStart;

    expect(result).toMatchObject({ status: 'dead', attempts: 10, responseCode: 503 });
    expect(result.error).toContain('HTTP 503');
    expect(rx.requests).toHaveLength(10);
    const totalS = DEFAULT_RETRY_SCHEDULE_SECONDS.reduce((a, b) => a + b, 0);
    expect(totalS).toBe(272_105);
    expect(serverElapsedMs).toBeGreaterThanOrEqual(totalS * 1000);
    const gaps = recorder.gaps(started.deliveryId);
    expect(gaps).toHaveLength(9);
    gaps.forEach((gap, i) => {
      const expected = DEFAULT_RETRY_SCHEDULE_SECONDS[i]! * 1000;
      expect(gap).toBeGreaterThanOrEqual(expected);
      expect(gap).toBeLessThan(expected + GAP_SLACK_MS);
    });
    const row = await expectDeliveryEnd({ herald, handle, deliveryId: started.deliveryId, result, secrets: secretForms(secret), present: [eventId] });
    expect(row.attemptLog.at(-1)).toMatchObject({ attempt: 10, outcome: 'dead', responseCode: 503, nextRetryAt: null });
    expect(row.attemptLog.slice(0, 9).every((a) => a.outcome === 'retry')).toBe(true);
  });

  it('400 is dead at once', async () => {
    const { herald, run } = await setup();
    const rx = await receiver();
    rx.respond = () => ({ status: 400, body: 'bad' });
    const { webhook, secret } = await herald.webhooks.create({ url: rx.url });
    const eventId = uniqueId('evt_');
    const started = await herald.deliveries.deliver({ webhookId: webhook.id, eventId, eventType: 'order.created', payload: {} });
    const handle = herald.deliveries.handle(started.workflowId);

    const result = await run(deliveryResult(handle));

    expect(result).toMatchObject({ status: 'dead', attempts: 1, responseCode: 400, error: 'HTTP 400' });
    expect(rx.requests).toHaveLength(1);
    expect((await herald.webhooks.get(webhook.id)).active).toBe(true);
    await expectDeliveryEnd({ herald, handle, deliveryId: started.deliveryId, result, secrets: secretForms(secret), present: [eventId] });
  });

  it('410 is dead at once and disables the webhook with a reason', async () => {
    const { herald, run } = await setup();
    const rx = await receiver();
    rx.respond = () => ({ status: 410 });
    const { webhook, secret } = await herald.webhooks.create({ url: rx.url });
    const eventId = uniqueId('evt_');
    const started = await herald.deliveries.deliver({ webhookId: webhook.id, eventId, eventType: 'order.created', payload: {} });
    const handle = herald.deliveries.handle(started.workflowId);

    const result = await run(deliveryResult(handle));

    expect(result).toMatchObject({ status: 'dead', attempts: 1, responseCode: 410 });
    expect(rx.requests).toHaveLength(1);
    const disabled = await herald.webhooks.get(webhook.id);
    expect(disabled.active).toBe(false);
    expect(disabled.disabledReason).toMatch(/410/);
    expect(disabled.disabledAt).not.toBeNull();
    // A disabled webhook takes no new deliveries.
    await expect(herald.deliveries.deliver({ webhookId: webhook.id, eventId: uniqueId('evt_'), eventType: 'order.created', payload: {} })).rejects.toMatchObject({
      name: 'ValidationError',
      field: 'webhookId',
    });
    await expectDeliveryEnd({ herald, handle, deliveryId: started.deliveryId, result, secrets: secretForms(secret), present: [eventId] });
  });

  it('Retry-After is honoured over a shorter schedule: 120 s delta-seconds, then an HTTP-date', async () => {
    const { herald, run, recorder } = await setup();
    const rx = await receiver();
    let dateAheadMs = 0;
    rx.respond = (_req, index) => {
      if (index === 0) return { status: 429, headers: { 'retry-after': '120' } };
      if (index === 1) {
        // The receiver's own clock, as a real receiver's; whole seconds, as HTTP-dates are, at least 301 s ahead.
        const now = Date.now();
        const at = Math.ceil((now + 301_000) / 1000) * 1000;
        dateAheadMs = at - now;
        return { status: 503, headers: { 'retry-after': new Date(at).toUTCString() } };
      }
      return { status: 200 };
    };
    const { webhook, secret } = await herald.webhooks.create({ url: rx.url, retrySchedule: [5, 5], retryJitter: 0 });
    const eventId = uniqueId('evt_');
    const started = await herald.deliveries.deliver({ webhookId: webhook.id, eventId, eventType: 'order.created', payload: {} });
    const handle = herald.deliveries.handle(started.workflowId);

    const result = await run(deliveryResult(handle));

    expect(result).toMatchObject({ status: 'success', attempts: 3, responseCode: 200 });
    const [afterDelta, afterDate] = recorder.gaps(started.deliveryId);
    expect(afterDelta).toBeGreaterThanOrEqual(120_000);
    expect(afterDelta).toBeLessThan(120_000 + GAP_SLACK_MS);
    expect(dateAheadMs).toBeGreaterThanOrEqual(301_000);
    expect(afterDate).toBeGreaterThanOrEqual(300_000);
    expect(afterDate).toBeLessThan(dateAheadMs + GAP_SLACK_MS);
    const row = await expectDeliveryEnd({ herald, handle, deliveryId: started.deliveryId, result, secrets: secretForms(secret), present: [eventId] });
    expect(row.attemptLog.map((a) => a.responseCode)).toEqual([429, 503, 200]);
  });

  it('a receiver slower than timeoutMs: the attempt is recorded as a timeout and retried', async () => {
    const { herald, run } = await setup();
    const rx = await receiver();
    rx.respond = (_req, index) => (index === 0 ? { status: 200, delayMs: 2_500 } : { status: 200 });
    const { webhook, secret } = await herald.webhooks.create({ url: rx.url, timeoutMs: 1_000, retrySchedule: [5], retryJitter: 0 });
    const eventId = uniqueId('evt_');
    const started = await herald.deliveries.deliver({ webhookId: webhook.id, eventId, eventType: 'order.created', payload: {} });
    const handle = herald.deliveries.handle(started.workflowId);

    const result = await run(deliveryResult(handle));

    expect(result).toMatchObject({ status: 'success', attempts: 2, responseCode: 200 });
    expect(rx.requests).toHaveLength(2);
    const row = await expectDeliveryEnd({ herald, handle, deliveryId: started.deliveryId, result, secrets: secretForms(secret), present: [eventId] });
    expect(row.attemptLog[0]).toMatchObject({ attempt: 1, outcome: 'retry', responseCode: null, error: 'timeout after 1000ms' });
    expect(row.attemptLog[0]!.durationMs).toBeGreaterThanOrEqual(1_000);
    expect(row.attemptLog[0]!.durationMs).toBeLessThan(2_500);
    expect(row.attemptLog[1]).toMatchObject({ attempt: 2, outcome: 'success', responseCode: 200, error: null });
  });

  it('a 302 is not followed: dead, and the Location target sees no request', async () => {
    const { herald, run } = await setup();
    const rx = await receiver();
    rx.respond = (req) => (req.url === '/hook' ? { status: 302, headers: { location: `http://127.0.0.1:${rx.port}/elsewhere` } } : { status: 200 });
    const { webhook, secret } = await herald.webhooks.create({ url: rx.url });
    const eventId = uniqueId('evt_');
    const started = await herald.deliveries.deliver({ webhookId: webhook.id, eventId, eventType: 'order.created', payload: {} });
    const handle = herald.deliveries.handle(started.workflowId);

    const result = await run(deliveryResult(handle));

    expect(result).toMatchObject({ status: 'dead', attempts: 1, responseCode: 302 });
    expect(result.error).toMatch(/redirect/);
    expect(rx.requests.map((r) => r.url)).toEqual(['/hook']);
    await expectDeliveryEnd({ herald, handle, deliveryId: started.deliveryId, result, secrets: secretForms(secret), present: [eventId] });
  });

  it('SSRF: 127.0.0.2 outside the allow-list is refused without a request; allowed once the list includes it', async () => {
    const outside = await receiver('127.0.0.2');

    // The test deps allow only 127.0.0.1.
    const refused = await setup();
    const { webhook, secret } = await refused.herald.webhooks.create({ url: outside.url });
    const eventId = uniqueId('evt_');
    const started = await refused.herald.deliveries.deliver({ webhookId: webhook.id, eventId, eventType: 'order.created', payload: {} });
    const handle = refused.herald.deliveries.handle(started.workflowId);
    const result = await refused.run(deliveryResult(handle));

    expect(result).toMatchObject({ status: 'dead', attempts: 1, responseCode: null });
    expect(result.error).toMatch(/^egress refused: 127\.0\.0\.2 is loopback/);
    expect(outside.requests).toHaveLength(0);
    const row = await expectDeliveryEnd({ herald: refused.herald, handle, deliveryId: started.deliveryId, result, secrets: secretForms(secret), present: [eventId] });
    expect(row.attemptLog[0]).toMatchObject({ outcome: 'refused', responseCode: null });
    expect(outside.requests).toHaveLength(0);

    const allowed = await setup({ deps: { dispatcher: createGuardedDispatcher({ allow: parseEgressAllowList('127.0.0.1,127.0.0.2') }) } });
    const other = await allowed.herald.webhooks.create({ url: outside.url });
    const otherEventId = uniqueId('evt_');
    const started2 = await allowed.herald.deliveries.deliver({ webhookId: other.webhook.id, eventId: otherEventId, eventType: 'order.created', payload: {} });
    const handle2 = allowed.herald.deliveries.handle(started2.workflowId);
    const result2 = await allowed.run(deliveryResult(handle2));

    expect(result2).toMatchObject({ status: 'success', attempts: 1, responseCode: 200 });
    expect(outside.requests).toHaveLength(1);
    verifyStandard(other.secret, outside.requests[0]!);
    await expectDeliveryEnd({ herald: allowed.herald, handle: handle2, deliveryId: started2.deliveryId, result: result2, secrets: secretForms(other.secret), present: [otherEventId] });
  });

  it('objectstack scheme: X-Objectstack-Signature is the hex HMAC-SHA256 of the body, with delivery, attempt and event headers', async () => {
    const { herald, run } = await setup();
    const rx = await receiver();
    rx.respond = (_req, index) => (index === 0 ? { status: 500 } : { status: 200 });
    const secret = `objectstack-${uniqueId('s')}-secret`;
    const { webhook, secret: returned } = await herald.webhooks.create({ url: rx.url, signatureScheme: 'objectstack', secret, retrySchedule: [5], retryJitter: 0 });
    expect(returned).toBe(secret);
    const eventId = uniqueId('evt_');
    const payload = { orderId: 7, note: 'ünïcode' };
    const started = await herald.deliveries.deliver({ webhookId: webhook.id, eventId, eventType: 'order.paid', payload });
    const handle = herald.deliveries.handle(started.workflowId);

    const result = await run(deliveryResult(handle));

    expect(result).toMatchObject({ status: 'success', attempts: 2, responseCode: 200 });
    expect(rx.requests).toHaveLength(2);
    rx.requests.forEach((request, i) => {
      expect(request.body).toBe(JSON.stringify(payload));
      expect(request.headers['x-objectstack-signature']).toBe(objectstackSignature(secret, request.body));
      expect(request.headers['x-objectstack-delivery']).toBe(started.deliveryId);
      expect(request.headers['x-objectstack-attempt']).toBe(String(i + 1));
      expect(request.headers['x-objectstack-event']).toBe('order.paid');
      expect(request.headers['user-agent']).toBe('Herald/test');
      expect(request.headers['webhook-signature']).toBeUndefined();
    });
    await expectDeliveryEnd({ herald, handle, deliveryId: started.deliveryId, result, secrets: [secret], present: [eventId] });
  });

  it('protected headers are refused at createWebhook, naming headers.<name>, and nothing is written', async () => {
    const { herald } = client();
    const rx = await receiver();
    const before = await server.store.count('herald_webhooks');
    for (const name of ['webhook-signature', 'Webhook-Id', 'Content-Type', 'X-Objectstack-Signature', 'svix-signature', 'Host', 'Transfer-Encoding', 'X-Herald-Attempt']) {
      const attempt = herald.webhooks.create({ url: rx.url, headers: { [name]: 'x' } });
      await expect(attempt).rejects.toBeInstanceOf(ValidationError);
      await expect(attempt).rejects.toMatchObject({ field: `headers.${name}` });
    }
    await expect(herald.webhooks.create({ url: rx.url, headers: { 'bad header': 'x' } })).rejects.toMatchObject({ name: 'ValidationError', field: 'headers.bad header' });
    expect(await server.store.count('herald_webhooks')).toBe(before);
  });

  it('bad input at deliver and createWebhook: a typed error naming the field, and nothing started or written', async () => {
    const { herald } = client({ maxPayloadBytes: 64 });
    const rx = await receiver();
    const webhooksBefore = await server.store.count('herald_webhooks');
    for (const [url, field] of [
      ['not a url', 'url'],
      ['ftp://127.0.0.1/hook', 'url'],
      ['http://user:pw@127.0.0.1/hook', 'url'],
    ] as const) {
      await expect(herald.webhooks.create({ url })).rejects.toMatchObject({ name: 'ValidationError', field });
    }
    await expect(herald.webhooks.create({ url: rx.url, timeoutMs: 999 })).rejects.toMatchObject({ name: 'ValidationError', field: 'timeoutMs' });
    await expect(herald.webhooks.create({ url: rx.url, retrySchedule: [0] })).rejects.toMatchObject({ name: 'ValidationError', field: 'retrySchedule' });
    await expect(herald.webhooks.create({ url: rx.url, signatureScheme: 'objectstack', secret: 'too-short' })).rejects.toMatchObject({ name: 'ValidationError', field: 'secret' });
    expect(await server.store.count('herald_webhooks')).toBe(webhooksBefore);

    const { webhook } = await herald.webhooks.create({ url: rx.url });
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    const good = { webhookId: webhook.id, eventId: uniqueId('evt_'), eventType: 'order.created', payload: { ok: true } };
    const cases: { input: Parameters<HeraldClient['deliveries']['deliver']>[0]; field: string }[] = [
      { input: { ...good, payload: { n: 10n } }, field: 'payload' },
      { input: { ...good, payload: circular }, field: 'payload' },
      { input: { ...good, payload: { blob: 'x'.repeat(100) } }, field: 'payload' },
      { input: { ...good, eventId: '' }, field: 'eventId' },
      { input: { ...good, eventId: 'e'.repeat(129) }, field: 'eventId' },
      { input: { ...good, eventId: 'evt.with.dots' }, field: 'eventId' },
      { input: { ...good, eventId: 'evt with space' }, field: 'eventId' },
      { input: { ...good, eventType: '' }, field: 'eventType' },
      { input: { ...good, eventType: `t${'x'.repeat(128)}` }, field: 'eventType' },
      { input: { ...good, eventType: 'order..created' }, field: 'eventType' },
      { input: { ...good, webhookId: '' }, field: 'webhookId' },
    ];
    for (const { input, field } of cases) {
      const attempt = herald.deliveries.deliver(input);
      await expect(attempt, `${field}: ${JSON.stringify(input.eventId)}`).rejects.toBeInstanceOf(ValidationError);
      await expect(attempt).rejects.toMatchObject({ field });
      await expectNothingStarted(herald, input.webhookId, input.eventId);
    }
    const unknown = { ...good, webhookId: 'wh_doesnotexist' };
    const missing = herald.deliveries.deliver(unknown);
    await expect(missing).rejects.toBeInstanceOf(WebhookNotFoundError);
    await expect(missing).rejects.toMatchObject({ webhookId: 'wh_doesnotexist' });
    await expectNothingStarted(herald, unknown.webhookId, unknown.eventId);

    // The limit is the option's: the same payload under a client with the default limit is fine (not started here).
    expect(await server.store.count('herald_deliveries', { where: { webhook_id: webhook.id } })).toBe(0);
    expect(rx.requests).toHaveLength(0);
  });

  async function expectNothingStarted(herald: HeraldClient, webhookId: string, eventId: string) {
    if (webhookId !== '' && eventId !== '') {
      await expect(herald.deliveries.handle(deliveryWorkflowId(webhookId, eventId)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    }
    expect(await server.store.count('herald_deliveries', { where: { event_id: eventId } })).toBe(0);
    expect((await herald.deliveries.list({ webhookId: webhookId || 'wh_none' })).items).toHaveLength(0);
  }
});
