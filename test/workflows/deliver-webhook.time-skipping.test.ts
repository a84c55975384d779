import { type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeraldClient } from '../../src/client/herald-client.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { openEngine } from '../../src/store/open-engine.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { TEST_BOX, testActivityDeps, uniqueId } from '../support/deps.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startTimeSkippingTemporal, type TemporalForTests } from '../support/temporal.js';
import { deliveryResult } from '../../src/delivery/delivery-result.js';

// Day-long schedules on the time-skipping server: Temporal's timers jump, the HTTP is real.
describe('deliverWebhook on the time-skipping server', () => {
  let temporal: TemporalForTests;
  let store: DataEngine;
  let receiver: Receiver;
  let worker: Worker;
  let herald: HeraldClient;
  const taskQueue = uniqueId('tq-');

  beforeAll(async () => {
    temporal = await startTimeSkippingTemporal();
    store = await openEngine('memory:');
    receiver = await startReceiver();
    worker = await createWorker({ connection: temporal.env.nativeConnection, namespace: 'default', taskQueue, deps: testActivityDeps(store) });
    herald = new HeraldClient({ temporal: temporal.env.client, store, box: TEST_BOX, taskQueue, searchAttributes: false });
  });

  afterAll(async () => {
    await receiver?.close();
    await store?.close();
    await temporal?.teardown();
  });

  it('retries after a one-hour scheduled delay in well under a second of real time', async () => {
    const { webhook } = await herald.webhooks.create({ url: receiver.url, retrySchedule: [3600], retryJitter: 0 });
    receiver.respond = (_req, index) => (index === 0 ? { status: 503 } : { status: 200 });
    const started = await herald.deliveries.deliver({ webhookId: webhook.id, eventId: uniqueId('evt_'), eventType: 'order.created', payload: {} });

    const serverStart = await temporal.env.currentTimeMs();
    const result = await worker.runUntil(deliveryResult(herald.deliveries.handle(started.workflowId)));
    const serverElapsedMs = (await temporal.env.currentTimeMs()) - serverStart;

    expect(result).toMatchObject({ status: 'success', attempts: 2, responseCode: 200 });
    expect(receiver.requests).toHaveLength(2);
    // The server's clock moved the whole hour while the test (bounded by vitest's timeout) did not wait for it.
    expect(serverElapsedMs).toBeGreaterThanOrEqual(3600_000);
  });
});
