/**
 * Herald inside a real ObjectStack application, end to end: a real ObjectQL engine (driver-sql on SQLite and
 * on Postgres), Herald wired with the documented call (`attachHerald`), a real Temporal dev server and worker,
 * real HTTP receivers on 127.0.0.1, signatures checked with the `standardwebhooks` package.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectQL } from '@objectstack/objectql';
import { pino } from 'pino';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { attachHerald, DispatcherReplacedError, RedeliverError, type HeraldInObjectStack } from '../../src/objectstack/index.js';
import { eventually } from '../support/delivery-checks.js';
import { TEST_BOX, uniqueId } from '../support/deps.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { startReceiver, type ReceivedRequest, type Receiver } from '../support/receiver.js';
import { startDevTemporal, type TemporalForTests } from '../support/temporal.js';
import { bootObjectQL, type AppDatabase } from './objectql-support.js';

/** The app's own object, as an ObjectStack app declares it (organization_id makes it organization-scoped). */
const ORDER = {
  name: 'shop_order',
  label: 'Order',
  fields: {
    name: { type: 'text', label: 'Name' },
    total: { type: 'number', label: 'Total' },
    organization_id: { type: 'text', label: 'Organization' },
  },
};

let temporal: TemporalForTests;
let postgres: TestPostgres | undefined;
const dir = mkdtempSync(join(tmpdir(), 'herald-os-app-'));

