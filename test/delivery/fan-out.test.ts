import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFanOutActivities } from '../../src/activities/fan-out-activities.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { recordEvent } from '../../src/store/events.js';
import { openEngine } from '../../src/store/open-engine.js';
import { matchesEventType, patternsMatching } from '../../src/store/event-type-filter.js';
import { backfillSubscriptions, findSubscribedWebhookIds } from '../../src/store/subscriptions.js';
import { findSubscribers, operationalSubjectOf } from '../../src/delivery/fan-out.js';
import { parseNewWebhook, parseWebhookPatch, type CreateWebhookInput } from '../../src/client/webhook-validation.js';
import { createWebhook, deleteWebhook, disableWebhook, updateWebhook } from '../../src/store/webhooks.js';
import type { FanOutBatchResult } from '../../src/workflows/messages.js';
import { TEST_BOX, testActivityDeps } from '../support/deps.js';

describe('the fan-out rule', () => {
  it('an event type is matched by `*`, itself and each of its prefix wildcards, nothing else', () => {
    expect(patternsMatching('order.item.added')).toEqual(['*', 'order.item.added', 'order.*', 'order.item.*']);
    expect(patternsMatching('ping')).toEqual(['*', 'ping']);
  });

  it("Herald's operational events (herald.*) are matched by their own names and wildcards only, never by `*`", () => {
    expect(patternsMatching('herald.webhook.failing')).toEqual(['herald.webhook.failing', 'herald.*', 'herald.webhook.*']);
    expect(matchesEventType(['*'], 'herald.webhook.failing')).toBe(false);
    expect(matchesEventType(['*', 'order.*'], 'herald.delivery.dead')).toBe(false);
    for (const named of [['*', 'herald.*'], ['herald.*'], ['herald.webhook.*'], ['herald.webhook.failing']]) expect(matchesEventType(named, 'herald.webhook.failing'), named.join()).toBe(true);
    expect(matchesEventType(['herald.delivery.*'], 'herald.webhook.failing')).toBe(false);
    expect(matchesEventType(['herald.webhook.failing'], 'herald.webhook.recovered')).toBe(false);
    // Only the `herald.` namespace: look-alikes are tenant events, which `*` still matches.
    for (const tenantType of ['herald', 'heraldry.created', 'Herald.webhook.failing', 'app.herald.x']) expect(matchesEventType(['*'], tenantType), tenantType).toBe(true);
  });
});

// The index query applies the same rule (`pattern IN patternsMatching(type)`), and a page of an operational
// event's subscribers never holds the webhook the event is about.
describe("the subscription index and Herald's operational events", () => {
  let store: DataEngine;
  const registry = () => ({ engine: store, box: TEST_BOX, clock: Date.now });
  const create = async (tenantId: string, eventTypes: string[]) => (await createWebhook(registry(), parseNewWebhook({ url: 'https://hooks.example.com/x', tenantId, eventTypes }, { httpsOnly: false, scope: undefined }))).id;

  beforeAll(async () => {
    store = await openEngine('sqlite::memory:');
  });
  afterAll(async () => {
    await store.close();
  });

  it('`*` subscribers get tenant events only; herald.* events go to the webhooks that name them', async () => {
    const tenantId = 'ops-index';
    const all = await create(tenantId, ['*']);
    const ops = await create(tenantId, ['herald.*']);
    const both = await create(tenantId, ['*', 'herald.webhook.*']);
    const deadOnly = await create(tenantId, ['herald.delivery.dead']);
    const orders = await create(tenantId, ['order.*']);
    await create('other-tenant', ['herald.*']);
    const ids = (eventType: string) => findSubscribedWebhookIds(store, { tenantId, eventType, createdAtOrBefore: Date.now(), limit: 100 });
    expect((await ids('order.created')).sort()).toEqual([all, both, orders].sort());
    expect((await ids('herald.webhook.failing')).sort()).toEqual([ops, both].sort());
    expect((await ids('herald.delivery.dead')).sort()).toEqual([ops, deadOnly].sort());
  });

  it("an operational event's page leaves out its subject (`data.webhookId`), and keeps paging past it", async () => {
    const tenantId = 'ops-subject';
    const hooks = [await create(tenantId, ['herald.*']), await create(tenantId, ['herald.*']), await create(tenantId, ['herald.*'])].sort();
    const subject = hooks[0]!;
    const event = { tenantId, eventId: 'herald_x', eventType: 'herald.webhook.disabled', eventTimeMs: 1, createdAt: Date.now(), payload: { webhookId: subject } };
    expect(operationalSubjectOf(event)).toBe(subject);
    // A page of one that held only the subject is empty but not the last.
    const first = await findSubscribers(store, event, { limit: 1 });
    expect(first).toEqual({ webhooks: [], nextCursor: subject });
    const rest = await findSubscribers(store, event, { afterWebhookId: first.nextCursor, limit: 10 });
    expect(rest.webhooks.map((w) => w.id)).toEqual(hooks.slice(1));
    expect(rest.nextCursor).toBeNull();
    // A tenant event with a `webhookId` field in its payload is not operational: nobody is left out.
    const tenantEvent = { ...event, eventType: 'webhook.disabled' };
    expect(operationalSubjectOf(tenantEvent)).toBeNull();
    expect(operationalSubjectOf({ eventType: 'herald.webhook.disabled', payload: null })).toBeNull();
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
