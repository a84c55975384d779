/**
 * Herald as an ObjectStack kernel plugin: a real kernel (`LiteKernel` from `@objectstack/core`) with ObjectQL's
 * own plugin over the app's engine; Herald's plugin attaches at start, serves `webhook.outbox`, delivers a
 * record change, and detaches cleanly at kernel shutdown.
 */
import { LiteKernel } from '@objectstack/core';
import { ObjectQLPlugin, type ObjectQL } from '@objectstack/objectql';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heraldKernelPlugin, type HeraldWebhookOutbox } from '../../src/objectstack/index.js';
import { eventually } from '../support/delivery-checks.js';
import { TEST_BOX, uniqueId } from '../support/deps.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startDevTemporal, type TemporalForTests } from '../support/temporal.js';
import { bootObjectQL } from './objectql-support.js';

const ORDER = { name: 'kernel_order', label: 'Order', fields: { name: { type: 'text', label: 'Name' } } };

describe('heraldKernelPlugin in an ObjectStack kernel', () => {
  let temporal: TemporalForTests;
  let receiver: Receiver;
  let ql: ObjectQL;

  beforeAll(async () => {
    temporal = await startDevTemporal();
    receiver = await startReceiver();
    ql = await bootObjectQL({ kind: 'memory' });
    ql.registry.registerObject(ORDER as never, 'shop');
    await ql.syncSchemas();
  });
  afterAll(async () => {
    await ql?.destroy();
    await receiver?.close();
    await temporal?.teardown();
  });

  it('attaches at start, serves webhook.outbox, delivers a record change, and detaches at shutdown', async () => {
    const plugin = heraldKernelPlugin({
      temporal: temporal.env.client,
      box: TEST_BOX,
      taskQueue: uniqueId('tq-kernel-'),
      logger: pino({ level: 'warn' }),
      worker: { connection: temporal.env.nativeConnection, egressAllow: '127.0.0.1' },
    });
    const kernel = new LiteKernel({ logger: { level: 'warn' } } as never);
    kernel.use(new ObjectQLPlugin(ql) as never);
    kernel.use(plugin as never);
    await kernel.bootstrap();
    const attached = plugin.attached;
    try {
      expect(attached).toBeDefined();
      expect(attached!.worker?.getState()).toBe('RUNNING');
      const outbox = kernel.getService<HeraldWebhookOutbox>('webhook.outbox');
      await plugin.attached!.herald.webhooks.create({ url: receiver.url, eventTypes: [`${ORDER.name}.create`] });
      await ql.insert(ORDER.name, { id: 'k1', name: 'Kernel' });
      const [request] = await receiver.waitForRequests(1, 60_000);
      expect(decodeURIComponent(String(request!.headers['webhook-id']))).toMatch(new RegExp(`^${ORDER.name}:k1:create:`));
      await eventually(async () => expect((await outbox.list({ status: 'success' })).map((d) => d.eventType)).toEqual([`${ORDER.name}.create`]));
      expect(() => outbox.claim()).toThrow(/Temporal/);
    } finally {
      await kernel.shutdown();
    }
    // Shut down cleanly: detached, the worker stopped, the outbox service refusing use.
    expect(plugin.attached).toBeUndefined();
    expect(attached!.worker?.getState()).toBe('STOPPED');
    await expect(kernel.getService<HeraldWebhookOutbox>('webhook.outbox').list()).rejects.toThrow(/before the kernel started|after it stopped/);
  }, 120_000);
});