beforeAll(async () => {
  temporal = await startDevTemporal();
});
afterAll(async () => {
  await temporal?.teardown();
  await postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const databases: [string, () => Promise<AppDatabase>][] = [
  ['driver-sql on SQLite', async () => ({ kind: 'sqlite', filename: join(dir, `app-${uniqueId('')}.db`) })],
  [
    'driver-sql on Postgres',
    async () => {
      postgres = await startPostgres();
      return { kind: 'postgres', url: postgres.url };
    },
  ],
];

/** The plugin's payload: Standard Webhooks' `data` (Herald's envelope is `{ type, timestamp, data }`). */
function body(request: ReceivedRequest): Record<string, unknown> {
  return (JSON.parse(request.body) as { data: Record<string, unknown> }).data;
}

describe.each(databases)('Herald in an ObjectStack app (%s)', (_name, database) => {
  let ql: ObjectQL;
  let app: HeraldInObjectStack;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    ql = await bootObjectQL(await database());
    ql.registry.registerObject(ORDER as never, 'shop');
    await ql.syncSchemas();
    app = await attachHerald(ql as never, {
      temporal: temporal.env.client,
      box: TEST_BOX,
      taskQueue: uniqueId('tq-os-'),
      logger: pino({ level: 'warn' }),
      worker: { connection: temporal.env.nativeConnection, egressAllow: '127.0.0.1' },
    });
  });

  afterAll(async () => {
    await app?.close();
    await ql?.destroy();
    await Promise.all(receivers.map((r) => r.close()));
  });

  async function receiver(respond?: Receiver['respond']): Promise<Receiver> {
    const r = await startReceiver(respond ? { respond } : {});
    receivers.push(r);
    return r;
  }

  it("delivers each record change, signed, with the plugin's event id and payload; lists, redelivers and dedups through the outbox", async () => {
    const rx = await receiver();
    const { webhook, secret } = await app.herald.webhooks.create({ url: rx.url, eventTypes: [`${ORDER.name}.*`] });
    const verifier = new StandardWebhook(secret);

    await ql.insert(ORDER.name, { id: 'o1', name: 'First', total: 3 });
    await ql.update(ORDER.name, { total: 4 }, { where: { id: 'o1' } });
    await ql.delete(ORDER.name, { where: { id: 'o1' } });

    const requests = await rx.waitForRequests(3, 60_000);
    const byAction = new Map<string, ReceivedRequest>();
    for (const request of requests) {
      // The bytes sent are the bytes signed; an independent verifier accepts them.
      verifier.verify(request.body, request.headers as Record<string, string>);
      byAction.set(String(body(request)['action']), request);
    }
    expect([...byAction.keys()].sort()).toEqual(['create', 'delete', 'update']);
    for (const [action, request] of byAction) {
      const payload = body(request);
      const pluginId = decodeURIComponent(String(request.headers['webhook-id']));
      expect(pluginId).toBe(`${ORDER.name}:o1:${action}:${String(payload['timestamp'])}`);
      expect(payload).toMatchObject({ object: ORDER.name, recordId: 'o1', action, type: `data.record.${action}d` });
    }
    const created = body(byAction.get('create')!);
    // Declared fields only: the platform's own columns (owner_id, created_by, …) stay out of the payload.
    expect(Object.keys(created['after'] as object).sort()).toEqual(['id', 'name', 'organization_id', 'total']);
    expect(created['after']).toMatchObject({ id: 'o1', name: 'First', total: 3 });

    // The delivery table is the app's: its own engine lists it under the plugin's object and field names.
    const rows = await eventually(async () => {
      const found = await ql.find('sys_webhook_delivery', { where: { webhook_id: webhook.id }, context: { isSystem: true } } as never);
      expect(found).toHaveLength(3);
      for (const row of found) expect(row).toMatchObject({ status: 'success', attempts: 1, response_code: 200 });
      return found;
    });
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(expect.arrayContaining(['event_id', 'webhook_id', 'event_type', 'url', 'method', 'status', 'attempts', 'next_retry_at', 'last_attempted_at', 'response_code', 'response_body', 'error', 'created_at', 'updated_at', 'workflow_id', 'run_id', 'tenant_id']));
    }
    const fields = Object.keys(ql.getSchema('sys_webhook_delivery')?.fields ?? {});
    for (const credential of ['secret', 'headers_json', 'secrets_sealed', 'headers_sealed', 'payload_json']) expect(fields).not.toContain(credential);
    const views = (ql.getSchema('sys_webhook_delivery') as { listViews?: Record<string, unknown> }).listViews;
    expect(Object.keys(views ?? {}).sort()).toEqual(['failures', 'pending', 'recent']);

    // The plugin's outbox API.
    const listed = await app.outbox.list({ status: 'success' });
    expect(listed.filter((d) => d.webhookId === webhook.id)).toHaveLength(3);
    const createDelivery = listed.find((d) => d.webhookId === webhook.id && d.eventType === `${ORDER.name}.create`)!;
    expect(createDelivery.payload).toMatchObject({ recordId: 'o1', action: 'create' });
    await app.outbox.redeliver(createDelivery.id);
    const again = (await rx.waitForRequests(4, 60_000))[3]!;
    expect(again.headers['webhook-id']).toBe(byAction.get('create')!.headers['webhook-id']);
    verifier.verify(again.body, again.headers as Record<string, string>);
    await expect(app.outbox.redeliver('dlv_nope')).rejects.toMatchObject({ name: 'RedeliverError', code: 'not_found' });

    const manual = { webhookId: webhook.id, eventId: uniqueId('evt_manual_'), eventType: 'manual.check', url: rx.url, payload: { n: 1 } };
    const first = await app.outbox.enqueue(manual);
    expect(await app.outbox.enqueue(manual)).toBe(first); // dedup on (eventId, webhookId)
    await rx.waitForRequests(5, 60_000);
    await expect(app.outbox.enqueue({ ...manual, secret: 'whsec_x' })).rejects.toBeInstanceOf(ValidationError);
    await expect(app.outbox.enqueue({ ...manual, url: 'http://127.0.0.1:1/other' })).rejects.toThrow(/url/);
    expect(() => app.outbox.claim()).toThrow(DispatcherReplacedError);
    expect(() => app.outbox.ack()).toThrow(/Temporal/);
  }, 180_000);

  it("sends the plugin's wire format to a webhook on the objectstack scheme: its payload as the body, signed as the plugin signs", async () => {
    const rx = await receiver();
    const secret = 'app-signing-secret';
    await app.herald.webhooks.create({ url: rx.url, eventTypes: [`${ORDER.name}.create`], signatureScheme: 'objectstack', secret });
    await ql.insert(ORDER.name, { id: 'os1', name: 'Compat', total: 9 });
    const [request] = await rx.waitForRequests(1, 60_000);
    // Verified independently: HMAC-SHA256 over the raw body with the secret's bytes, as the plugin's receivers do.
    expect(request!.headers['x-objectstack-signature']).toBe(`sha256=${createHmac('sha256', secret).update(request!.body).digest('hex')}`);
    expect(request!.headers['x-objectstack-event']).toBe(`${ORDER.name}.create`);
    expect(request!.headers['x-objectstack-attempt']).toBe('1');
    const payload = JSON.parse(request!.body) as Record<string, unknown>;
    expect(payload).toMatchObject({ object: ORDER.name, recordId: 'os1', action: 'create', type: 'data.record.created', after: { id: 'os1', name: 'Compat', total: 9 } });
  });

  it('refuses to redeliver a delivery that is still retrying (not_eligible)', async () => {
    const failing = await receiver(() => ({ status: 503 }));
    const { webhook } = await app.herald.webhooks.create({ url: failing.url, eventTypes: ['retry.*'], retrySchedule: [3600] });
    const id = await app.outbox.enqueue({ webhookId: webhook.id, eventId: uniqueId('evt_retry_'), eventType: 'retry.check', url: failing.url, payload: {} });
    await failing.waitForRequests(1, 60_000);
    await eventually(async () => expect((await app.outbox.list({ status: 'pending' })).map((d) => d.id)).toContain(id));
    const refused = await app.outbox.redeliver(id).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RedeliverError);
    expect((refused as RedeliverError).code).toBe('not_eligible');
    await app.herald.deliveries.cancel(id);
  });

  it("never delivers one organization's records to another organization's webhook", async () => {
    const [a, b, none] = await Promise.all([receiver(), receiver(), receiver()]);
    const orgA = uniqueId('org_a_');
    const orgB = uniqueId('org_b_');
    await app.herald.webhooks.create({ tenantId: orgA, url: a.url, eventTypes: [`${ORDER.name}.create`] });
    await app.herald.webhooks.create({ tenantId: orgB, url: b.url, eventTypes: [`${ORDER.name}.create`] });
    const noOrgTenant = await app.herald.webhooks.create({ url: none.url, eventTypes: [`${ORDER.name}.create`] });

    const system = { context: { isSystem: true } };
    await ql.insert(ORDER.name, { id: 'a1', name: 'A1', total: 1, organization_id: orgA }, system as never);
    await ql.insert(ORDER.name, { id: 'b1', name: 'B1', total: 2, organization_id: orgB }, system as never);
    await ql.insert(ORDER.name, { id: 'a2', name: 'A2', total: 3, organization_id: orgA }, system as never);
    await ql.insert(ORDER.name, { id: 'n1', name: 'N1', total: 4 });

    await a.waitForRequests(2, 60_000);
    await b.waitForRequests(1, 60_000);
    // The org-less webhook sees the org-less record (and, from the first test's webhook in the same tenant, nothing else).
    await none.waitForRequests(1, 60_000);
    // Give any stray cross-organization delivery time to arrive before counting.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(a.requests.map((r) => body(r)['recordId']).sort()).toEqual(['a1', 'a2']);
    expect(b.requests.map((r) => body(r)['recordId'])).toEqual(['b1']);
    expect(none.requests.map((r) => body(r)['recordId'])).toEqual(['n1']);
    for (const r of a.requests) expect(body(r)['organizationId']).toBe(orgA);
    expect(noOrgTenant.webhook.tenantId).toBe('default');
  });
});
