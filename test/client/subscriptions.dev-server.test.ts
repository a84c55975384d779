import { WebhookVerificationError } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryNotFoundError, ForbiddenError, WebhookNotFoundError } from '../../src/errors.js';
import { eventually, verifyStandard } from '../support/delivery-checks.js';
import { uniqueId } from '../support/deps.js';
import { useDevServerFixture } from '../support/dev-server-fixture.js';

// The subscription features of the client on the real dev server, with real HTTP to loopback receivers and a
// SQLite delivery table: secret rotation, tenant isolation, and disabled webhook → skipped → enable → recover.

describe('subscriptions through the client on the dev server', () => {
  const dev = useDevServerFixture('subscriptions');

  afterEach(() => dev.closeReceivers());

  const receiver = () => dev.receiver();

  /** A fresh task queue with its worker and admin client; `clock` is shared by both (tests may move it). */
  async function setup(clock: () => number = Date.now) {
    const { worker, taskQueue } = await dev.worker({ deps: { clock } });
    return { herald: dev.client({ taskQueue, clock }), worker };
  }

  function signaturesOf(request: { headers: Record<string, unknown> }): string[] {
    return String(request.headers['webhook-signature']).split(' ');
  }

  it('rotation: during the grace period both the old and the new secret verify; after it only the new one does', async () => {
    // The grace period is measured on the registry's and the send activity's clock: moved forward here
    // instead of sleeping, so the test cannot race the expiry.
    let skewMs = 0;
    const { herald, worker } = await setup(() => Date.now() + skewMs);
    const rx = await receiver();
    const { webhook, secret: oldSecret } = await herald.webhooks.create({ url: rx.url, tenantId: uniqueId('t-') });

    await worker.runUntil(async () => {
      const rotated = await herald.webhooks.rotateSecret(webhook.id, { graceSeconds: 60 });
      expect(rotated.secret).toMatch(/^whsec_/);
      expect(rotated.secret).not.toBe(oldSecret);
      expect(rotated.webhook.id).toBe(webhook.id);

      // In the grace period: two signatures; each secret verifies the same request on its own.
      const during = await herald.deliveries.deliver({ webhookId: webhook.id, eventId: uniqueId('evt_'), eventType: 'order.created', payload: { n: 1 } });
      expect(await herald.deliveries.handle(during.workflowId).result()).toMatchObject({ status: 'success' });
      const [first] = await rx.waitForRequests(1);
      expect(signaturesOf(first!)).toHaveLength(2);
      for (const sig of signaturesOf(first!)) expect(sig).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(verifyStandard(oldSecret, first!)).toMatchObject({ type: 'order.created', data: { n: 1 } });
      expect(verifyStandard(rotated.secret, first!)).toMatchObject({ type: 'order.created', data: { n: 1 } });

      // The grace period (60 s) has passed: only the new secret signs.
      skewMs = 61_000;
      const after = await herald.deliveries.deliver({ webhookId: webhook.id, eventId: uniqueId('evt_'), eventType: 'order.created', payload: { n: 2 } });
      expect(await herald.deliveries.handle(after.workflowId).result()).toMatchObject({ status: 'success' });
      const second = (await rx.waitForRequests(2))[1]!;
      expect(signaturesOf(second)).toHaveLength(1);
      expect(verifyStandard(rotated.secret, second)).toMatchObject({ type: 'order.created', data: { n: 2 } });
      expect(() => verifyStandard(oldSecret, second)).toThrow(WebhookVerificationError);

      // A rotation with no grace retires the previous secret at once.
      const again = await herald.webhooks.rotateSecret(webhook.id, { graceSeconds: 0 });
      const third = await herald.deliveries.deliver({ webhookId: webhook.id, eventId: uniqueId('evt_'), eventType: 'order.created', payload: { n: 3 } });
      expect(await herald.deliveries.handle(third.workflowId).result()).toMatchObject({ status: 'success' });
      const last = (await rx.waitForRequests(3))[2]!;
      expect(signaturesOf(last)).toHaveLength(1);
      verifyStandard(again.secret, last);
      expect(() => verifyStandard(rotated.secret, last)).toThrow(WebhookVerificationError);
    });

    // Reads never return a secret.
    const read = JSON.stringify([await herald.webhooks.get(webhook.id), await herald.webhooks.list({ tenantId: webhook.tenantId })]);
    expect(read).not.toContain(oldSecret);
    expect(read).not.toContain('whsec_');
  });

  it("tenant isolation: a tenant's client cannot see or touch another tenant's webhooks, deliveries or events, and its events never reach them", async () => {
    const { herald, worker } = await setup();
    const a = herald.forTenant('a');
    const b = herald.forTenant('b');
    expect(a.tenantId).toBe('a');
    const rxA = await receiver();
    const rxB = await receiver();
    // B: one webhook that takes everything (the one that must not hear A), one whose receiver keeps failing.
    const { webhook: bAll } = await b.webhooks.create({ url: rxB.url, eventTypes: ['*'] });
    const { webhook: bFailing } = await b.webhooks.create({ url: `${rxB.url}?fail=1`, eventTypes: ['job.*'], retrySchedule: [3600], retryJitter: 0 });
    const { webhook: aHook, secret: aSecret } = await a.webhooks.create({ url: rxA.url, eventTypes: ['order.*'] });
    rxB.respond = (req) => (req.url.includes('fail=1') ? { status: 503 } : { status: 200 });

    await worker.runUntil(async () => {
      // B's deliveries: one finished, one pending (waiting an hour for its retry).
      const bEvent = uniqueId('evt_');
      await b.events.publish({ id: bEvent, type: 'order.created', payload: { tenant: 'b' } });
      await b.events.fanOutResult(bEvent);
      const bJob = uniqueId('evt_');
      await b.events.publish({ id: bJob, type: 'job.started', payload: { tenant: 'b' } });
      expect(await b.events.fanOutResult(bJob)).toMatchObject({ matched: 2 });
      const bDone = await eventually(async () => {
        const [row] = (await b.deliveries.list({ eventId: bEvent })).items;
        expect(row?.status).toBe('success');
        return row!;
      });
      const bPending = await eventually(async () => {
        const row = (await b.deliveries.list({ eventId: bJob, webhookId: bFailing.id })).items[0];
        expect(row).toMatchObject({ status: 'pending', attempts: 1 });
        return row!;
      });
      // bEvent → bAll; bJob → bAll and bFailing (the bJob → bAll delivery may still be on its way).
      await rxB.waitForRequests(3);
      const bRequestsBefore = rxB.requests.length;
      expect(bRequestsBefore).toBe(3);

      // Webhooks: 404-like, the same error as for an id that does not exist.
      const notFound = { name: 'WebhookNotFoundError', code: 'not_found', webhookId: bAll.id };
      await expect(a.webhooks.get(bAll.id)).rejects.toMatchObject(notFound);
      await expect(a.webhooks.update(bAll.id, { description: 'mine now' })).rejects.toMatchObject(notFound);
      await expect(a.webhooks.update(bAll.id, { url: rxA.url })).rejects.toBeInstanceOf(WebhookNotFoundError);
      await expect(a.webhooks.delete(bAll.id)).rejects.toMatchObject(notFound);
      await expect(a.webhooks.rotateSecret(bAll.id, { graceSeconds: 0 })).rejects.toMatchObject(notFound);
      await expect(a.webhooks.disable(bAll.id)).rejects.toMatchObject(notFound);
      await b.webhooks.disable(bFailing.id, 'paused by b');
      await expect(a.webhooks.enable(bFailing.id)).rejects.toMatchObject({ name: 'WebhookNotFoundError', webhookId: bFailing.id });
      await b.webhooks.enable(bFailing.id);
      await expect(a.webhooks.get('wh_doesnotexist')).rejects.toMatchObject({ name: 'WebhookNotFoundError', message: 'webhook wh_doesnotexist: no such webhook' });
      await expect(a.webhooks.get(bAll.id)).rejects.toThrow(`webhook ${bAll.id}: no such webhook`);
      const aList = await a.webhooks.list();
      expect(aList.items.map((w) => w.id)).toEqual([aHook.id]);
      // Asking for B's tenant in a filter does not widen A's scope.
      expect((await a.webhooks.list({ tenantId: 'b' })).items.map((w) => w.id)).toEqual([aHook.id]);
      // Nothing of B's changed.
      const bAfter = await b.webhooks.get(bAll.id);
      expect(bAfter).toMatchObject({ active: true, description: null, url: bAll.url, updatedAt: bAll.updatedAt });
      expect(await b.webhooks.get(bFailing.id)).toMatchObject({ active: true });

      // Deliveries: not found, and nothing happens to them.
      for (const id of [bDone.id, bPending.id]) {
        await expect(a.deliveries.get(id)).rejects.toBeInstanceOf(DeliveryNotFoundError);
        await expect(a.deliveries.attempts(id)).rejects.toBeInstanceOf(DeliveryNotFoundError);
        await expect(a.deliveries.redeliver(id)).rejects.toBeInstanceOf(DeliveryNotFoundError);
        await expect(a.deliveries.cancel(id)).rejects.toBeInstanceOf(DeliveryNotFoundError);
        await expect(a.deliveries.result(id)).rejects.toBeInstanceOf(DeliveryNotFoundError);
      }
      expect((await a.deliveries.list()).items).toEqual([]);
      expect((await a.deliveries.list({ tenantId: 'b' })).items).toEqual([]);
      expect((await a.deliveries.list({ webhookId: bAll.id })).items).toEqual([]);
      expect((await a.deliveries.list({ eventId: bEvent })).items).toEqual([]);
      expect(await b.deliveries.get(bPending.id)).toMatchObject({ status: 'pending', attempts: 1, runId: bPending.runId });
      expect(await b.deliveries.get(bDone.id)).toMatchObject({ status: 'success', runId: bDone.runId });

      // Recovery of B's webhook.
      await expect(a.recover(bAll.id, { since: Date.now() - 60_000 })).rejects.toMatchObject(notFound);

      // Events: A cannot publish as B, nor read B's.
      const asB = a.events.publish({ tenantId: 'b', type: 'order.created', payload: {} });
      await expect(asB).rejects.toBeInstanceOf(ForbiddenError);
      await expect(asB).rejects.toMatchObject({ code: 'forbidden', field: 'tenantId' });
      await expect(asB).rejects.toThrow(/tenantId/);
      await expect(a.events.get(bEvent, 'b')).rejects.toMatchObject({ name: 'ForbiddenError', field: 'tenantId' });
      await expect(a.events.get(bEvent)).rejects.toMatchObject({ name: 'EventNotFoundError' });
      await expect(a.events.fanOutResult(bEvent, 'b')).rejects.toMatchObject({ name: 'ForbiddenError', field: 'tenantId' });
      await expect(a.webhooks.create({ url: rxA.url, tenantId: 'b' })).rejects.toMatchObject({ name: 'ForbiddenError', field: 'tenantId' });
      await expect(a.deliveries.deliver({ webhookId: bAll.id, eventId: uniqueId('evt_'), eventType: 'order.created', payload: {} })).rejects.toBeInstanceOf(WebhookNotFoundError);

      // A publishes: its own webhook gets it; B's `*` webhook does not.
      const aEvent = uniqueId('evt_');
      expect(await a.events.publish({ id: aEvent, type: 'order.created', payload: { tenant: 'a' } })).toMatchObject({ tenantId: 'a', created: true });
      expect(await a.events.fanOutResult(aEvent)).toMatchObject({ eventId: aEvent, tenantId: 'a', matched: 1, started: 1, skipped: 0 });
      const [toA] = await rxA.waitForRequests(1);
      expect(verifyStandard(aSecret, toA!)).toMatchObject({ data: { tenant: 'a' } });
      await eventually(async () => expect((await a.deliveries.list({ eventId: aEvent })).items.map((d) => d.status)).toEqual(['success']));
      await new Promise((r) => setTimeout(r, 1_000));
      expect(rxB.requests).toHaveLength(bRequestsBefore);
      expect((await b.deliveries.list({ eventId: aEvent })).items).toEqual([]);
      expect(await dev.store.count('herald_deliveries', { where: { event_id: aEvent } })).toBe(1);

      // Event ids are per tenant: B may publish the same id with another payload; it is B's own event.
      expect(await b.events.publish({ id: aEvent, type: 'order.created', payload: { tenant: 'b' } })).toMatchObject({ tenantId: 'b', created: true });
      expect(await b.events.fanOutResult(aEvent)).toMatchObject({ tenantId: 'b', matched: 1 });
      const [, , , toB] = await rxB.waitForRequests(bRequestsBefore + 1);
      expect(JSON.parse(toB!.body)).toMatchObject({ data: { tenant: 'b' } });
      expect((await a.events.get(aEvent)).payload).toEqual({ tenant: 'a' });
      expect((await b.events.get(aEvent)).payload).toEqual({ tenant: 'b' });

      // Clean up B's pending delivery as B.
      await b.deliveries.cancel(bPending.id);
      expect(await b.deliveries.result(bPending.id)).toMatchObject({ status: 'cancelled' });
    });
    expect(rxA.requests).toHaveLength(1);
  });

  it('disabled webhook: publish records a skipped delivery and sends nothing; after enable, recover delivers it, and a second recover redelivers nothing', async () => {
    const { herald, worker } = await setup();
    const rx = await receiver();
    const tenantId = uniqueId('t-');
    const { webhook, secret } = await herald.webhooks.create({ tenantId, url: rx.url, eventTypes: ['user.*'] });
    const disabled = await herald.webhooks.disable(webhook.id, 'receiver migrating');
    expect(disabled).toMatchObject({ active: false, disabledReason: 'receiver migrating' });
    const since = Date.now() - 1_000;

    await worker.runUntil(async () => {
      const eventId = uniqueId('evt_');
      await herald.events.publish({ id: eventId, tenantId, type: 'user.signed_up', payload: { user: 'u_1' } });
      expect(await herald.events.fanOutResult(eventId, tenantId)).toMatchObject({ eventId, tenantId, matched: 1, started: 0, skipped: 1 });
      const [skipped] = (await herald.deliveries.list({ webhookId: webhook.id })).items;
      expect(skipped).toMatchObject({ eventId, status: 'skipped', attempts: 0, runId: null });
      expect(skipped!.error).toContain('receiver migrating');

      // Recovery refuses a disabled webhook (nothing started).
      await expect(herald.recover(webhook.id, { since })).rejects.toMatchObject({ name: 'ConflictError', code: 'conflict' });

      await new Promise((r) => setTimeout(r, 500));
      expect(rx.requests).toHaveLength(0);

      expect(await herald.webhooks.enable(webhook.id)).toMatchObject({ active: true, disabledReason: null });
      // Enabling alone sends nothing: skipped deliveries wait for recovery.
      await new Promise((r) => setTimeout(r, 500));
      expect(rx.requests).toHaveLength(0);

      const job = await herald.recover(webhook.id, { since });
      expect(job.workflowId).toMatch(new RegExp(`^recover:${webhook.id}:`));
      expect(await job.result()).toEqual({ webhookId: webhook.id, redelivered: 1, scanned: 1 });
      expect(await job.progress()).toEqual({ redelivered: 1, scanned: 1, done: true });

      const [request] = await rx.waitForRequests(1);
      expect(request!.headers['webhook-id']).toBe(eventId);
      expect(verifyStandard(secret, request!)).toMatchObject({ type: 'user.signed_up', data: { user: 'u_1' } });
      const delivered = await eventually(async () => {
        const row = await herald.deliveries.get(skipped!.id);
        expect(row).toMatchObject({ status: 'success', attempts: 1, responseCode: 200 });
        return row;
      });
      expect(delivered.runId).not.toBeNull();
      expect(delivered.attemptLog.map((a) => [a.attempt, a.outcome])).toEqual([[1, 'success']]);

      // Again over the same window: nothing is dead or skipped any more.
      const again = await herald.recover(webhook.id, { since });
      expect(again.workflowId).not.toBe(job.workflowId);
      expect(await again.result()).toEqual({ webhookId: webhook.id, redelivered: 0, scanned: 0 });
      // And the very same window again (a new run under the same id).
      const same = await herald.recover(webhook.id, { since, until: Date.now() });
      expect(await same.result()).toMatchObject({ redelivered: 0 });
      await new Promise((r) => setTimeout(r, 500));
      expect(rx.requests).toHaveLength(1);
    });
  });
});
