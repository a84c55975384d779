import type { Client } from '@temporalio/client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventId } from '../../src/client/validation.js';
import { parseNewWebhook } from '../../src/client/webhook-validation.js';
import { operationalEventData, operationalEventId, publishOperationalEvent, type OperationalEvent } from '../../src/delivery/operational-events.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { findEvent } from '../../src/store/events.js';
import { openEngine } from '../../src/store/open-engine.js';
import { createWebhook } from '../../src/store/webhooks.js';
import { TEST_BOX } from '../support/deps.js';

// The parts of publishOperationalEvent that decide without Temporal: ids per occurrence, the payload, the
// loop guard and "nobody subscribes". A starter whose every use throws proves no delivery was started; the
// deliveries themselves are in test/client/operational-events.dev-server.test.ts.

const T0 = Date.UTC(2026, 0, 31, 12, 0, 0);
const failing = (over: Partial<Extract<OperationalEvent, { type: 'herald.webhook.failing' }>> = {}): OperationalEvent => ({
  type: 'herald.webhook.failing',
  tenantId: 'acme',
  webhookId: 'wh_abc_def',
  url: 'https://hooks.example.com/a',
  consecutiveFailures: 10,
  nextProbeAt: T0 + 30_000,
  occurredAt: T0,
  ...over,
});
const dead = (over: Partial<Extract<OperationalEvent, { type: 'herald.delivery.dead' }>> = {}): OperationalEvent => ({
  type: 'herald.delivery.dead',
  tenantId: 'acme',
  deliveryId: 'dlv_0123456789abcdef0123456789abcdef',
  runId: '0197a3c2-5d1e-7b6a-9f00-1234567890ab',
  webhookId: 'wh_abc_def',
  eventId: 'evt_1',
  eventType: 'order.created',
  attempts: 10,
  responseCode: 500,
  error: 'HTTP 500',
  occurredAt: T0,
  ...over,
});

describe('operational event ids', () => {
  it('name the occurrence: the same report gives the same id, another transition or run another', () => {
    expect(operationalEventId(failing())).toBe(`herald_webhook_failing_wh_abc_def_${T0}`);
    // What the breaker reports besides the time does not change which occurrence it is.
    expect(operationalEventId(failing({ consecutiveFailures: 11, nextProbeAt: T0 + 60_000 }))).toBe(operationalEventId(failing()));
    expect(operationalEventId(failing({ occurredAt: T0 + 1 }))).not.toBe(operationalEventId(failing()));
    expect(operationalEventId({ ...failing(), type: 'herald.webhook.recovered', failedForMs: 5 } as OperationalEvent)).toBe(`herald_webhook_recovered_wh_abc_def_${T0}`);
    expect(operationalEventId(dead())).toBe('herald_delivery_dead_dlv_0123456789abcdef0123456789abcdef_0197a3c2-5d1e-7b6a-9f00-1234567890ab');
    expect(operationalEventId(dead({ occurredAt: T0 + 5, attempts: 3 }))).toBe(operationalEventId(dead()));
    expect(operationalEventId(dead({ runId: 'another-run' }))).not.toBe(operationalEventId(dead()));
  });

  it('are valid event ids, hashed when the readable form would not be', () => {
    const long = failing({ webhookId: `wh_${'x'.repeat(120)}` });
    const odd = failing({ webhookId: 'wh.with.dots' });
    for (const event of [failing(), dead(), long, odd]) expect(EventId.safeParse(operationalEventId(event)).success).toBe(true);
    expect(operationalEventId(long)).toMatch(/^herald_webhook_failing_sha256-[0-9a-f]{48}$/);
    expect(operationalEventId(long)).toBe(operationalEventId(failing({ webhookId: `wh_${'x'.repeat(120)}` })));
    expect(operationalEventId(long)).not.toBe(operationalEventId(failing({ webhookId: `wh_${'x'.repeat(121)}` })));
    expect(operationalEventId(odd)).not.toBe(operationalEventId(failing({ webhookId: 'wh_with_dots' })));
  });
});

