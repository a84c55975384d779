import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { HeraldClient } from '../../src/client/herald-client.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { openEngine } from '../../src/store/open-engine.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { TEST_BOX, testActivityDeps, uniqueId } from '../support/deps.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startDevTemporal, type TemporalForTests } from '../support/temporal.js';

// The whole chain on a real dev server: client → workflow → signed undici POST → a receiver on 127.0.0.1,
// with the delivery table in SQLite.
describe('deliverWebhook on the dev server', () => {
  let temporal: TemporalForTests;
  let store: DataEngine;
  let receiver: Receiver;
  let worker: Worker;
  let workerRun: Promise<void>;
  let herald: HeraldClient;
  let dir: string;
  const taskQueue = uniqueId('tq-');

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'herald-test-'));
    temporal = await startDevTemporal();
    store = await openEngine(`sqlite:${path.join(dir, 'herald.db')}`);
    receiver = await startReceiver();
    worker = await createWorker({ connection: temporal.env.nativeConnection, namespace: 'default', taskQueue, deps: testActivityDeps(store) });
    workerRun = worker.run();
    herald = new HeraldClient({ temporal: temporal.env.client, store, box: TEST_BOX, taskQueue });
  });

  afterAll(async () => {
    worker?.shutdown();
    await workerRun?.catch(() => undefined);
    await receiver?.close();
    await store?.close();
    await temporal?.teardown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers a signed POST that an independent verifier accepts, and records it', async () => {
    const { webhook, secret } = await herald.webhooks.create({ url: receiver.url, eventTypes: ['order.created'] });
    const eventId = uniqueId('evt_');
    const started = await herald.deliveries.deliver({ webhookId: webhook.id, eventId, eventType: 'order.created', payload: { orderId: 42 } });
    const result = await herald.deliveries.handle(started.workflowId).result();

    expect(result).toMatchObject({ status: 'success', attempts: 1, responseCode: 200 });
    const [request] = await receiver.waitForRequests(1);
    expect(request!.method).toBe('POST');
    expect(request!.headers['webhook-id']).toBe(eventId);
    const verified = new StandardWebhook(secret).verify(request!.body, request!.headers as Record<string, string>);
    expect(verified).toMatchObject({ type: 'order.created', data: { orderId: 42 } });

    const row = await herald.deliveries.get(started.deliveryId);
    expect(row).toMatchObject({ status: 'success', attempts: 1, responseCode: 200, eventId, webhookId: webhook.id, workflowId: started.workflowId });
    expect(row.attemptLog).toHaveLength(1);
  });
});
