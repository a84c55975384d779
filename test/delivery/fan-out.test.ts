import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFanOutActivities } from '../../src/activities/fan-out-activities.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { recordEvent } from '../../src/store/events.js';
import { openEngine } from '../../src/store/open-engine.js';
import { backfillSubscriptions, findSubscribedWebhookIds, patternsMatching } from '../../src/store/subscriptions.js';
import { parseNewWebhook, parseWebhookPatch, type CreateWebhookInput } from '../../src/client/webhook-validation.js';
import { createWebhook, deleteWebhook, disableWebhook, updateWebhook } from '../../src/store/webhooks.js';
import type { FanOutBatchResult } from '../../src/workflows/messages.js';
import { TEST_BOX, testActivityDeps } from '../support/deps.js';

describe('the fan-out rule', () => {
  it('an event type is matched by `*`, itself and each of its prefix wildcards, nothing else', () => {
    expect(patternsMatching('order.item.added')).toEqual(['*', 'order.item.added', 'order.*', 'order.item.*']);
    expect(patternsMatching('ping')).toEqual(['*', 'ping']);
  });
});

// The subscription index and the fan-out page on a real SQLite engine. Every webhook here is disabled, so the
// page records skipped rows and starts nothing (the Temporal side is covered by the dev-server fan-out tests).
describe('fanOutBatch over the subscription index', () => {
  let store: DataEngine;
  const registry = () => ({ engine: store, box: TEST_BOX, clock: Date.now });
  const create = async (input: CreateWebhookInput) => ({ webhook: await createWebhook(registry(), parseNewWebhook(input, { httpsOnly: false, scope: undefined })) });

  beforeAll(async () => {
    store = await openEngine('sqlite::memory:');
  });
  afterAll(async () => {
    await store.close();
  });

  it('pages through exactly the matching live webhooks created before the event, each once', async () => {
    const tenantId = 'fan';
    const matching: string[] = [];
    const filters = [['order.*'], ['order.created'], ['*'], ['order.*', 'order.created', '*'], ['invoice.*'], ['order'], ['orders.created']];
    for (let i = 0; i < 21; i++) {
      const eventTypes = filters[i % filters.length]!;
      const { webhook } = await create({ url: `https://hooks.example.com/${i}`, tenantId, eventTypes });
      await disableWebhook(store, webhook.id, 'test', Date.now());
      if (i % filters.length < 4) matching.push(webhook.id);
    }
    // Another tenant's webhook, a deleted one and one whose filter changed away never match.
    await create({ url: 'https://hooks.example.com/other', tenantId: 'other', eventTypes: ['*'] });
    const { webhook: gone } = await create({ url: 'https://hooks.example.com/gone', tenantId, eventTypes: ['*'] });
    await deleteWebhook(store, gone.id, Date.now());
    const { webhook: moved } = await create({ url: 'https://hooks.example.com/moved', tenantId, eventTypes: ['*'] });
    await updateWebhook(registry(), moved.id, parseWebhookPatch({ eventTypes: ['invoice.*'] }, { httpsOnly: false }));
    await new Promise((r) => setTimeout(r, 5));
    const { event } = await recordEvent(store, { tenantId, eventId: 'evt_fan', eventType: 'order.created', eventTimeMs: Date.now(), payloadJson: '{}' });
    // Created after the event (a later millisecond: the bound is inclusive): not a subscriber of it.
    await new Promise((r) => setTimeout(r, 5));
    await create({ url: 'https://hooks.example.com/late', tenantId, eventTypes: ['*'] });

    const { fanOutBatch } = createFanOutActivities(testActivityDeps(store));
    const env = new MockActivityEnvironment();
    let cursor: string | null = null;
    let skipped = 0;
    let pages = 0;
    do {
      const page: FanOutBatchResult = await env.run(fanOutBatch, { tenantId, eventId: 'evt_fan', eventType: 'order.created', publishedAtMs: event.createdAt, cursor, limit: 4 });
      expect(page.started).toBe(0);
      skipped += page.skipped;
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 20);
    expect(skipped).toBe(matching.length);
    const rows = await store.find('herald_deliveries', { where: { event_id: 'evt_fan' }, fields: ['webhook_id', 'status'] });
    expect(rows.map((r) => r.webhook_id).sort()).toEqual([...matching].sort());
    expect(new Set(rows.map((r) => r.status))).toEqual(new Set(['skipped']));
  });

  it('backfills the index from the registry for a database that predates it', async () => {
    const before = await findSubscribedWebhookIds(store, { tenantId: 'fan', eventType: 'order.created', createdAtOrBefore: Date.now(), limit: 1000 });
    await store.delete('herald_webhook_subscriptions', { where: {}, multi: true });
    expect(await backfillSubscriptions(store)).toBeGreaterThan(0);
    expect(await backfillSubscriptions(store)).toBe(0);
    expect(await findSubscribedWebhookIds(store, { tenantId: 'fan', eventType: 'order.created', createdAtOrBefore: Date.now(), limit: 1000 })).toEqual(before);
  });
});