describe('operational event data', () => {
  it('carries each documented field, times as ISO 8601', () => {
    expect(operationalEventData(failing())).toEqual({
      webhookId: 'wh_abc_def',
      url: 'https://hooks.example.com/a',
      consecutiveFailures: 10,
      nextProbeAt: '2026-01-31T12:00:30.000Z',
      occurredAt: '2026-01-31T12:00:00.000Z',
    });
    expect(operationalEventData({ type: 'herald.webhook.disabled', tenantId: 'acme', webhookId: 'wh_1', url: 'https://x.example/', reason: 'failing for 5 days', occurredAt: T0 })).toEqual({
      webhookId: 'wh_1',
      url: 'https://x.example/',
      reason: 'failing for 5 days',
      occurredAt: '2026-01-31T12:00:00.000Z',
    });
    expect(operationalEventData(dead({ error: 'e'.repeat(5000) }))).toMatchObject({ deliveryId: 'dlv_0123456789abcdef0123456789abcdef', attempts: 10, responseCode: 500, error: 'e'.repeat(1000) });
    expect(operationalEventData(dead({ responseCode: null, error: null }))).toMatchObject({ responseCode: null, error: null, eventType: 'order.created' });
  });
});

describe('publishOperationalEvent without a subscriber to start', () => {
  let store: DataEngine;
  const noTemporal = new Proxy({}, { get: () => { throw new Error('no delivery may start in this test'); } }) as Client;
  const deps = () => ({ store, starter: { temporal: noTemporal, taskQueue: 'unused', searchAttributes: false }, clock: Date.now, logger: pino({ level: 'silent' }) });
  const hook = async (tenantId: string, eventTypes: string[]) =>
    (await createWebhook({ engine: store, box: TEST_BOX, clock: Date.now }, parseNewWebhook({ url: 'https://hooks.example.com/x', tenantId, eventTypes }, { httpsOnly: false, scope: undefined }))).id;

  beforeAll(async () => {
    store = await openEngine('sqlite::memory:');
  });
  afterAll(async () => {
    await store.close();
  });

  it('a dead delivery of an operational event publishes nothing, even with subscribers', async () => {
    await hook('loop', ['herald.*']);
    const event = dead({ tenantId: 'loop', eventType: 'herald.webhook.failing', eventId: 'herald_webhook_failing_wh_x_1' });
    expect(await publishOperationalEvent(deps(), event)).toEqual({ published: false, eventId: operationalEventId(event), deliveries: 0, reason: 'operational event about an operational event' });
    expect(await findEvent(store, 'loop', operationalEventId(event))).toBeUndefined();
  });

  it("stores nothing when no webhook of the tenant names the type: `*`, another tenant's, or only the subject", async () => {
    await hook('quiet', ['*']);
    await hook('quiet', ['order.*', 'herald.delivery.*']);
    await hook('elsewhere', ['herald.*']);
    const event = failing({ tenantId: 'quiet' });
    expect(await publishOperationalEvent(deps(), event)).toMatchObject({ published: false, deliveries: 0, reason: 'no subscriber' });
    expect(await findEvent(store, 'quiet', operationalEventId(event))).toBeUndefined();

    const subject = await hook('alone', ['herald.*']);
    const aboutItself = failing({ tenantId: 'alone', webhookId: subject });
    expect(await publishOperationalEvent(deps(), aboutItself)).toMatchObject({ published: false, reason: 'no subscriber' });
    expect(await findEvent(store, 'alone', operationalEventId(aboutItself))).toBeUndefined();
  });

  it('a dead delivery of a tenant event does reach a `herald.delivery.*` subscriber (the store half; Temporal would be next)', async () => {
    await hook('dead-ok', ['herald.delivery.*']);
    const event = dead({ tenantId: 'dead-ok' });
    await expect(publishOperationalEvent(deps(), event)).rejects.toThrow('no delivery may start in this test');
    expect(await findEvent(store, 'dead-ok', operationalEventId(event))).toMatchObject({ eventType: 'herald.delivery.dead', status: 'fanning_out', eventTimeMs: T0 });
  });
});
