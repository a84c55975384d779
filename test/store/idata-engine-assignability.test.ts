/**
 * Herald's DataEngine must stay assignable to ObjectStack's IDataEngine, so an ObjectStack application can hand
 * Herald its engine and Herald's engines can stand in for one. The checks are types: `tsc` (npm run typecheck)
 * enforces them; the runtime part drives a real engine through the IDataEngine type with ObjectStack-typed
 * options. `@objectstack/spec` is imported for types only: its runtime needs Node 22.
 */
import type { IDataEngine } from '@objectstack/spec/contracts';
import type {
  DataEngineInsertOptions,
  EngineAggregateOptions,
  EngineCountOptions,
  EngineDeleteOptions,
  EngineQueryOptions,
  EngineUpdateOptions,
} from '@objectstack/spec/data';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type {
  AggregateOptions,
  CountOptions,
  DataEngine,
  DeleteOptions,
  InsertOptions,
  QueryOptions,
  UpdateOptions,
} from '../../src/store/data-engine.js';
import { MemoryEngine } from '../../src/store/memory-engine.js';
import type { PostgresEngine } from '../../src/store/postgres-engine.js';
import { heraldDeliveries } from '../../src/store/schema.js';
import type { SqliteEngine } from '../../src/store/sqlite-engine.js';

/** The plain assignment an ObjectStack integration would write; tsc rejects it if the contracts drift apart. */
function asObjectStackEngine(engine: DataEngine): IDataEngine {
  return engine;
}

describe('DataEngine and ObjectStack IDataEngine', () => {
  it('DataEngine and every Herald engine are assignable to IDataEngine', () => {
    expectTypeOf<DataEngine>().toExtend<IDataEngine>();
    expectTypeOf<MemoryEngine>().toExtend<IDataEngine>();
    expectTypeOf<SqliteEngine>().toExtend<IDataEngine>();
    expectTypeOf<PostgresEngine>().toExtend<IDataEngine>();
  });

  it("accepts every option object ObjectStack's types allow (parameters are not just bivariantly compatible)", () => {
    expectTypeOf<EngineQueryOptions>().toExtend<QueryOptions>();
    expectTypeOf<DataEngineInsertOptions>().toExtend<InsertOptions>();
    expectTypeOf<EngineUpdateOptions>().toExtend<UpdateOptions>();
    expectTypeOf<EngineDeleteOptions>().toExtend<DeleteOptions>();
    expectTypeOf<EngineCountOptions>().toExtend<CountOptions>();
    expectTypeOf<EngineAggregateOptions>().toExtend<AggregateOptions>();
    expectTypeOf<Parameters<IDataEngine['find']>>().toExtend<Parameters<DataEngine['find']>>();
    expectTypeOf<Parameters<IDataEngine['update']>>().toExtend<Parameters<DataEngine['update']>>();
    expectTypeOf<Parameters<IDataEngine['delete']>>().toExtend<Parameters<DataEngine['delete']>>();
    expectTypeOf<Parameters<IDataEngine['count']>>().toExtend<Parameters<DataEngine['count']>>();
    expectTypeOf<Parameters<IDataEngine['aggregate']>>().toExtend<Parameters<DataEngine['aggregate']>>();
  });

  it('returns what Herald callers rely on: a row count from update and delete', () => {
    expectTypeOf<ReturnType<DataEngine['update']>>().toEqualTypeOf<Promise<number>>();
    expectTypeOf<ReturnType<DataEngine['delete']>>().toEqualTypeOf<Promise<number>>();
    expectTypeOf<ReturnType<DataEngine['count']>>().toEqualTypeOf<Promise<number>>();
  });

  it('serves ObjectStack-typed calls through the IDataEngine type', async () => {
    const herald = new MemoryEngine();
    await herald.migrate();
    const engine: IDataEngine = asObjectStackEngine(herald);
    const row = {
      id: 'dlv_1',
      webhook_id: 'wh_1',
      event_id: 'evt_1',
      event_type: 'order.created',
      event_time: 1,
      url: 'https://example.test/hook',
      workflow_id: 'delivery:wh_1:evt_1',
      created_at: 1,
      updated_at: 1,
    };
    await engine.insert(heraldDeliveries.name, row, { returning: true } satisfies DataEngineInsertOptions);
    const query: EngineQueryOptions = {
      where: { status: 'pending', $or: [{ next_retry_at: null }, { next_retry_at: { $lte: 10 } }] },
      fields: ['id', 'status'],
      orderBy: [{ field: 'created_at', order: 'desc' }],
      limit: 10,
    };
    expect(await engine.find(heraldDeliveries.name, query)).toEqual([{ id: 'dlv_1', status: 'pending' }]);
    const guarded: EngineUpdateOptions = { where: { id: 'dlv_1', status: 'pending' }, multi: false };
    expect(await engine.update(heraldDeliveries.name, { status: 'in_flight' }, guarded)).toBe(1);
    expect(await engine.update(heraldDeliveries.name, { status: 'in_flight' }, guarded)).toBe(0);
    const counted: EngineCountOptions = { where: { status: 'in_flight' } };
    expect(await engine.count(heraldDeliveries.name, counted)).toBe(1);
    const grouped: EngineAggregateOptions = { groupBy: ['status'], aggregations: [{ function: 'count', alias: 'n' }] };
    expect(await engine.aggregate(heraldDeliveries.name, grouped)).toEqual([{ status: 'in_flight', n: 1 }]);
    const removed: EngineDeleteOptions = { where: { id: 'dlv_1' }, multi: false };
    expect(await engine.delete(heraldDeliveries.name, removed)).toBe(1);
    await herald.close();
  });
});
