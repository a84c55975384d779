/**
 * The one contract every DataEngine must meet, run against each engine by `engines.test.ts`.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  EngineClosedError,
  StoreValidationError,
  UniqueViolationError,
  type DataEngine,
  type DataRecord,
  type Where,
} from '../../src/store/data-engine.js';
import {
  HERALD_OBJECTS,
  heraldDeliveries,
  heraldDeliveryAttempts,
  heraldEvents,
  heraldWebhooks,
  type DeliveryAttemptRow,
  type DeliveryRow,
  type EventRow,
  type NewDeliveryRow,
  type NewEventRow,
  type NewWebhookRow,
  type ObjectDefinition,
  type WebhookRow,
} from '../../src/store/schema.js';

export interface EngineHarness {
  /**
   * Opens a new engine (not yet migrated) over this harness's storage: engines opened from one harness see the
   * same data, through separate connections where the engine has connections.
   */
  open(options?: { objects?: readonly ObjectDefinition[] }): Promise<DataEngine>;
  /** Closes every engine it opened and removes the storage. */
  dispose(): Promise<void>;
  /**
   * A known, documented difference: the storage stamps `updated_at` with its own clock on every update, whatever
   * was written (ObjectStack's driver-memory). The one case that writes `updated_at` checks exactly that instead.
   */
  stampsUpdatedAt?: boolean;
}

const DELIVERIES = heraldDeliveries.name;
const WEBHOOKS = heraldWebhooks.name;
const ATTEMPTS = heraldDeliveryAttempts.name;
const EVENTS = heraldEvents.name;

/**
 * Shaped like secret-box.ts output (`v1.<nonce>.<tag>.<ciphertext>`, base64url): the engines store sealed
 * credentials as plain text, so a value that is not JSON must round-trip untouched.
 */
const SEALED_SECRETS = 'v1.q8Xk2l0ZbW9yT3aF.Jm4_Rr1sLq0tUv2wXy3zAb.c2VhbGVkLXNlY3JldHMtcGxhY2Vob2xkZXI';
const SEALED_HEADERS = 'v1.AbCdEfGhIjKlMnOp.Zz9-Yy8_Xx7Ww6Vv5Uu4Tt.c2VhbGVkLWhlYWRlcnMtcGxhY2Vob2xkZXI';

/** Concurrent callers in the race tests, each on its own engine (its own connection for SQL engines). */
const RACERS = 20;

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z in epoch ms

function delivery(n: number, overrides: Partial<NewDeliveryRow> = {}): NewDeliveryRow {
  return {
    id: `dlv_${String(n).padStart(3, '0')}`,
    webhook_id: `wh_${n % 3}`,
    event_id: `evt_${n}`,
    event_type: n % 2 === 0 ? 'order.created' : 'order.paid',
    event_time: T0 + n * 1000 - 500,
    url: `https://example.test/hook/${n}`,
    workflow_id: `delivery:wh_${n % 3}:evt_${n}`,
    created_at: T0 + n * 1000,
    updated_at: T0 + n * 1000,
    ...overrides,
  };
}

function webhook(id: string, overrides: Partial<NewWebhookRow> = {}): NewWebhookRow {
  return {
    id,
    url: `https://example.test/${id}`,
    event_types_json: '["order.created"]',
    secrets_sealed: SEALED_SECRETS,
    created_at: T0,
    updated_at: T0,
    ...overrides,
  };
}

function event(n: number, overrides: Partial<NewEventRow> = {}): NewEventRow {
  return {
    id: `ev_${String(n).padStart(3, '0')}`,
    event_id: `evt_${n}`,
    event_type: n % 2 === 0 ? 'order.created' : 'order.paid',
    event_time: T0 + n * 1000 - 500,
    payload_json: JSON.stringify({ n }),
    created_at: T0 + n * 1000,
    updated_at: T0 + n * 1000,
    ...overrides,
  };
}

async function expectValidationError(promise: Promise<unknown>, ...mentions: string[]): Promise<StoreValidationError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a StoreValidationError, but the call succeeded');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreValidationError);
  const e = error as StoreValidationError;
  expect(e.name).toBe('StoreValidationError');
  for (const m of mentions) expect(e.message).toContain(m);
  return e;
}

