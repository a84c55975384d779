import { describe, expect, it } from 'vitest';
import { ConflictError, PayloadTooLargeError, ValidationError } from '../../src/errors.js';
import { HERALD_OBJECTS } from '../../src/store/schema.js';
import { eventually } from '../support/delivery-checks.js';
import { uniqueId } from '../support/deps.js';
import { useDevServerFixture } from '../support/dev-server-fixture.js';

// Bad input at every client function: a ValidationError naming the field, nothing written to any table (every
// row compared before and after) and no workflow started. The client's task queue has no worker, so anything
// started would stay visible on the dev server; a valid publish at the end proves that check can see one.

const DAY_MS = 24 * 60 * 60 * 1000;
const URL_OK = 'http://127.0.0.1:9/hook';

describe('bad input through the client', () => {
  const dev = useDevServerFixture('validation');

  /** Every row of every table Herald has. */
  async function snapshot() {
    const tables: Record<string, unknown[]> = {};
    for (const object of HERALD_OBJECTS) tables[object.name] = await dev.store.find(object.name, { orderBy: [{ field: object.primaryKey, order: 'asc' }] });
    return tables;
  }

  it('every client function refuses bad input with a ValidationError naming the field; nothing is written or started', async () => {
    const taskQueue = uniqueId('tq-');
    const herald = dev.client({ taskQueue, maxPayloadBytes: 1024 });
    const tenantId = uniqueId('t-');
    const { webhook } = await herald.webhooks.create({ tenantId, url: URL_OK, eventTypes: ['order.*'] });
    const { webhook: disabled } = await herald.webhooks.create({ tenantId, url: URL_OK });
    await herald.webhooks.disable(disabled.id);

    const started = async () => (await dev.temporal.env.client.workflow.count(`TaskQueue = '${taskQueue}'`)).count;
    let checked = 0;
    /** `call` must fail with ValidationError(field) and change no row. */
    async function refused(call: () => Promise<unknown>, field: string) {
      const before = await snapshot();
      const error = await call().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error, `expected a ValidationError naming ${field}`).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field, String(error)).toBe(field);
      // An oversized payload is a validation error too, with its own code (the HTTP API answers it with 413).
      expect((error as ValidationError).code).toBe(error instanceof PayloadTooLargeError ? 'payload_too_large' : 'validation');
      expect((error as ValidationError).message).toContain(field);
      expect((error as ValidationError).reason.length).toBeGreaterThan(0);
      expect(await snapshot()).toEqual(before);
      checked += 1;
    }
    const publish = (input: Record<string, unknown>) => herald.events.publish({ tenantId, type: 'order.created', payload: { ok: true }, ...input } as never);
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;

    // events.publish
    await refused(() => publish({ type: 'order..created' }), 'type');
    await refused(() => publish({ type: 'order created' }), 'type');
    await refused(() => publish({ type: 'order.*' }), 'type');
    await refused(() => publish({ type: '' }), 'type');
    await refused(() => publish({ type: 42 }), 'type');
    await refused(() => publish({ id: 'evt.1' }), 'id');
    await refused(() => publish({ id: 'evt 1' }), 'id');
    await refused(() => publish({ id: 'e'.repeat(129) }), 'id');
    await refused(() => publish({ payload: { blob: 'x'.repeat(2_000) } }), 'payload');
    await refused(() => publish({ payload: 10n }), 'payload');
    await refused(() => publish({ payload: circular }), 'payload');
    await refused(() => publish({ payload: () => 1 }), 'payload');
    await refused(() => publish({ colour: 'red' }), 'colour');
    await refused(() => publish({ time: -1 }), 'time');
    await refused(() => publish({ tenantId: 'a b' }), 'tenantId');
    await refused(() => publish({ fanOut: { batchSize: 0 } }), 'fanOut.batchSize');
    await refused(() => publish({ fanOut: { pages: 2 } }), 'fanOut.pages');
    await refused(() => herald.events.publish(null as never), '(input)');
    // The default limit (256 KiB) applies too.
    const defaultLimits = dev.client({ taskQueue });
    await refused(() => defaultLimits.events.publish({ tenantId, type: 'order.created', payload: 'x'.repeat(256 * 1024) }), 'payload');

    // deliveries.deliver
    const deliver = (input: Record<string, unknown>) => herald.deliveries.deliver({ webhookId: webhook.id, eventId: uniqueId('evt_'), eventType: 'order.created', payload: {}, ...input } as never);
    await refused(() => deliver({ eventId: 'evt.1' }), 'eventId');
    await refused(() => deliver({ eventType: 'order..x' }), 'eventType');
    await refused(() => deliver({ payload: 10n }), 'payload');
    await refused(() => deliver({ priority: 1 }), 'priority');
    await refused(() => deliver({ webhookId: '' }), 'webhookId');
    await refused(() => deliver({ webhookId: disabled.id }), 'webhookId');

    // webhooks.create
    const create = (input: Record<string, unknown>) => herald.webhooks.create({ tenantId, url: URL_OK, ...input } as never);
    await refused(() => create({ url: 'not a url' }), 'url');
    await refused(() => create({ url: 'ftp://127.0.0.1/hook' }), 'url');
    await refused(() => create({ url: 'http://user:pw@127.0.0.1/hook' }), 'url');
    await refused(() => create({ url: undefined }), 'url');
    await refused(() => create({ headers: { 'Webhook-Signature': 'v1,forged' } }), 'headers.Webhook-Signature');
    await refused(() => create({ headers: { 'content-type': 'text/plain' } }), 'headers.content-type');
    await refused(() => create({ headers: { 'X-Herald-Attempt': '9' } }), 'headers.X-Herald-Attempt');
    await refused(() => create({ headers: { 'svix-signature': 'x' } }), 'headers.svix-signature');
    await refused(() => create({ headers: { 'Bad Name': 'x' } }), 'headers.Bad Name');
    await refused(() => create({ headers: { 'X-Token': 'a\r\nInjected: 1' } }), 'headers.X-Token');
    await refused(() => create({ retrySchedule: [0, 5, 300] }), 'retrySchedule');
    await refused(() => create({ retrySchedule: [0] }), 'retrySchedule');
    await refused(() => create({ retrySchedule: [1.5] }), 'retrySchedule');
    await refused(() => create({ retrySchedule: [8 * 24 * 3600] }), 'retrySchedule');
    await refused(() => create({ retrySchedule: Array.from({ length: 20 }, () => 1) }), 'retrySchedule');
    await refused(() => create({ retryJitter: 1 }), 'retryJitter');
    await refused(() => create({ retryJitter: -0.1 }), 'retryJitter');
    await refused(() => create({ eventTypes: [] }), 'eventTypes');
    await refused(() => create({ eventTypes: ['order.**'] }), 'eventTypes.0');
    await refused(() => create({ timeoutMs: 10 }), 'timeoutMs');
    await refused(() => create({ method: 'GET' }), 'method');
    await refused(() => create({ secret: 'too-short' }), 'secret');
    await refused(() => create({ colour: 'red' }), 'colour');

    // webhooks.update
    const update = (patch: Record<string, unknown>) => herald.webhooks.update(webhook.id, patch as never);
    await refused(() => update({ url: 'not a url' }), 'url');
    await refused(() => update({ url: 'javascript:alert(1)' }), 'url');
    await refused(() => update({ description: 'fine', headers: { 'webhook-id': 'x' } }), 'headers.webhook-id');
    await refused(() => update({ retrySchedule: [-5] }), 'retrySchedule');
    await refused(() => update({ retryJitter: 2 }), 'retryJitter');
    await refused(() => update({ eventTypes: ['*.created'] }), 'eventTypes.0');
    await refused(() => update({ colour: 'red' }), 'colour');
    // Neither the tenant nor the secret can be changed by an update.
    await refused(() => update({ tenantId: 'other' }), 'tenantId');
    await refused(() => update({ secret: 'whsec_x' }), 'secret');

    // webhooks.rotateSecret
    await refused(() => herald.webhooks.rotateSecret(webhook.id, { graceSeconds: -1 }), 'graceSeconds');
    await refused(() => herald.webhooks.rotateSecret(webhook.id, { graceSeconds: 7 * 24 * 3600 + 1 }), 'graceSeconds');
    await refused(() => herald.webhooks.rotateSecret(webhook.id, { graceSeconds: 1.5 }), 'graceSeconds');
    await refused(() => herald.webhooks.rotateSecret(webhook.id, { graceSeconds: '60' as never }), 'graceSeconds');
    await refused(() => herald.webhooks.rotateSecret(webhook.id, { secret: 'too-short' }), 'secret');
    await refused(() => herald.webhooks.rotateSecret(webhook.id, { grace: 60 } as never), 'grace');

    // webhooks.disable
    await refused(() => herald.webhooks.disable(webhook.id, 'r'.repeat(501)), 'reason');

    // recover
    const now = Date.now();
    await refused(() => herald.recover(webhook.id, { since: now - 31 * DAY_MS }), 'since');
    await refused(() => herald.recover(webhook.id, { since: now - 40 * DAY_MS, until: now - 5 * DAY_MS }), 'since');
    await refused(() => herald.recover(webhook.id, { since: now - DAY_MS, until: now - 2 * DAY_MS }), 'until');
    await refused(() => herald.recover(webhook.id, { since: now - DAY_MS, until: now - DAY_MS }), 'until');
    await refused(() => herald.recover(webhook.id, { since: now + DAY_MS }), 'until');
    await refused(() => herald.recover(webhook.id, {} as never), 'since');
    await refused(() => herald.recover(webhook.id, { since: Number.NaN }), 'since');
    await refused(() => herald.recover(webhook.id, { since: new Date('not a date') }), 'since');
    await refused(() => herald.recover(webhook.id, { since: '2026-01-01' as never }), 'since');
    await refused(() => herald.recover(webhook.id, { since: now - DAY_MS, untill: now } as never), 'untill');
    // A disabled webhook cannot be recovered: a conflict, not bad input.
    await expect(herald.recover(disabled.id, { since: now - DAY_MS })).rejects.toBeInstanceOf(ConflictError);

    // list
    await refused(() => herald.webhooks.list({ limit: 0 }), 'limit');
    await refused(() => herald.webhooks.list({ limit: 501 }), 'limit');
    await refused(() => herald.webhooks.list({ limit: 2.5 }), 'limit');
    await refused(() => herald.webhooks.list({ cursor: 'garbage!' }), 'cursor');
    await refused(() => herald.webhooks.list({ cursor: Buffer.from('{"at":1}').toString('base64url') }), 'cursor');
    await refused(() => herald.webhooks.list({ active: 'yes' as never }), 'active');
    await refused(() => herald.webhooks.list({ enabled: true } as never), 'enabled');
    await refused(() => herald.deliveries.list({ limit: 0 }), 'limit');
    await refused(() => herald.deliveries.list({ limit: 10_000 }), 'limit');
    await refused(() => herald.deliveries.list({ cursor: 'garbage!' }), 'cursor');
    await refused(() => herald.deliveries.list({ status: 'failed' as never }), 'status');
    await refused(() => herald.deliveries.list({ since: 'yesterday' as never }), 'since');
    await refused(() => herald.deliveries.list({ webhook: webhook.id } as never), 'webhook');

    // forTenant
    expect(() => herald.forTenant('a b')).toThrow(ValidationError);
    expect(() => herald.forTenant('')).toThrow(expect.objectContaining({ field: 'tenantId' }));

    expect(checked).toBe(87);
    expect(await started()).toBe(0);
    expect(await dev.store.count('herald_events', {})).toBe(0);
    expect(await dev.store.count('herald_deliveries', {})).toBe(0);

    // The same check sees a start when there is one.
    await herald.events.publish({ tenantId, type: 'order.created', payload: { ok: true } });
    await eventually(async () => expect(await started()).toBe(1));
  });
});
