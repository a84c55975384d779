import { Client, Connection } from '@temporalio/client';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeraldClient } from '../../src/client/herald-client.js';
import { loadConfig } from '../../src/config/config.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { findEvent, recordEvent } from '../../src/store/events.js';
import { ensureRefanSchedule, REFAN_SCHEDULE_ID } from '../../src/worker/refan-schedule.js';
import { eventually } from '../support/delivery-checks.js';
import { TEST_BOX, uniqueId } from '../support/deps.js';
import { useDevServerFixture } from '../support/dev-server-fixture.js';
import type { Receiver } from '../support/receiver.js';

// Publish stores the event before it starts anything. These prove that once the event is stored, a publisher
// that dies (or loses Temporal) before any start loses nothing: the real `herald-refan` Schedule, on a real dev
// server, finishes the fan-out, and every webhook receives the event exactly once.
describe('the re-fan schedule on the dev server', () => {
  const fx = useDevServerFixture('refan');
  let store: DataEngine;
  let receiver: Receiver;
  let herald: HeraldClient;
  let taskQueue: string;

  beforeAll(async () => {
    store = fx.store;
    receiver = await fx.receiver();
    ({ taskQueue } = await fx.runningWorker());
    herald = fx.client({ taskQueue });
    // The schedule as the worker creates it, with a short cadence: every 2 s, events older than 1 s.
    const config = loadConfig({ HERALD_TASK_QUEUE: taskQueue, HERALD_REFAN_INTERVAL_SECONDS: '2', HERALD_REFAN_AFTER_SECONDS: '1', HERALD_DATABASE_URL: 'memory:' });
    await ensureRefanSchedule(fx.temporal.env.client, config);
  });

  afterAll(async () => {
    await fx.temporal.env.client.schedule.getHandle(REFAN_SCHEDULE_ID).delete().catch(() => undefined);
  });

  it('an event stored by a publisher that died before any start is delivered once per webhook', async () => {
    const tenantId = uniqueId('t');
    const secrets = new Map<string, string>();
    for (let n = 0; n < 3; n++) {
      const { secret } = await herald.webhooks.create({ tenantId, url: `${receiver.url}/refan/${n}`, eventTypes: ['order.*'] });
      secrets.set(`/refan/${n}`, secret);
    }
    const eventId = uniqueId('evt_');
    // Exactly what publish writes first; the publisher "dies" here, so nothing else happens.
    await recordEvent(store, { tenantId, eventId, eventType: 'order.created', eventTimeMs: Date.now(), payloadJson: '{"n":1}' });

    await eventually(async () => {
      expect((await findEvent(store, tenantId, eventId))?.status).toBe('fanned_out');
    }, 60_000);
    const mine = () => receiver.requests.filter((r) => r.headers['webhook-id'] === eventId);
    await eventually(async () => expect(mine()).toHaveLength(3), 30_000);
    // Two more sweeps run meanwhile: still one request per webhook, each with a valid signature.
    await new Promise((r) => setTimeout(r, 4_500));
    expect(mine()).toHaveLength(3);
    const pathOf = (url: string) => url.slice(url.lastIndexOf('/refan/'));
    expect(new Set(mine().map((r) => pathOf(r.url))).size).toBe(3);
    const counted = await store.count('herald_deliveries', { where: { event_id: eventId, status: 'success' } });
    expect(counted).toBe(3);
    for (const request of mine()) {
      expect(() => new StandardWebhook(secrets.get(pathOf(request.url))!).verify(request.body, request.headers as Record<string, string>)).not.toThrow();
    }
  }, 120_000);

  it('a publish that cannot reach Temporal fails, yet its stored event is delivered once Temporal answers', async () => {
    const tenantId = uniqueId('t');
    await herald.webhooks.create({ tenantId, url: `${receiver.url}/lost-temporal`, eventTypes: ['*'] });
    // A client whose connection is gone: the event is stored, the start fails.
    const dead = await Connection.connect({ address: fx.temporal.address });
    await dead.close();
    const cut = new HeraldClient({ temporal: new Client({ connection: dead }), store, box: TEST_BOX, taskQueue });
    const eventId = uniqueId('evt_');
    await expect(cut.events.publish({ id: eventId, tenantId, type: 'invoice.paid', payload: { amount: 5 } })).rejects.toThrow();
    expect((await findEvent(store, tenantId, eventId))?.status).toBe('fanning_out');

    const mine = () => receiver.requests.filter((r) => r.headers['webhook-id'] === eventId);
    await eventually(async () => expect(mine()).toHaveLength(1), 60_000);
    await new Promise((r) => setTimeout(r, 4_500));
    expect(mine()).toHaveLength(1);
  }, 120_000);

  it('an event stored by deliveries.deliver goes to its one webhook only: the re-fan schedule leaves it alone', async () => {
    const tenantId = uniqueId('t');
    const { webhook } = await herald.webhooks.create({ tenantId, url: `${receiver.url}/direct/named`, eventTypes: ['*'] });
    await herald.webhooks.create({ tenantId, url: `${receiver.url}/direct/other`, eventTypes: ['*'] });
    const eventId = uniqueId('evt_');
    await herald.deliveries.deliver({ webhookId: webhook.id, eventId, eventType: 'order.created', payload: {} });
    const mine = () => receiver.requests.filter((r) => r.headers['webhook-id'] === eventId);
    await eventually(async () => expect(mine()).toHaveLength(1), 30_000);
    // Several sweeps (every 2 s, events older than 1 s): none fans it out to the other subscriber.
    await new Promise((r) => setTimeout(r, 5_000));
    expect(mine().map((r) => r.url.slice(r.url.lastIndexOf('/direct/')))).toEqual(['/direct/named']);
    expect((await findEvent(store, tenantId, eventId))?.status).toBe('direct');
  }, 60_000);
});
