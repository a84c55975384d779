import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/errors.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { eventually } from '../support/delivery-checks.js';
import { uniqueId } from '../support/deps.js';
import { useDevServerFixture } from '../support/dev-server-fixture.js';
import type { ReceivedRequest } from '../support/receiver.js';
import type { TemporalForTests } from '../support/temporal.js';

// Durable fan-out on the real dev server: one publish reaches every matching webhook exactly once, through
// several continue-as-new runs, and concurrent publishes of one event converge. The delivery
// table is a SQLite file. Each test uses its own tenant, so no test's webhooks match another test's events.

const FAN_OUT_WEBHOOKS = 1000;
/** Also in the tenant, subscribed to other types: they must get nothing. */
const NON_MATCHING_WEBHOOKS = 10;
const CREATE_CHUNK = 100;
/** The test takes 30-45 s alone on 2 cores; the limit leaves room for a machine shared with other suites. */
const FAN_OUT_TEST_TIMEOUT_MS = 240_000;

describe('fan-out on the dev server', () => {
  const fx = useDevServerFixture('fan-out');
  let temporal: TemporalForTests;
  let store: DataEngine;

  beforeAll(() => {
    temporal = fx.temporal;
    store = fx.store;
  });

  afterEach(async () => {
    await fx.closeReceivers();
  });

  const receiver = () => fx.receiver();

  async function setup() {
    const { worker, taskQueue } = await fx.worker({
      overrides: {
        maxConcurrentActivityTaskExecutions: 200,
        maxConcurrentLocalActivityExecutions: 200,
        maxConcurrentWorkflowTaskExecutions: 100,
        maxCachedWorkflows: 2000,
      },
    });
    return { herald: fx.client({ taskQueue }), worker, tenantId: uniqueId('t-') };
  }

  function pathOf(request: ReceivedRequest): string {
    return new URL(request.url, 'http://receiver').pathname;
  }

  it(`one publish reaches ${FAN_OUT_WEBHOOKS} webhooks, each once, signed with its own secret, across several continue-as-new runs`, async () => {
    const { herald, worker, tenantId } = await setup();
    const rx = await receiver();
    const base = new URL(rx.url);
    const secrets = new Map<string, string>(); // receiver path → the webhook's secret

    const createdAt = Date.now();
    for (let from = 0; from < FAN_OUT_WEBHOOKS; from += CREATE_CHUNK) {
      await Promise.all(
        Array.from({ length: Math.min(CREATE_CHUNK, FAN_OUT_WEBHOOKS - from) }, async (_, i) => {
          const n = from + i;
          const hookPath = `/hook/${n}`;
          // Exact names, prefix wildcards and * all match order.created.
          const eventTypes = n % 3 === 0 ? ['order.created'] : n % 3 === 1 ? ['order.*'] : ['*'];
          const { secret } = await herald.webhooks.create({ tenantId, url: new URL(hookPath, base).toString(), eventTypes });
          secrets.set(hookPath, secret);
        }),
      );
    }
    for (let n = 0; n < NON_MATCHING_WEBHOOKS; n++) {
      await herald.webhooks.create({ tenantId, url: new URL(`/other/${n}`, base).toString(), eventTypes: n % 2 ? ['invoice.*'] : ['orders.created', 'order'] });
    }
    const createMs = Date.now() - createdAt;

    const eventId = uniqueId('evt_');
    const payload = { orderId: 'ord_1', total: 4200, lines: [{ sku: 'A-1', qty: 2 }] };
    const started = Date.now();
    let fanOutMs = 0;
    let firstRunId = '';
    await worker.runUntil(async () => {
      const published = await herald.events.publish({ id: eventId, tenantId, type: 'order.created', payload, fanOut: { batchSize: 50, batchesPerRun: 4 } });
      expect(published).toMatchObject({ eventId, tenantId, fanOut: 'workflow', workflowId: `fanout:${tenantId}:${eventId}`, created: true });
      firstRunId = published.runId ?? '';

      const result = await herald.events.fanOutResult(eventId, tenantId);
      fanOutMs = Date.now() - started;
      expect(result).toMatchObject({ eventId, tenantId, matched: FAN_OUT_WEBHOOKS, started: FAN_OUT_WEBHOOKS, skipped: 0 });
      await rx.waitForRequests(FAN_OUT_WEBHOOKS, 60_000);
      // Every delivery is recorded, and finishes as a success.
      await eventually(async () => {
        expect(await store.count('herald_deliveries', { where: { event_id: eventId, status: 'success' } })).toBe(FAN_OUT_WEBHOOKS);
      }, 30_000, 250);
    });
    const deliverMs = Date.now() - started;

    // Exactly one request per matching webhook, none to the others.
    expect(rx.requests).toHaveLength(FAN_OUT_WEBHOOKS);
    const paths = rx.requests.map(pathOf);
    expect(new Set(paths).size).toBe(FAN_OUT_WEBHOOKS);
    expect(paths.filter((p) => p.startsWith('/other/'))).toEqual([]);
    const envelope = { type: 'order.created', data: payload };
    for (const request of rx.requests) {
      const secret = secrets.get(pathOf(request));
      expect(secret, pathOf(request)).toBeDefined();
      expect(request.headers['webhook-id']).toBe(eventId);
      const verified = new StandardWebhook(secret!).verify(request.body, {
        'webhook-id': String(request.headers['webhook-id']),
        'webhook-timestamp': String(request.headers['webhook-timestamp']),
        'webhook-signature': String(request.headers['webhook-signature']),
      });
      expect(verified).toMatchObject(envelope);
      expect(JSON.parse(request.body)).toMatchObject(envelope);
    }

    // The stored event is marked fanned out with the count.
    expect(await herald.events.get(eventId, tenantId)).toMatchObject({ status: 'fanned_out', matchedCount: FAN_OUT_WEBHOOKS });

    // 1,010 webhooks in pages of 50, 4 pages a run: the fan-out continued as new several times.
    const workflowId = `fanout:${tenantId}:${eventId}`;
    const runs = await eventually(async () => {
      const found: { runId: string; status: string; startMs: number }[] = [];
      for await (const execution of temporal.env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
        found.push({ runId: execution.runId, status: execution.status.name, startMs: execution.startTime.getTime() });
      }
      expect(found.filter((r) => r.status === 'COMPLETED')).toHaveLength(1);
      expect(found.length).toBeGreaterThanOrEqual(5);
      return found;
    }, 15_000, 250);
    expect(runs.filter((r) => r.status === 'CONTINUED_AS_NEW')).toHaveLength(runs.length - 1);
    // The first run (the one publish started) continued as new.
    const first = [...runs].sort((a, b) => a.startMs - b.startMs)[0]!;
    expect(first.runId).toBe(firstRunId);
    expect((await temporal.env.client.workflow.getHandle(workflowId, firstRunId).describe()).status.name).toBe('CONTINUED_AS_NEW');

    console.log(`fan-out: created ${FAN_OUT_WEBHOOKS + NON_MATCHING_WEBHOOKS} webhooks in ${createMs} ms; publish → fan-out done in ${fanOutMs} ms, ${FAN_OUT_WEBHOOKS} verified deliveries in ${deliverMs} ms over ${runs.length} runs`);
  }, FAN_OUT_TEST_TIMEOUT_MS);

  it('the same event published 10 times concurrently: the racing direct fan-outs converge, each webhook gets it exactly once; a different payload under the id is a ConflictError', async () => {
    const { herald, worker, tenantId } = await setup();
    const rx = await receiver();
    const base = new URL(rx.url);
    const secrets = new Map<string, string>();
    const webhookIds: string[] = [];
    for (let n = 0; n < 5; n++) {
      const { webhook, secret } = await herald.webhooks.create({ tenantId, url: new URL(`/hook/${n}`, base).toString(), eventTypes: ['invoice.*'] });
      secrets.set(`/hook/${n}`, secret);
      webhookIds.push(webhook.id);
    }
    const eventId = uniqueId('evt_');
    const input = { id: eventId, tenantId, type: 'invoice.paid', payload: { invoice: 'inv_7', amount: 100 } };

    await worker.runUntil(async () => {
      const results = await Promise.all(Array.from({ length: 10 }, () => herald.events.publish(input)));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      // Five subscribers: publish starts them itself (no fan-out workflow), each racing call with the same ids.
      for (const r of results) expect(r).toMatchObject({ eventId, tenantId, fanOut: 'direct', workflowId: null });
      for (const r of results) expect(r.deliveries.map((d) => d.webhookId).sort()).toEqual([...webhookIds].sort());

      expect(await herald.events.fanOutResult(eventId, tenantId)).toMatchObject({ matched: 5, started: 5, skipped: 0 });
      await rx.waitForRequests(5);
      await eventually(async () => {
        expect(await store.count('herald_deliveries', { where: { event_id: eventId, status: 'success' } })).toBe(5);
      });

      // Once more after it has all finished: nothing new.
      expect(await herald.events.publish(input)).toMatchObject({ eventId, created: false });
      // The same id with another payload, or another type, is another event: refused, nothing changes.
      await expect(herald.events.publish({ ...input, payload: { invoice: 'inv_7', amount: 101 } })).rejects.toBeInstanceOf(ConflictError);
      await expect(herald.events.publish({ ...input, type: 'invoice.voided' })).rejects.toBeInstanceOf(ConflictError);
      expect((await herald.events.get(eventId, tenantId)).payload).toEqual(input.payload);
      // Give a duplicate time to show up if there were one.
      await new Promise((r) => setTimeout(r, 1_500));
    });

    expect(rx.requests).toHaveLength(5);
    expect(rx.requests.map(pathOf).sort()).toEqual(['/hook/0', '/hook/1', '/hook/2', '/hook/3', '/hook/4']);
    for (const request of rx.requests) {
      expect(request.headers['webhook-id']).toBe(eventId);
      const verified = new StandardWebhook(secrets.get(pathOf(request))!).verify(request.body, {
        'webhook-id': String(request.headers['webhook-id']),
        'webhook-timestamp': String(request.headers['webhook-timestamp']),
        'webhook-signature': String(request.headers['webhook-signature']),
      });
      expect(verified).toMatchObject({ type: 'invoice.paid', data: input.payload });
    }
    expect(await store.count('herald_events', { where: { tenant_id: tenantId, event_id: eventId } })).toBe(1);
    expect(await store.count('herald_deliveries', { where: { event_id: eventId } })).toBe(5);
    // A direct fan-out: no fan-out workflow ran for the ten publishes.
    const runs: string[] = [];
    for await (const execution of temporal.env.client.workflow.list({ query: `WorkflowId = 'fanout:${tenantId}:${eventId}'` })) runs.push(execution.status.name);
    expect(runs).toEqual([]);
    for (const id of webhookIds) {
      const { items } = await herald.deliveries.list({ webhookId: id });
      expect(items.map((d) => [d.eventId, d.status, d.attempts])).toEqual([[eventId, 'success', 1]]);
    }
  });
});
