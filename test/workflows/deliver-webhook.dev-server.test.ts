import { beforeAll, describe, expect, it } from 'vitest';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import type { HeraldClient } from '../../src/client/herald-client.js';
import { uniqueId } from '../support/deps.js';
import { useDevServerFixture } from '../support/dev-server-fixture.js';
import type { Receiver } from '../support/receiver.js';
import { deliveryResult } from '../../src/delivery/delivery-result.js';

// The whole chain on a real dev server: client → workflow → signed undici POST → a receiver on 127.0.0.1,
// with the delivery table in SQLite.
describe('deliverWebhookV2 on the dev server', () => {
  const fx = useDevServerFixture('deliver');
  let receiver: Receiver;
  let herald: HeraldClient;

  beforeAll(async () => {
    receiver = await fx.receiver();
    const { taskQueue } = await fx.runningWorker();
    herald = fx.client({ taskQueue });
  });

  it('delivers a signed POST that an independent verifier accepts, and records it', async () => {
    const { webhook, secret } = await herald.webhooks.create({ url: receiver.url, eventTypes: ['order.created'] });
    const eventId = uniqueId('evt_');
    const started = await herald.deliveries.deliver({ webhookId: webhook.id, eventId, eventType: 'order.created', payload: { orderId: 42 } });
    const result = await deliveryResult(herald.deliveries.handle(started.workflowId));

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