async function expectUniqueViolation(promise: Promise<unknown>, object: string, fields: string[]): Promise<void> {
  const error = await promise.then(
    () => {
      throw new Error('expected a UniqueViolationError, but the call succeeded');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UniqueViolationError);
  const e = error as UniqueViolationError;
  expect(e.name).toBe('UniqueViolationError');
  expect(e.object).toBe(object);
  expect(e.fields).toEqual(fields);
}

export function describeEngineContract(name: string, makeHarness: () => Promise<EngineHarness>): void {
  describe(`DataEngine contract: ${name}`, () => {
    let harness: EngineHarness;
    let engine: DataEngine;

    beforeAll(async () => {
      harness = await makeHarness();
      engine = await harness.open();
      await engine.migrate();
    });

    afterAll(async () => {
      await harness?.dispose();
    });

    beforeEach(async () => {
      for (const object of HERALD_OBJECTS) await engine.delete(object.name, { where: {}, multi: true });
    });

    const ids = (rows: DataRecord[]) => rows.map((r) => r['id']);

    describe('insert and read', () => {
      it('returns the inserted row with defaults filled in, and findOne reads it back', async () => {
        const inserted = await engine.insert<DeliveryRow>(DELIVERIES, delivery(1));
        expect(inserted).toEqual({
          ...delivery(1),
          tenant_id: 'default',
          method: 'POST',
          status: 'pending',
          attempts: 0,
          next_retry_at: null,
          last_attempted_at: null,
          response_code: null,
          response_body: null,
          error: null,
          duration_ms: null,
          run_id: null,
        });
        expect(await engine.findOne(DELIVERIES, { where: { id: 'dlv_001' } })).toEqual(inserted);
        expect(await engine.findOne(DELIVERIES, { where: { id: 'dlv_404' } })).toBeNull();
      });

      it('inserts an array in order and returns every row', async () => {
        const rows = await engine.insert(DELIVERIES, [delivery(3), delivery(1), delivery(2)]);
        expect(ids(rows)).toEqual(['dlv_003', 'dlv_001', 'dlv_002']);
        expect(await engine.count(DELIVERIES)).toBe(3);
        expect(await engine.insert(DELIVERIES, [])).toEqual([]);
      });

      it('inserts an array atomically: one conflicting row writes nothing', async () => {
        await engine.insert(DELIVERIES, delivery(1));
        await expectUniqueViolation(engine.insert(DELIVERIES, [delivery(2), delivery(1, { id: 'dlv_other' })]), DELIVERIES, [
          'event_id',
          'webhook_id',
        ]);
        await expectUniqueViolation(engine.insert(DELIVERIES, [delivery(3), delivery(4, { id: 'dlv_003' })]), DELIVERIES, ['id']);
        expect(ids(await engine.find(DELIVERIES))).toEqual(['dlv_001']);
      });

      it('returns copies: mutating a returned record changes nothing stored', async () => {
        const row = await engine.insert(DELIVERIES, delivery(1));
        row['status'] = 'dead';
        const found = await engine.findOne(DELIVERIES, { where: { id: 'dlv_001' } });
        found!['status'] = 'dead';
        expect((await engine.findOne(DELIVERIES, { where: { id: 'dlv_001' } }))!['status']).toBe('pending');
      });

      it('round-trips JSON text byte for byte, sealed text, booleans, epoch ms, reals and nulls', async () => {
        // Not canonical JSON (spacing, a \u escape, a non-ASCII name): a JSON-typed column would rewrite it.
        const eventTypes = '[ "order.created",\t"ünïcödé.🎉" , "caf\\u00e9.*"]';
        const stored = await engine.insert<WebhookRow>(
          WEBHOOKS,
          webhook('wh_1', {
            event_types_json: eventTypes,
            headers_sealed: SEALED_HEADERS,
            active: false,
            disabled_at: new Date(T0 + 123) as unknown as number, // a Date is accepted for epoch-ms fields
            retry_jitter: 0.35,
            timeout_ms: 2_000_000_000,
            retry_schedule_json: '[5, 300, 3600]',
            description: '',
          }),
        );
        const found = await engine.findOne<WebhookRow>(WEBHOOKS, { where: { id: 'wh_1' } });
        expect(found).toEqual(stored);
        expect(found!.event_types_json).toBe(eventTypes);
        expect(found!.headers_sealed).toBe(SEALED_HEADERS);
        expect(found!.secrets_sealed).toBe(SEALED_SECRETS);
        expect(found!.retry_schedule_json).toBe('[5, 300, 3600]');
        expect(found!.active).toBe(false);
        expect(found!.disabled_at).toBe(T0 + 123);
        expect(typeof found!.created_at).toBe('number');
        expect(found!.retry_jitter).toBe(0.35);
        expect(found!.timeout_ms).toBe(2_000_000_000);
        expect(found!.description).toBe('');
        expect(found!.deleted_at).toBeNull();
        const defaults = await engine.insert<WebhookRow>(WEBHOOKS, webhook('wh_2'));
        expect(defaults).toMatchObject({
          active: true,
          signature_scheme: 'standard',
          method: 'POST',
          timeout_ms: 15_000,
          retry_jitter: 0.2,
          headers_sealed: null,
          retry_schedule_json: null,
          disabled_at: null,
          tenant_id: 'default',
        });
        expect(await engine.findOne(WEBHOOKS, { where: { id: 'wh_2' } })).toEqual(defaults);
        // Booleans filter as booleans, whatever the storage.
        expect(ids(await engine.find(WEBHOOKS, { where: { active: true } }))).toEqual(['wh_2']);
        expect(ids(await engine.find(WEBHOOKS, { where: { active: { $ne: true } } }))).toEqual(['wh_1']);
        const far = T0 * 100; // beyond 32 bits, within 2^53
        await engine.update(WEBHOOKS, { deleted_at: far }, { where: { id: 'wh_2' } });
        expect((await engine.findOne<WebhookRow>(WEBHOOKS, { where: { deleted_at: far } }))!.deleted_at).toBe(far);
      });

      it("round-trips an event's payload JSON byte for byte, with its defaults", async () => {
        // Keys out of order, spacing, a trailing zero, an escape and non-ASCII: the exact bytes must come back.
        const json = '{ "b": [1, 2.50, "ünïcödé 🎉", "\\u00e9\\n"], "a": {"nested": null} }';
        const stored = await engine.insert<EventRow>(EVENTS, event(1, { payload_json: json }));
        expect(stored).toEqual({ ...event(1, { payload_json: json }), tenant_id: 'default', status: 'fanning_out', matched_count: null });
        const found = await engine.findOne<EventRow>(EVENTS, { where: { id: 'ev_001' } });
        expect(found).toEqual(stored);
        expect(found!.payload_json).toBe(json);
        expect(found!.event_time).toBe(T0 + 500);
        // JSON text is compared as text in filters, and updates keep the new bytes exactly too.
        expect(ids(await engine.find(EVENTS, { where: { payload_json: json } }))).toEqual(['ev_001']);
        const next = '[ {"n":1} ,null ]';
        expect(
          await engine.update(EVENTS, { payload_json: next, status: 'fanned_out', matched_count: 3 }, { where: { id: 'ev_001' } }),
        ).toBe(1);
        expect(await engine.findOne(EVENTS, { where: { id: 'ev_001' }, fields: ['payload_json', 'status', 'matched_count'] })).toEqual({
          payload_json: next,
          status: 'fanned_out',
          matched_count: 3,
        });
      });
    });

    describe('filters', () => {
      // 10 deliveries: attempts = n % 4, next_retry_at null for odd n, response_code null for n < 4.
      beforeEach(async () => {
        const rows = Array.from({ length: 10 }, (_, n) =>
          delivery(n, {
            attempts: n % 4,
            next_retry_at: n % 2 === 1 ? null : T0 + n * 60_000,
            response_code: n < 4 ? null : n < 7 ? 500 : 200,
            status: n < 3 ? 'pending' : n < 6 ? 'in_flight' : n < 9 ? 'success' : 'dead',
          }),
        );
        await engine.insert(DELIVERIES, rows);
      });

      const find = async (where: Where) => ids(await engine.find(DELIVERIES, { where }));
      const all = (pred: (n: number) => boolean) =>
        Array.from({ length: 10 }, (_, n) => n)
          .filter(pred)
          .map((n) => `dlv_${String(n).padStart(3, '0')}`);

      it('matches equality shorthand and $eq', async () => {
        expect(await find({ status: 'in_flight' })).toEqual(all((n) => n >= 3 && n < 6));
        expect(await find({ status: { $eq: 'dead' } })).toEqual(all((n) => n === 9));
        expect(await find({ status: 'in_flight', attempts: 3 })).toEqual(all((n) => n === 3));
        expect(await find({ response_code: 500 })).toEqual(all((n) => n >= 4 && n < 7));
      });

      it('treats null as IS NULL and { $ne: null } as IS NOT NULL', async () => {
        expect(await find({ next_retry_at: null })).toEqual(all((n) => n % 2 === 1));
        expect(await find({ next_retry_at: { $eq: null } })).toEqual(all((n) => n % 2 === 1));
        expect(await find({ next_retry_at: { $ne: null } })).toEqual(all((n) => n % 2 === 0));
      });

      it('lets $ne match null fields, while $eq and ranges never do', async () => {
        expect(await find({ response_code: { $ne: 500 } })).toEqual(all((n) => n < 4 || n >= 7));
        expect(await find({ response_code: { $lt: 1000 } })).toEqual(all((n) => n >= 4));
      });

      it('compares with $lt $lte $gt $gte, several operators ANDed on one field', async () => {
        expect(await find({ attempts: { $lt: 1 } })).toEqual(all((n) => n % 4 < 1));
        expect(await find({ attempts: { $lte: 1 } })).toEqual(all((n) => n % 4 <= 1));
        expect(await find({ attempts: { $gt: 2 } })).toEqual(all((n) => n % 4 > 2));
        expect(await find({ attempts: { $gte: 2 } })).toEqual(all((n) => n % 4 >= 2));
        expect(await find({ created_at: { $gte: T0 + 3000, $lt: T0 + 6000 } })).toEqual(all((n) => n >= 3 && n < 6));
        expect(await find({ next_retry_at: { $lte: new Date(T0 + 4 * 60_000) } })).toEqual(all((n) => n % 2 === 0 && n <= 4));
        expect(await find({ id: { $gt: 'dlv_007' } })).toEqual(all((n) => n > 7));
      });

      it('matches $in and $nin, with null members and empty lists', async () => {
        expect(await find({ status: { $in: ['dead', 'pending'] } })).toEqual(all((n) => n < 3 || n === 9));
        expect(await find({ status: { $in: [] } })).toEqual([]);
        expect(await find({ response_code: { $in: [200, null] } })).toEqual(all((n) => n < 4 || n >= 7));
        expect(await find({ status: { $nin: ['dead', 'pending'] } })).toEqual(all((n) => n >= 3 && n < 9));
        expect(await find({ response_code: { $nin: [500] } })).toEqual(all((n) => n < 4 || n >= 7));
        expect(await find({ response_code: { $nin: [500, null] } })).toEqual(all((n) => n >= 7));
        expect(await find({ status: { $nin: [] } })).toEqual(all(() => true));
      });

      it('nests $or and $and', async () => {
        expect(await find({ $or: [{ status: 'dead' }, { attempts: 0 }] })).toEqual(all((n) => n === 9 || n % 4 === 0));
        expect(
          await find({
            $and: [{ $or: [{ status: 'pending' }, { status: 'success' }] }, { $or: [{ next_retry_at: null }, { attempts: { $gte: 2 } }] }],
          }),
        ).toEqual(all((n) => (n < 3 || (n >= 6 && n < 9)) && (n % 2 === 1 || n % 4 >= 2)));
        // The claim query shape from ObjectStack's outbox.
        expect(
          await find({ status: 'pending', $or: [{ next_retry_at: null }, { next_retry_at: { $lte: T0 + 60_000 } }] }),
        ).toEqual(all((n) => n < 2));
        expect(await find({ $and: [{ status: 'in_flight' }], $or: [{ attempts: 3 }, { attempts: 0 }] })).toEqual(
          all((n) => n === 3 || n === 4),
        );
      });

      it('makes $not the exact complement, nulls included', async () => {
        const filters: Where[] = [
          { response_code: 500 },
          { response_code: { $ne: 500 } },
          { response_code: { $lt: 300 } },
          { response_code: { $in: [200, 404] } },
          { response_code: { $nin: [200] } },
          { next_retry_at: null },
          { $or: [{ response_code: { $gte: 500 } }, { next_retry_at: { $gt: T0 } }] },
          { status: 'success', response_code: { $ne: null } },
        ];
        for (const where of filters) {
          const yes = await find(where);
          const no = await find({ $not: where });
          expect([...yes, ...no].sort(), JSON.stringify(where)).toEqual(all(() => true));
          expect(await engine.count(DELIVERIES, { where }), JSON.stringify(where)).toBe(yes.length);
        }
      });

      it('projects fields', async () => {
        const rows = await engine.find(DELIVERIES, { where: { id: 'dlv_004' }, fields: ['status', 'id'] });
        expect(rows).toEqual([{ status: 'in_flight', id: 'dlv_004' }]);
        expect(Object.keys((await engine.findOne(DELIVERIES, { fields: ['attempts'] }))!)).toEqual(['attempts']);
      });

      it('pages with limit and offset', async () => {
        expect(ids(await engine.find(DELIVERIES, { limit: 3 }))).toEqual(all((n) => n < 3));
        expect(ids(await engine.find(DELIVERIES, { limit: 3, offset: 3 }))).toEqual(all((n) => n >= 3 && n < 6));
        expect(ids(await engine.find(DELIVERIES, { offset: 8 }))).toEqual(all((n) => n >= 8));
        expect(ids(await engine.find(DELIVERIES, { offset: 20 }))).toEqual([]);
        expect(ids(await engine.find(DELIVERIES, { limit: 0 }))).toEqual([]);
        expect(ids(await engine.find(DELIVERIES, { top: 2 }))).toEqual(all((n) => n < 2));
        expect(ids(await engine.find(DELIVERIES, { where: { status: 'success' }, limit: 1, offset: 1 }))).toEqual(['dlv_007']);
      });

      it('orders ascending, descending, by several keys, nulls smallest, ties by primary key', async () => {
        const order = async (orderBy: { field: string; order?: 'asc' | 'desc' }[]) =>
          ids(await engine.find(DELIVERIES, { orderBy, fields: ['id'] }));
        expect(await order([{ field: 'created_at', order: 'desc' }])).toEqual(all(() => true).reverse());
        expect(await order([{ field: 'attempts' }, { field: 'created_at', order: 'desc' }])).toEqual([
          'dlv_008', 'dlv_004', 'dlv_000', 'dlv_009', 'dlv_005', 'dlv_001', 'dlv_006', 'dlv_002', 'dlv_007', 'dlv_003',
        ]);
        // Nulls first ascending, last descending; equal keys fall back to the primary key.
        expect(await order([{ field: 'response_code', order: 'asc' }])).toEqual([
          'dlv_000', 'dlv_001', 'dlv_002', 'dlv_003', 'dlv_007', 'dlv_008', 'dlv_009', 'dlv_004', 'dlv_005', 'dlv_006',
        ]);
        expect(await order([{ field: 'response_code', order: 'desc' }])).toEqual([
          'dlv_004', 'dlv_005', 'dlv_006', 'dlv_007', 'dlv_008', 'dlv_009', 'dlv_000', 'dlv_001', 'dlv_002', 'dlv_003',
        ]);
        expect(await order([{ field: 'id', order: 'desc' }])).toEqual(all(() => true).reverse());
        const page = await engine.find(DELIVERIES, {
          where: { status: { $ne: 'dead' } },
          orderBy: [{ field: 'attempts', order: 'desc' }],
          limit: 2,
          offset: 1,
          fields: ['id'],
        });
        expect(ids(page)).toEqual(['dlv_007', 'dlv_002']);
      });

      it('orders text bytewise in every engine', async () => {
        await engine.delete(DELIVERIES, { where: {}, multi: true });
        const names = ['b', 'B', 'a', 'A', 'é', 'z', '_', 'Z0', 'a b', 'ab'];
        await engine.insert(
          DELIVERIES,
          names.map((event_type, i) => delivery(i, { event_type })),
        );
        const rows = await engine.find(DELIVERIES, { orderBy: [{ field: 'event_type' }], fields: ['event_type'] });
        expect(rows.map((r) => r['event_type'])).toEqual(['A', 'B', 'Z0', '_', 'a', 'a b', 'ab', 'b', 'z', 'é']);
        expect(await engine.count(DELIVERIES, { where: { event_type: { $gt: 'Z' } } })).toBe(8);
      });
    });

    describe('update, delete, count', () => {
      beforeEach(async () => {
        await engine.insert(DELIVERIES, [delivery(1), delivery(2), delivery(3, { status: 'dead' })]);
      });

      it('updates one row by default (the lowest primary key) and every row with multi', async () => {
        expect(await engine.update(DELIVERIES, { attempts: 5 }, { where: { status: 'pending' } })).toBe(1);
        expect(ids(await engine.find(DELIVERIES, { where: { attempts: 5 } }))).toEqual(['dlv_001']);
        expect(await engine.update(DELIVERIES, { attempts: 7, error: 'boom' }, { where: { status: 'pending' }, multi: true })).toBe(2);
        expect(await engine.find(DELIVERIES, { where: { attempts: 7 }, fields: ['id', 'error'] })).toEqual([
          { id: 'dlv_001', error: 'boom' },
          { id: 'dlv_002', error: 'boom' },
        ]);
        expect(await engine.update(DELIVERIES, { attempts: 1 }, { where: { status: 'success' }, multi: true })).toBe(0);
        expect(await engine.update(DELIVERIES, { error: null }, { where: {}, multi: true })).toBe(3);
        expect(await engine.count(DELIVERIES, { where: { error: null } })).toBe(3);
      });

      it('applies a guarded update (compare-and-set) exactly once', async () => {
        const guard = { where: { id: 'dlv_002', status: 'pending' } };
        expect(await engine.update(DELIVERIES, { status: 'in_flight', updated_at: T0 + 1 }, guard)).toBe(1);
        expect(await engine.update(DELIVERIES, { status: 'in_flight', updated_at: T0 + 2 }, guard)).toBe(0);
        expect(await engine.findOne(DELIVERIES, { where: { id: 'dlv_002' }, fields: ['status', 'updated_at'] })).toEqual({
          status: 'in_flight',
          updated_at: harness.stampsUpdatedAt ? expect.any(Number) : T0 + 1,
        });
        if (harness.stampsUpdatedAt) {
          const stamped = (await engine.findOne<DeliveryRow>(DELIVERIES, { where: { id: 'dlv_002' } }))!.updated_at;
          expect(Math.abs(stamped - Date.now())).toBeLessThan(60_000);
        }
        const redeliver = { where: { id: 'dlv_003', status: { $in: ['success', 'dead'] } }, multi: false };
        expect(await engine.update(DELIVERIES, { status: 'pending', attempts: 0 }, redeliver)).toBe(1);
        expect(await engine.update(DELIVERIES, { status: 'pending', attempts: 0 }, redeliver)).toBe(0);
      });

      it('updates the row named by the primary key in data when there is no where (ObjectStack style)', async () => {
        expect(await engine.update(DELIVERIES, { id: 'dlv_003', status: 'cancelled' })).toBe(1);
        expect((await engine.findOne(DELIVERIES, { where: { id: 'dlv_003' } }))!['status']).toBe('cancelled');
        await expectValidationError(engine.update(DELIVERIES, { status: 'cancelled' }), 'where');
        await expectValidationError(
          engine.update(DELIVERIES, { id: 'dlv_009' }, { where: { id: 'dlv_001' } }),
          'id',
          'primary key',
        );
      });

      it('refuses an update that breaks a unique key, changing nothing', async () => {
        await expectUniqueViolation(
          engine.update(DELIVERIES, { event_id: 'evt_1', webhook_id: 'wh_1' }, { where: { id: 'dlv_002' } }),
          DELIVERIES,
          ['event_id', 'webhook_id'],
        );
        await expectUniqueViolation(
          engine.update(DELIVERIES, { event_id: 'evt_same', webhook_id: 'wh_same' }, { where: {}, multi: true }),
          DELIVERIES,
          ['event_id', 'webhook_id'],
        );
        expect((await engine.findOne(DELIVERIES, { where: { id: 'dlv_002' } }))!['event_id']).toBe('evt_2');
        expect(await engine.count(DELIVERIES, { where: { event_id: 'evt_same' } })).toBe(0);
        // Swapping a key onto itself is not a conflict.
        expect(await engine.update(DELIVERIES, { event_id: 'evt_2' }, { where: { id: 'dlv_002' } })).toBe(1);
      });

      it('deletes one row by default and every match with multi, returning counts', async () => {
        expect(await engine.delete(DELIVERIES, { where: { status: 'pending' } })).toBe(1);
        expect(ids(await engine.find(DELIVERIES))).toEqual(['dlv_002', 'dlv_003']);
        expect(await engine.delete(DELIVERIES, { where: { status: 'nope' as never } }).catch((e) => e)).toBeInstanceOf(
          StoreValidationError,
        );
        expect(await engine.delete(DELIVERIES, { where: { status: 'success' }, multi: true })).toBe(0);
        expect(await engine.delete(DELIVERIES, { where: { id: { $in: ['dlv_002', 'dlv_003'] } }, multi: true })).toBe(2);
        expect(await engine.count(DELIVERIES)).toBe(0);
        await expectValidationError(engine.delete(DELIVERIES), 'where');
        // A deleted dedup key can be inserted again.
        await engine.insert(DELIVERIES, delivery(1));
      });

      it('counts with and without a filter', async () => {
        expect(await engine.count(DELIVERIES)).toBe(3);
        expect(await engine.count(DELIVERIES, {})).toBe(3);
        expect(await engine.count(DELIVERIES, { where: { status: 'pending' } })).toBe(2);
        expect(await engine.count(DELIVERIES, { where: { status: 'success' } })).toBe(0);
        expect(await engine.count(WEBHOOKS)).toBe(0);
      });
    });

    describe('aggregate', () => {
      beforeEach(async () => {
        await engine.insert(
          DELIVERIES,
          Array.from({ length: 7 }, (_, n) =>
            delivery(n, {
              status: n < 3 ? 'pending' : n < 6 ? 'success' : 'dead',
              duration_ms: n === 0 ? null : n * 10,
              attempts: n % 3,
            }),
          ),
        );
      });

      it('groups and counts, ordered by the group fields', async () => {
        expect(
          await engine.aggregate(DELIVERIES, { groupBy: ['status'], aggregations: [{ function: 'count', alias: 'n' }] }),
        ).toEqual([
          { status: 'dead', n: 1 },
          { status: 'pending', n: 3 },
          { status: 'success', n: 3 },
        ]);
        expect(
          await engine.aggregate(DELIVERIES, {
            where: { status: { $ne: 'dead' } },
            groupBy: ['webhook_id', 'status'],
            aggregations: [{ function: 'count', alias: 'n' }],
          }),
        ).toEqual([
          { webhook_id: 'wh_0', status: 'pending', n: 1 },
          { webhook_id: 'wh_0', status: 'success', n: 1 },
          { webhook_id: 'wh_1', status: 'pending', n: 1 },
          { webhook_id: 'wh_1', status: 'success', n: 1 },
          { webhook_id: 'wh_2', status: 'pending', n: 1 },
          { webhook_id: 'wh_2', status: 'success', n: 1 },
        ]);
        expect(await engine.aggregate(DELIVERIES, { groupBy: ['attempts'] })).toEqual([
          { attempts: 0 },
          { attempts: 1 },
          { attempts: 2 },
        ]);
      });

      it('computes count(field), count_distinct, sum, avg, min and max', async () => {
        const rows = await engine.aggregate(DELIVERIES, {
          groupBy: ['status'],
          where: { status: { $in: ['pending', 'success'] } },
          aggregations: [
            { function: 'count', alias: 'rows' },
            { function: 'count', field: 'duration_ms', alias: 'timed' },
            { function: 'count_distinct', field: 'webhook_id', alias: 'hooks' },
            { function: 'count', field: 'attempts', distinct: true, alias: 'attempt_kinds' },
            { function: 'sum', field: 'duration_ms', alias: 'total_ms' },
            { function: 'avg', field: 'duration_ms', alias: 'avg_ms' },
            { function: 'min', field: 'created_at', alias: 'first' },
            { function: 'max', field: 'event_id', alias: 'last_event' },
          ],
        });
        expect(rows).toEqual([
          { status: 'pending', rows: 3, timed: 2, hooks: 3, attempt_kinds: 3, total_ms: 30, avg_ms: 15, first: T0, last_event: 'evt_2' },
          { status: 'success', rows: 3, timed: 3, hooks: 3, attempt_kinds: 3, total_ms: 120, avg_ms: 40, first: T0 + 3000, last_event: 'evt_5' },
        ]);
      });

      it('returns one row without groupBy, even over no rows', async () => {
        expect(
          await engine.aggregate(DELIVERIES, {
            aggregations: [
              { function: 'count', alias: 'n' },
              { function: 'max', field: 'attempts', alias: 'most' },
            ],
          }),
        ).toEqual([{ n: 7, most: 2 }]);
        expect(
          await engine.aggregate(DELIVERIES, {
            where: { status: 'cancelled' },
            aggregations: [
              { function: 'count', alias: 'n' },
              { function: 'sum', field: 'attempts', alias: 'total' },
            ],
          }),
        ).toEqual([{ n: 0, total: null }]);
        expect(
          await engine.aggregate(DELIVERIES, { where: { status: 'cancelled' }, groupBy: ['status'], aggregations: [{ function: 'count', alias: 'n' }] }),
        ).toEqual([]);
      });

      it('rejects unsupported aggregations by name', async () => {
        await expectValidationError(
          engine.aggregate(DELIVERIES, { aggregations: [{ function: 'array_agg', field: 'id', alias: 'ids' }] }),
          'array_agg',
        );
        await expectValidationError(engine.aggregate(DELIVERIES, { aggregations: [{ function: 'sum', field: 'status', alias: 's' }] }), 'status');
        await expectValidationError(engine.aggregate(DELIVERIES, { groupBy: ['nope'] }), 'nope');
        await expectValidationError(engine.aggregate(DELIVERIES, { aggregations: [{ function: 'count', alias: 'bad alias' }] }), 'alias');
      });
    });

    describe('unique keys', () => {
      it('throws UniqueViolationError on the dedup key (event_id, webhook_id)', async () => {
        await engine.insert(DELIVERIES, delivery(1));
        await expectUniqueViolation(engine.insert(DELIVERIES, delivery(1, { id: 'dlv_again' })), DELIVERIES, [
          'event_id',
          'webhook_id',
        ]);
        // The same event to another webhook is a different delivery.
        await engine.insert(DELIVERIES, delivery(1, { id: 'dlv_other', webhook_id: 'wh_other' }));
        expect(await engine.count(DELIVERIES)).toBe(2);
      });

      it('throws UniqueViolationError on the publish dedup key (tenant_id, event_id)', async () => {
        await engine.insert(EVENTS, event(1));
        await expectUniqueViolation(engine.insert(EVENTS, event(1, { id: 'ev_again' })), EVENTS, ['tenant_id', 'event_id']);
        // The same event id in another tenant is a different event.
        await engine.insert(EVENTS, event(1, { id: 'ev_other', tenant_id: 'acme' }));
        await expectUniqueViolation(engine.insert(EVENTS, event(2, { id: 'ev_001' })), EVENTS, ['id']);
        expect(await engine.count(EVENTS)).toBe(2);
        expect(await engine.count(EVENTS, { where: { event_id: 'evt_1' } })).toBe(2);
      });

      it('throws UniqueViolationError on a primary key, so a retried attempt write is detectable', async () => {
        const attempt = {
          id: 'dlv_001:run_1:1',
          delivery_id: 'dlv_001',
          run_id: 'run_1',
          attempt: 1,
          started_at: T0,
          outcome: 'retry',
          next_retry_at: T0 + 5000,
        };
        const stored = await engine.insert<DeliveryAttemptRow>(ATTEMPTS, attempt);
        expect(stored).toEqual({ ...attempt, duration_ms: null, response_code: null, response_body: null, error: null });
        // A retried write of the same attempt breaks both keys; engines may report either.
        const retried = await engine.insert(ATTEMPTS, attempt).catch((e: unknown) => e);
        expect(retried).toBeInstanceOf(UniqueViolationError);
        expect([['id'], ['delivery_id', 'run_id', 'attempt']]).toContainEqual((retried as UniqueViolationError).fields);
        await expectUniqueViolation(engine.insert(ATTEMPTS, { ...attempt, attempt: 2 }), ATTEMPTS, ['id']);
        await expectUniqueViolation(engine.insert(ATTEMPTS, { ...attempt, id: 'other' }), ATTEMPTS, [
          'delivery_id',
          'run_id',
          'attempt',
        ]);
        await engine.insert(ATTEMPTS, { ...attempt, id: 'dlv_001:run_2:1', run_id: 'run_2' });
        expect(await engine.count(ATTEMPTS, { where: { delivery_id: 'dlv_001' } })).toBe(2);
      });

      it('lets rows with a null in a unique key coexist, as SQL does', async () => {
        const objects: ObjectDefinition[] = [
          {
            name: 'herald_contract_nullable_keys',
            primaryKey: 'id',
            columns: [
              { name: 'id', type: 'text' },
              { name: 'a', type: 'text' },
              { name: 'b', type: 'text', nullable: true },
            ],
            uniqueKeys: [['a', 'b']],
          },
        ];
        const e = await harness.open({ objects });
        await e.migrate();
        await e.delete('herald_contract_nullable_keys', { where: {}, multi: true });
        await e.insert('herald_contract_nullable_keys', [
          { id: '1', a: 'x', b: null },
          { id: '2', a: 'x', b: null },
          { id: '3', a: 'x', b: 'y' },
        ]);
        await expectUniqueViolation(e.insert('herald_contract_nullable_keys', { id: '4', a: 'x', b: 'y' }), 'herald_contract_nullable_keys', ['a', 'b']);
      });
    });

    describe('validation', () => {
      it('names an unknown field wherever it appears', async () => {
        await expectValidationError(engine.find(DELIVERIES, { where: { colour: 'red' } }), 'colour', 'unknown field');
        await expectValidationError(engine.find(DELIVERIES, { where: { $or: [{ status: 'dead' }, { colour: 1 }] } }), 'colour');
        await expectValidationError(engine.find(DELIVERIES, { fields: ['id', 'colour'] }), 'colour');
        await expectValidationError(engine.find(DELIVERIES, { orderBy: [{ field: 'colour', order: 'asc' }] }), 'colour');
        await expectValidationError(engine.count(DELIVERIES, { where: { colour: null } }), 'colour');
        await expectValidationError(engine.insert(DELIVERIES, { ...delivery(1), colour: 'red' }), 'colour');
        await expectValidationError(engine.update(DELIVERIES, { colour: 'red' }, { where: { id: 'x' } }), 'colour');
        await expectValidationError(engine.update(DELIVERIES, { status: 'dead' }, { where: { colour: 'x' } }), 'colour');
        await expectValidationError(engine.delete(DELIVERIES, { where: { colour: 'x' } }), 'colour');
        await expectValidationError(engine.find('herald_nope'), 'herald_nope', 'unknown object');
      });

      it('rejects unknown operators and options instead of matching everything', async () => {
        await engine.insert(DELIVERIES, delivery(1));
        await expectValidationError(engine.find(DELIVERIES, { where: { status: { $regex: 'p.*' } } }), 'status', '$regex');
        await expectValidationError(engine.find(DELIVERIES, { where: { $nor: [{ status: 'dead' }] } }), '$nor');
        await expectValidationError(engine.find(DELIVERIES, { where: { status: {} } }), 'status', 'empty');
        await expectValidationError(engine.find(DELIVERIES, { where: { status: undefined } }), 'status', 'undefined');
        await expectValidationError(engine.find(DELIVERIES, { where: { status: ['dead'] } }), 'status', '$in');
        await expectValidationError(engine.find(DELIVERIES, { where: { $or: [] } }), '$or');
        await expectValidationError(engine.find(DELIVERIES, { where: { status: { nested: 1 } } }), 'status');
        await expectValidationError(engine.find(DELIVERIES, { sort: { id: 1 } } as never), 'sort', 'orderBy');
        await expectValidationError(engine.find(DELIVERIES, { filter: { id: 'x' } } as never), 'filter', 'where');
        await expectValidationError(engine.find(DELIVERIES, { search: { query: 'x' } } as never), 'search');
        await expectValidationError(engine.find(DELIVERIES, { orderBy: [{ field: 'id', order: 'up' as never }] }), 'id');
        await expectValidationError(engine.find(DELIVERIES, { limit: -1 }), 'limit');
        await expectValidationError(engine.find(DELIVERIES, { fields: [] }), 'fields');
      });

      it('checks values against column types, required fields and allowed values', async () => {
        await expectValidationError(engine.find(DELIVERIES, { where: { status: 'inflight' } }), 'status', 'in_flight');
        await expectValidationError(engine.find(DELIVERIES, { where: { attempts: '1' } }), 'attempts', 'integer');
        await expectValidationError(engine.find(DELIVERIES, { where: { attempts: { $lt: 1.5 } } }), 'attempts', 'integer');
        await expectValidationError(engine.find(DELIVERIES, { where: { created_at: { $gt: 'yesterday' } } }), 'created_at');
        await expectValidationError(engine.find(DELIVERIES, { where: { attempts: { $gt: null } } }), 'attempts');
        await expectValidationError(engine.find(WEBHOOKS, { where: { active: { $gt: false } } }), 'active');
        await expectValidationError(engine.find(WEBHOOKS, { where: { active: 1 } }), 'active', 'boolean');
        const { url: _url, ...noUrl } = delivery(1);
        await expectValidationError(engine.insert(DELIVERIES, noUrl), 'url', 'required');
        await expectValidationError(engine.insert(DELIVERIES, { ...delivery(1), url: null }), 'url', 'null');
        await expectValidationError(engine.insert(DELIVERIES, { ...delivery(1), attempts: 1.5 }), 'attempts', 'integer');
        await expectValidationError(engine.insert(DELIVERIES, { ...delivery(1), attempts: 2 ** 31 }), 'attempts', 'integer');
        await expectValidationError(engine.insert(DELIVERIES, { ...delivery(1), created_at: '2026-01-01' }), 'created_at');
        await expectValidationError(engine.insert(DELIVERIES, { ...delivery(1), status: 'done' }), 'status', 'pending');
        // json-text refuses an object (it would be double-encoded) and text that is not JSON, in every json-text column.
        await expectValidationError(
          engine.insert(EVENTS, event(1, { payload_json: { n: 1 } as unknown as string })),
          'payload_json',
          'JSON.stringify',
        );
        await expectValidationError(engine.insert(EVENTS, event(1, { payload_json: '{n: 1}' })), 'payload_json', 'JSON');
        await expectValidationError(
          engine.insert(WEBHOOKS, webhook('wh_1', { event_types_json: ['order.created'] as unknown as string })),
          'event_types_json',
          'JSON.stringify',
        );
        await expectValidationError(engine.insert(WEBHOOKS, webhook('wh_1', { event_types_json: '[order.created]' })), 'event_types_json', 'JSON');
        await expectValidationError(engine.update(EVENTS, { payload_json: '{n: 1}' }, { where: { id: 'x' } }), 'payload_json', 'JSON');
        await expectValidationError(engine.insert(EVENTS, event(1, { status: 'done' as never })), 'status', 'fanning_out');
        // The sealed credentials are required text (a sealed value is not JSON, and must not be checked as JSON).
        const { secrets_sealed: _secrets, ...noSecrets } = webhook('wh_1');
        await expectValidationError(engine.insert(WEBHOOKS, noSecrets), 'secrets_sealed', 'required');
        await expectValidationError(engine.insert(WEBHOOKS, webhook('wh_1', { secrets_sealed: null as never })), 'secrets_sealed', 'null');
        await expectValidationError(
          engine.insert(WEBHOOKS, webhook('wh_1', { headers_sealed: { 'x-api-key': 'k' } as never })),
          'headers_sealed',
          'string',
        );
        const { event_time: _eventTime, ...noEventTime } = delivery(1);
        await expectValidationError(engine.insert(DELIVERIES, noEventTime), 'event_time', 'required');
        await expectValidationError(engine.insert(WEBHOOKS, webhook('wh_1', { active: 'yes' as never })), 'active', 'boolean');
        await expectValidationError(engine.update(DELIVERIES, { status: 'bogus' as never }, { where: { id: 'x' } }), 'status');
        await expectValidationError(engine.update(DELIVERIES, {}, { where: { id: 'x' } }), 'no fields');
        expect(await engine.count(DELIVERIES)).toBe(0);
        expect(await engine.count(EVENTS)).toBe(0);
        expect(await engine.count(WEBHOOKS)).toBe(0);
      });
    });

    describe('lifecycle', () => {
      it('migrates idempotently and concurrently without touching data', async () => {
        await engine.insert(DELIVERIES, delivery(1));
        const peers = await Promise.all(Array.from({ length: 3 }, () => harness.open()));
        await Promise.all([engine.migrate(), ...peers.map((p) => p.migrate())]);
        await engine.migrate();
        expect(await engine.count(DELIVERIES)).toBe(1);
        for (const p of peers) expect(await p.count(DELIVERIES)).toBe(1);
      });

      it('adds a column that a newer definition declares', async () => {
        const v1: ObjectDefinition = {
          name: 'herald_contract_widgets',
          primaryKey: 'id',
          columns: [
            { name: 'id', type: 'text' },
            { name: 'size', type: 'integer' },
          ],
          indexes: [['size']],
        };
        const v2: ObjectDefinition = {
          ...v1,
          columns: [
            ...v1.columns,
            { name: 'colour', type: 'text', default: 'blue' },
            { name: 'weight', type: 'real', nullable: true },
            { name: 'enabled', type: 'boolean', default: false },
          ],
          indexes: [['size'], ['colour', 'size']],
        };
        const old = await harness.open({ objects: [v1] });
        await old.migrate();
        await old.delete(v1.name, { where: {}, multi: true });
        await old.insert(v1.name, { id: 'w1', size: 3 });
        const current = await harness.open({ objects: [v2] });
        await current.migrate();
        await current.migrate();
        expect(await current.find(v1.name)).toEqual([{ id: 'w1', size: 3, colour: 'blue', weight: null, enabled: false }]);
        await current.insert(v1.name, { id: 'w2', size: 4, enabled: true });
        expect(await current.find(v1.name, { where: { enabled: true }, fields: ['id'] })).toEqual([{ id: 'w2' }]);
      });

      it('rejects every call after close', async () => {
        const e = await harness.open({ objects: [heraldWebhooks] });
        await e.migrate();
        await e.close();
        await e.close(); // idempotent
        await expect(e.find(WEBHOOKS)).rejects.toBeInstanceOf(EngineClosedError);
        await expect(e.count(WEBHOOKS)).rejects.toBeInstanceOf(EngineClosedError);
      });
    });

    describe('concurrency', () => {
      /** RACERS engines over the same storage, each migrated and warmed up (connected). */
      async function racers(): Promise<DataEngine[]> {
        const engines = await Promise.all(Array.from({ length: RACERS }, () => harness.open()));
        await Promise.all(engines.map((e) => e.migrate()));
        await Promise.all(engines.map((e) => e.count(DELIVERIES)));
        return engines;
      }

      it(`applies a guarded update raced by ${RACERS} callers exactly once`, async () => {
        const engines = await racers();
        for (let round = 0; round < 5; round++) {
          const id = `dlv_race_${round}`;
          await engine.insert(DELIVERIES, delivery(100 + round, { id }));
          const results = await Promise.all(
            engines.map((e, i) =>
              e.update(DELIVERIES, { status: 'in_flight', run_id: `racer_${i}` }, { where: { id, status: 'pending' } }),
            ),
          );
          expect(results.filter((n) => n === 1)).toHaveLength(1);
          expect(results.filter((n) => n === 0)).toHaveLength(RACERS - 1);
          const winner = results.indexOf(1);
          expect(await engine.findOne(DELIVERIES, { where: { id }, fields: ['status', 'run_id'] })).toEqual({
            status: 'in_flight',
            run_id: `racer_${winner}`,
          });
        }
      });

      it(`applies single-row (multi: false) claims raced by ${RACERS} callers once per row`, async () => {
        const engines = await racers();
        await engine.insert(DELIVERIES, Array.from({ length: 5 }, (_, n) => delivery(200 + n)));
        // Each caller claims "any pending row" until none is left. A caller that lost the race for a row gets 0
        // and tries again; what must never happen is two callers both getting 1 for the same row.
        const wins: string[] = [];
        await Promise.all(
          engines.map(async (e, i) => {
            for (let claim = 0; ; claim++) {
              const runId = `racer_${i}_${claim}`;
              const n = await e.update(DELIVERIES, { status: 'in_flight', run_id: runId }, { where: { status: 'pending' } });
              if (n === 1) wins.push(runId);
              else if ((await e.count(DELIVERIES, { where: { status: 'pending' } })) === 0) return;
            }
          }),
        );
        expect(wins).toHaveLength(5);
        const claimed = await engine.find(DELIVERIES, { where: { status: 'in_flight' }, fields: ['run_id'] });
        expect(claimed.map((r) => r['run_id']).sort()).toEqual([...wins].sort());
      });

      it(`keeps exactly one row when ${RACERS} callers insert the same dedup key`, async () => {
        const engines = await racers();
        const outcomes = await Promise.allSettled(
          engines.map((e, i) => e.insert(DELIVERIES, delivery(300, { id: `dlv_dup_${i}` }))),
        );
        const won = outcomes.filter((o) => o.status === 'fulfilled');
        const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(RACERS - 1);
        for (const o of lost) {
          expect(o.reason).toBeInstanceOf(UniqueViolationError);
          expect((o.reason as UniqueViolationError).fields).toEqual(['event_id', 'webhook_id']);
        }
        expect(await engine.count(DELIVERIES, { where: { event_id: 'evt_300' } })).toBe(1);
      });
    });
  });
}
