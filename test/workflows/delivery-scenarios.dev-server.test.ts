import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HeraldClient } from '../../src/client/herald-client.js';
import { DeliveryNotEligibleError, DeliveryNotFoundError, WebhookNotFoundError } from '../../src/errors.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { openEngine } from '../../src/store/open-engine.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { HERALD_EVENT_ID, HERALD_EVENT_TYPE, HERALD_TENANT_ID, HERALD_WEBHOOK_ID } from '../../src/delivery/search-attributes.js';
import { eventually, expectDeliveryEnd, secretForms, verifyStandard } from '../support/delivery-checks.js';
import { testActivityDeps, uniqueId, TEST_BOX } from '../support/deps.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startDevTemporal, type TemporalForTests } from '../support/temporal.js';
import { deliveryResult } from '../../src/delivery/delivery-result.js';

// What needs the real dev server: dedup under concurrency, redelivery, cancel, search attributes and a worker
// killed mid-attempt. The delivery table is a SQLite file, so a worker in another process shares it. Every
// worker here runs with maxCachedWorkflows: 0: each workflow task replays the whole history.

const WORKER_PROCESS = fileURLToPath(new URL('../support/worker-process.ts', import.meta.url));

describe('delivery scenarios on the dev server', () => {
  let temporal: TemporalForTests;
  let store: DataEngine;
  let database: string;
  let dir: string;
  const receivers: Receiver[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'herald-scenarios-'));
    database = `sqlite:${path.join(dir, 'herald.db')}`;
    temporal = await startDevTemporal();
    store = await openEngine(database);
  });

  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  afterAll(async () => {
    await store?.close();
    await temporal?.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function receiver(): Promise<Receiver> {
    const r = await startReceiver();
    receivers.push(r);
    return r;
  }

  function client(taskQueue: string) {
    return new HeraldClient({ temporal: temporal.env.client, store, box: TEST_BOX, taskQueue });
  }

  /** A fresh task queue, its client, and an in-process worker that never caches a workflow. */
  async function setup() {
    const taskQueue = uniqueId('tq-');
    const worker = await newWorker(taskQueue);
    return { taskQueue, herald: client(taskQueue), worker };
  }

  function newWorker(taskQueue: string) {
    return createWorker({
      connection: temporal.env.nativeConnection,
      namespace: 'default',
      taskQueue,
      deps: testActivityDeps(store),
      overrides: { maxCachedWorkflows: 0 },
    });
  }

  it('20 concurrent deliver() of one (event, webhook): same ids, one POST, one row; a 21st after completion changes nothing', async () => {
    const { herald, worker } = await setup();
    const rx = await receiver();
    // Slow enough that most starts land while the delivery is running.
    rx.respond = () => ({ status: 200, delayMs: 300 });
    const { webhook, secret } = await herald.webhooks.create({ url: rx.url });
    const eventId = uniqueId('evt_');
    const input = { webhookId: webhook.id, eventId, eventType: 'order.created', payload: { orderId: 1 } };

    await worker.runUntil(async () => {
      const starts = await Promise.all(Array.from({ length: 20 }, () => herald.deliveries.deliver(input)));
      const [first] = starts;
      expect(first!.runId).not.toBe('');
      for (const s of starts) expect(s).toEqual(first);
      const handle = herald.deliveries.handle(first!.workflowId);
      const result = await deliveryResult(handle);

      expect(result).toMatchObject({ status: 'success', attempts: 1, responseCode: 200 });
      expect(await herald.deliveries.deliver(input)).toEqual(first);
      expect((await handle.describe()).runId).toBe(first!.runId);
      expect(rx.requests).toHaveLength(1);
      verifyStandard(secret, rx.requests[0]!);
      expect(await store.count('herald_deliveries', { where: { event_id: eventId } })).toBe(1);
      expect((await herald.deliveries.list({ webhookId: webhook.id })).items.map((d) => d.id)).toEqual([first!.deliveryId]);
      await expectDeliveryEnd({ herald, handle, deliveryId: first!.deliveryId, result, secrets: secretForms(secret), present: [eventId] });

      // A finished delivery cannot be cancelled.
      await expect(herald.deliveries.cancel(first!.deliveryId)).rejects.toBeInstanceOf(DeliveryNotEligibleError);
      expect(rx.requests).toHaveLength(1);
    });
  });

  it('redelivery of a dead delivery: new run, same delivery id and webhook-id, attempts from 1, success; unknown or deleted → typed errors', async () => {
    const { herald, worker } = await setup();
    const rx = await receiver();
    rx.respond = () => ({ status: 400, body: 'rejected' });
    const { webhook, secret } = await herald.webhooks.create({ url: rx.url, retrySchedule: [5], retryJitter: 0 });
    const eventId = uniqueId('evt_');
    const eventTime = Date.UTC(2025, 5, 1, 12, 0, 0, 0);

    await worker.runUntil(async () => {
      const started = await herald.deliveries.deliver({ webhookId: webhook.id, eventId, eventType: 'invoice.paid', payload: { invoice: 'inv_1' }, eventTime });
      const firstRun = herald.deliveries.handle(started.workflowId, started.runId);
      const dead = await deliveryResult(firstRun);
      expect(dead).toMatchObject({ status: 'dead', attempts: 1, responseCode: 400 });
      await expectDeliveryEnd({ herald, handle: firstRun, deliveryId: started.deliveryId, result: dead, secrets: secretForms(secret), present: [eventId] });

      // The receiver is fixed; the operator redelivers.
      rx.respond = () => ({ status: 200 });
      const again = await herald.deliveries.redeliver(started.deliveryId);
      expect(again.deliveryId).toBe(started.deliveryId);
      expect(again.workflowId).toBe(started.workflowId);
      expect(again.runId).not.toBe(started.runId);
      const secondRun = herald.deliveries.handle(again.workflowId, again.runId);
      const result = await deliveryResult(secondRun);

      expect(result).toEqual({ deliveryId: started.deliveryId, status: 'success', attempts: 1, responseCode: 200, error: null });
      expect(rx.requests).toHaveLength(2);
      for (const request of rx.requests) {
        expect(request.headers['webhook-id']).toBe(eventId);
        expect(request.headers['x-herald-delivery-id']).toBe(started.deliveryId);
        expect(request.headers['x-herald-attempt']).toBe('1');
        expect(verifyStandard(secret, request)).toEqual({ type: 'invoice.paid', timestamp: '2025-06-01T12:00:00.000Z', data: { invoice: 'inv_1' } });
      }
      const row = await expectDeliveryEnd({ herald, handle: secondRun, deliveryId: started.deliveryId, result, secrets: secretForms(secret), present: [eventId] });
      expect(row.attemptLog).toHaveLength(1);
      expect(row.error).toBeNull();
      // The first run's history is as clean as the second's.
      for (const s of secretForms(secret)) expect(JSON.stringify(await firstRun.fetchHistory())).not.toContain(s);
      // deliver() of the pair now answers with the redelivered run.
      expect(await herald.deliveries.deliver({ webhookId: webhook.id, eventId, eventType: 'invoice.paid', payload: {} })).toEqual(again);

      await expect(herald.deliveries.redeliver('dlv_doesnotexist')).rejects.toBeInstanceOf(DeliveryNotFoundError);
      await herald.webhooks.delete(webhook.id);
      await expect(herald.deliveries.redeliver(started.deliveryId)).rejects.toBeInstanceOf(WebhookNotFoundError);
      expect(rx.requests).toHaveLength(2);
    });
  });

  it('cancel while waiting for a retry: cancelled in the result and the row, no further POST; not eligible for redelivery while open, nor for cancel once finished', async () => {
    const { herald, worker } = await setup();
    const rx = await receiver();
    // The first answer is slow, so the delivery is observably in flight before it waits for its retry.
    rx.respond = () => ({ status: 503, delayMs: 2_000 });
    const { webhook, secret } = await herald.webhooks.create({ url: rx.url, retrySchedule: [3600], retryJitter: 0 });
    const eventId = uniqueId('evt_');

    await worker.runUntil(async () => {
      const started = await herald.deliveries.deliver({ webhookId: webhook.id, eventId, eventType: 'order.created', payload: {} });
      const handle = herald.deliveries.handle(started.workflowId);

      await eventually(async () => expect((await herald.deliveries.get(started.deliveryId)).status).toBe('in_flight'), 10_000, 25);
      await expect(herald.deliveries.redeliver(started.deliveryId)).rejects.toMatchObject({ name: 'DeliveryNotEligibleError', status: 'in_flight' });

      const waiting = await eventually(async () => {
        const row = await herald.deliveries.get(started.deliveryId);
        expect(row.status).toBe('pending');
        return row;
      });
      expect(waiting.nextRetryAt! - Date.now()).toBeGreaterThan(3_500_000);
      await expect(herald.deliveries.redeliver(started.deliveryId)).rejects.toMatchObject({ name: 'DeliveryNotEligibleError', status: 'pending' });

      await herald.deliveries.cancel(started.deliveryId);
      const result = await deliveryResult(handle);

      expect(result).toMatchObject({ status: 'cancelled', attempts: 1, responseCode: 503 });
      const row = await expectDeliveryEnd({ herald, handle, deliveryId: started.deliveryId, result, secrets: secretForms(secret), present: [eventId] });
      expect(row.status).toBe('cancelled');
      expect(row.nextRetryAt).toBeNull();
      const description = await handle.describe();
      expect(description.status.name).toBe('COMPLETED');
      expect(description.raw.pendingActivities ?? []).toHaveLength(0);
      expect(rx.requests).toHaveLength(1);

      await expect(herald.deliveries.cancel(started.deliveryId)).rejects.toMatchObject({ name: 'DeliveryNotEligibleError', status: 'cancelled' });
      await expect(herald.deliveries.cancel('dlv_doesnotexist')).rejects.toBeInstanceOf(DeliveryNotFoundError);
      expect(rx.requests).toHaveLength(1);
    });
  });

  it('a worker killed mid-attempt: the attempt is retried on another worker and the delivery succeeds', async () => {
    const taskQueue = uniqueId('tq-');
    const herald = client(taskQueue);
    const rx = await receiver();
    // The first request is held open far past the heartbeat timeout; the retry is answered at once.
    rx.respond = (_req, index) => (index === 0 ? { status: 200, delayMs: 40_000 } : { status: 200 });
    const { webhook, secret } = await herald.webhooks.create({ url: rx.url });
    const eventId = uniqueId('evt_');

    const child = spawn(process.execPath, ['--import', 'tsx', WORKER_PROCESS, JSON.stringify({ address: temporal.address, taskQueue, database })], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await waitForOutput(child, 'ready', 30_000);

    const started = await herald.deliveries.deliver({ webhookId: webhook.id, eventId, eventType: 'order.created', payload: { orderId: 9 } });
    await eventually(async () => expect(rx.requests).toHaveLength(1), 20_000, 25);
    expect((await herald.deliveries.get(started.deliveryId)).status).toBe('in_flight');
    child.kill('SIGKILL');
    await exited;

    const worker = await newWorker(taskQueue);
    const handle = herald.deliveries.handle(started.workflowId);
    const result = await worker.runUntil(deliveryResult(handle));

    expect(result).toMatchObject({ status: 'success', attempts: 2, responseCode: 200 });
    expect(rx.requests).toHaveLength(2);
    rx.requests.forEach((request, i) => {
      expect(request.headers['webhook-id']).toBe(eventId);
      expect(request.headers['x-herald-attempt']).toBe(String(i + 1));
      verifyStandard(secret, request);
    });
    const row = await expectDeliveryEnd({ herald, handle, deliveryId: started.deliveryId, result, secrets: secretForms(secret), present: [eventId] });
    expect(row.attemptLog[0]).toMatchObject({ attempt: 1, outcome: 'retry', responseCode: null });
    expect(row.attemptLog[0]!.error).toMatch(/^outcome unknown: /);
    expect(row.attemptLog[1]).toMatchObject({ attempt: 2, outcome: 'success', responseCode: 200 });
  });

  it('search attributes: a delivered delivery is found by HeraldDeliveryStatus and HeraldWebhookId', async () => {
    const { herald, worker } = await setup();
    const rx = await receiver();
    const { webhook, secret } = await herald.webhooks.create({ url: rx.url, tenantId: 'tenant-a' });
    const eventId = uniqueId('evt_');

    await worker.runUntil(async () => {
      const started = await herald.deliveries.deliver({ webhookId: webhook.id, eventId, eventType: 'user.signed_up', payload: {} });
      const handle = herald.deliveries.handle(started.workflowId);
      const result = await deliveryResult(handle);
      expect(result).toMatchObject({ status: 'success', attempts: 1, responseCode: 200 });

      const list = async (query: string) => {
        const ids: string[] = [];
        for await (const execution of temporal.env.client.workflow.list({ query })) ids.push(execution.workflowId);
        return ids;
      };
      await eventually(async () => expect(await list(`HeraldDeliveryStatus="success" AND HeraldWebhookId="${webhook.id}"`)).toEqual([started.workflowId]));
      expect(await list(`HeraldDeliveryStatus="pending" AND HeraldWebhookId="${webhook.id}"`)).toEqual([]);
      expect(await list(`HeraldEventId="${eventId}" AND HeraldEventType="user.signed_up" AND HeraldTenantId="tenant-a"`)).toEqual([started.workflowId]);

      const attributes = (await handle.describe()).typedSearchAttributes;
      expect(attributes.get(HERALD_WEBHOOK_ID)).toBe(webhook.id);
      expect(attributes.get(HERALD_EVENT_ID)).toBe(eventId);
      expect(attributes.get(HERALD_EVENT_TYPE)).toBe('user.signed_up');
      expect(attributes.get(HERALD_TENANT_ID)).toBe('tenant-a');
      await expectDeliveryEnd({ herald, handle, deliveryId: started.deliveryId, result, secrets: secretForms(secret), present: [eventId] });
    });
  });
});

function waitForOutput(child: ChildProcess, text: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`worker process did not print ${text} within ${timeoutMs} ms\n${err.slice(-2000)}`)), timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`worker process exited (${code ?? signal}) before printing ${text}\n${err.slice(-2000)}`));
    });
  });
}
