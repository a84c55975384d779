/**
 * Herald's DataEngine over an ObjectStack application's own ObjectQL engine (`@objectstack/objectql`, any
 * driver: SQL on SQLite or Postgres, memory). Herald's objects are registered on the app's engine, so the
 * delivery table (`sys_webhook_delivery`) is the app's: its REST API and UI list it.
 *
 * This is the ONE place that knows how ObjectQL differs from Herald's engine contract (src/store/data-engine.ts);
 * callers see the same semantics as on Herald's memory, SQLite and Postgres engines, which the shared contract
 * suite checks. Every call is validated by Herald's own planner first (same errors, nothing reaches the app's
 * engine on bad input), then translated:
 * - Names: Herald object names map to ObjectStack names (`objectql-schema.ts`).
 * - Values: `created_at`/`updated_at` are platform `datetime` columns (ISO timestamps) that only a system write
 *   may set, so every call runs with `context: { isSystem: true }` and those two are converted from and to epoch
 *   ms; numbers are read back with `Number` (Postgres `numeric` arrives as text); rows are projected to Herald's
 *   columns (the platform adds `organization_id`, `created_by`, … of its own).
 * - Nulls: Herald's Mongo-style null semantics are spelt out explicitly (`$ne`/`$nin` OR IS NULL), empty `$in`
 *   and `$nin` are folded to false/true before the driver sees them.
 * - Ordering: drivers disagree on where nulls sort (Postgres puts them last ascending), so a query ordered by a
 *   nullable column is sorted here; every other query is ordered, limited and offset by the driver.
 * - `multi: false`: ObjectQL's single-row update/delete paths work by id only and refuse extra predicates, so a
 *   single-row write picks the lowest matching id, then writes with the full predicate plus that id through the
 *   predicate path: one statement, so a guarded update stays a compare-and-set.
 * - Errors: ObjectQL's `DUPLICATE_RECORD` becomes Herald's `UniqueViolationError`, naming the conflicting key;
 *   `RECORD_NOT_FOUND` on a predicate write is 0 rows.
 * - `aggregate` runs in process over the matching rows (ObjectQL's aggregate results differ per driver in types
 *   and ordering); it reads every matching row, so keep it to small tables or narrow filters.
 * - Primary keys: driver-memory stores a second row under a taken id, so inserts check ids first.
 * Known difference, not adaptable here: driver-memory stamps `updated_at` with its own clock on every update,
 * ignoring the value written (ObjectQL's `preserveAudit` does not reach it); SQL drivers keep Herald's value.
 * `close()` only detaches Herald: the application owns its engine and destroys it.
 */
import {
  EngineClosedError,
  StoreValidationError,
  UniqueViolationError,
  type AggregateOptions,
  type CountOptions,
  type DataEngine,
  type DataRecord,
  type DeleteOptions,
  type InsertOptions,
  type QueryOptions,
  type UpdateOptions,
} from '../store/data-engine.js';
import { compareValues, MemoryEngine } from '../store/memory-engine.js';
import { ObjectRegistry, type CompiledObject } from '../store/compiled-object.js';
import type { Condition, WritePlan } from '../store/plan-types.js';
import { planAggregate, planCount, planDelete, planFind, planInsertRows, planUpdate } from '../store/query-plan.js';
import { HERALD_OBJECTS, type ColumnDefinition, type ObjectDefinition } from '../store/schema.js';
import { DEFAULT_OBJECT_NAMES, HERALD_PACKAGE_ID, toObjectStackSchema } from './objectql-schema.js';

/**
 * The parts of ObjectQL (`@objectstack/objectql` 17.4 `ObjectQL`) Herald uses; a real `ObjectQL` instance is
 * one. Typed structurally so Herald does not need ObjectQL's types at run time.
 */
export interface ObjectQLLike {
  registry: { registerObject(schema: never, packageId?: string): unknown };
  syncSchemas(): Promise<void>;
  find(object: string, query?: object): Promise<unknown[]>;
  insert(object: string, data: unknown, options?: object): Promise<unknown>;
  update(object: string, data: unknown, options?: object): Promise<unknown>;
  delete(object: string, options?: object): Promise<unknown>;
  count(object: string, query?: object): Promise<number>;
  /** ObjectQL's unit of work: calls inside the callback bind to one driver transaction (ADR-0034). */
  transaction?<T>(callback: () => Promise<T>): Promise<T>;
}

export interface ObjectQLEngineOptions {
  /** The objects to serve; default HERALD_OBJECTS. */
  objects?: readonly ObjectDefinition[];
  /** Herald object name → ObjectStack object name; default `DEFAULT_OBJECT_NAMES` (deliveries → sys_webhook_delivery). */
  objectNames?: Readonly<Record<string, string>>;
}

/** Herald's calls are system calls: they may set platform columns and no user's sharing rules apply. */
const SYSTEM = { isSystem: true } as const;
/**
 * Updates also keep the `updated_at` Herald writes (ObjectStack's audit hook would stamp its own clock, and
 * Herald's fences and retention read Herald's clock); without one the hook stamps now, as Herald would.
 */
const SYSTEM_UPDATE = { isSystem: true, preserveAudit: true } as const;

/** The range of epoch ms whose ISO text has a four-digit year (so text order is time order). */
const MIN_ISO_MS = Date.parse('0000-01-01T00:00:00.000Z');
const MAX_ISO_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** Rows per driver insert (SQLite's SQLITE_MAX_COMPOUND_SELECT is 500). */
const MAX_INSERT_BATCH = 500;

/** A filter ObjectQL accepts, or a constant after folding empty `$in`/`$nin`. */
type Filter = Record<string, unknown>;
type Folded = Filter | boolean;

/** One ObjectQL migration at a time per engine: concurrent `syncSchemas` calls race on CREATE TABLE. */
const migrations = new WeakMap<object, Promise<unknown>>();

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'DUPLICATE_RECORD' || code === 'RECORD_NOT_FOUND') return code;
  }
  return undefined;
}

export class ObjectQLEngine implements DataEngine {
  private readonly registry: ObjectRegistry;
  private readonly names: Readonly<Record<string, string>>;
  private closed = false;

  constructor(
    private readonly ql: ObjectQLLike,
    options: ObjectQLEngineOptions = {},
  ) {
    this.registry = new ObjectRegistry(options.objects ?? HERALD_OBJECTS);
    this.names = options.objectNames ?? DEFAULT_OBJECT_NAMES;
  }

  /** The ObjectStack object name Herald's `object` is stored under. */
  objectName(object: string): string {
    return this.names[object] ?? object;
  }

  /** Registers Herald's objects on the app's engine and creates or extends their tables; repeatable. */
  async migrate(): Promise<void> {
    this.open();
    const previous = migrations.get(this.ql) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.migrateNow());
    migrations.set(this.ql, run);
    await run;
  }

  private async migrateNow(): Promise<void> {
    const objects = this.registry.all();
    for (const object of objects) {
      this.ql.registry.registerObject(toObjectStackSchema(object.definition, this.objectName(object.name)) as never, HERALD_PACKAGE_ID);
    }
    await this.ql.syncSchemas();
    // A column added to an existing table may come up null in old rows (drivers differ on ADD COLUMN
    // defaults); Herald's contract is that old rows read the declared default.
    for (const object of objects) {
      for (const column of object.columns) {
        if (column.default === undefined || column.nullable) continue;
        await this.writeMany(object, { [column.name]: this.toStore(object, column, column.default) }, { [column.name]: null });
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async find<T extends DataRecord = DataRecord>(object: string, query?: QueryOptions): Promise<T[]> {
    const compiled = this.compiled(object);
    const plan = planFind(compiled, query);
    const where = this.fold(compiled, plan.where);
    if (where === false || plan.limit === 0) return [];
    const filter = where === true ? undefined : where;
    const nullableOrder = plan.orderBy.some((k) => k.column.nullable);
    const wanted = plan.columns.map((c) => c.name);
    if (!nullableOrder) {
      const rows = await this.ql.find(this.objectName(compiled.name), {
        ...(filter ? { where: filter } : {}),
        fields: wanted,
        orderBy: plan.orderBy.map((k) => ({ field: k.column.name, order: k.desc ? 'desc' : 'asc' })),
        ...(plan.limit !== undefined ? { limit: plan.limit } : {}),
        ...(plan.offset !== undefined ? { offset: plan.offset } : {}),
        context: SYSTEM,
      });
      return rows.map((r) => this.fromStore(r as DataRecord, plan.columns) as T);
    }
    // Sorted here: see the module comment (where drivers put nulls).
    const sortColumns = [...new Set([...wanted, ...plan.orderBy.map((k) => k.column.name)])];
    const raw = await this.ql.find(this.objectName(compiled.name), {
      ...(filter ? { where: filter } : {}),
      fields: sortColumns,
      context: SYSTEM,
    });
    const rows = raw.map((r) => this.fromStore(r as DataRecord, sortColumns.map((c) => compiled.column(c, 'fields'))));
    rows.sort((a, b) => {
      for (const { column, desc } of plan.orderBy) {
        const d = compareValues(a[column.name], b[column.name]);
        if (d !== 0) return desc ? -d : d;
      }
      return 0;
    });
    const start = plan.offset ?? 0;
    return rows.slice(start, plan.limit === undefined ? undefined : start + plan.limit).map((r) => {
      const out: DataRecord = {};
      for (const c of wanted) out[c] = r[c];
      return out as T;
    });
  }

  async findOne<T extends DataRecord = DataRecord>(object: string, query?: QueryOptions): Promise<T | null> {
    const rows = await this.find<T>(object, { ...query, limit: 1, top: undefined });
    return rows[0] ?? null;
  }

  insert<T extends DataRecord = DataRecord>(object: string, data: DataRecord, options?: InsertOptions): Promise<T>;
  insert<T extends DataRecord = DataRecord>(object: string, data: readonly DataRecord[], options?: InsertOptions): Promise<T[]>;
  async insert(object: string, data: DataRecord | readonly DataRecord[]): Promise<DataRecord | DataRecord[]> {
    const compiled = this.compiled(object);
    const { rows, many } = planInsertRows(compiled, data);
    if (rows.length === 0) return [];
    const stored = rows.map((row) => {
      const out: DataRecord = {};
      for (const column of compiled.columns) out[column.name] = this.toStore(compiled, column, row[column.name]);
      return out;
    });
    await this.refuseTakenIds(compiled, rows);
    try {
      const name = this.objectName(compiled.name);
      if (stored.length <= MAX_INSERT_BATCH) {
        // One driver batch: ObjectQL writes all rows or, on a unique conflict, none.
        await this.ql.insert(name, many ? stored : stored[0], { context: SYSTEM });
      } else {
        // driver-sql on SQLite builds one compound SELECT per batch, which SQLite caps at 500 terms: larger
        // batches go in chunks, inside one ObjectQL transaction so they stay all-or-nothing.
        const chunks = async () => {
          for (let i = 0; i < stored.length; i += MAX_INSERT_BATCH) await this.ql.insert(name, stored.slice(i, i + MAX_INSERT_BATCH), { context: SYSTEM });
        };
        await (this.ql.transaction ? this.ql.transaction(chunks) : chunks());
      }
    } catch (err) {
      if (errorCode(err) !== 'DUPLICATE_RECORD') throw err;
      throw new UniqueViolationError(compiled.name, await this.conflictingKey(compiled, rows), { cause: err });
    }
    const out = rows.map((r) => structuredClone(r));
    return many ? out : out[0]!;
  }

  async update(object: string, data: DataRecord, options?: UpdateOptions): Promise<number> {
    const compiled = this.compiled(object);
    const plan = planUpdate(compiled, data, options);
    const changes: DataRecord = {};
    for (const [name, value] of Object.entries(plan.changes)) changes[name] = this.toStore(compiled, compiled.column(name, 'update data'), value);
    const target = await this.target(compiled, plan);
    if (target === false) return 0;
    try {
      return await this.writeMany(compiled, changes, target);
    } catch (err) {
      if (errorCode(err) !== 'DUPLICATE_RECORD') throw err;
      const touched = compiled.uniqueKeys.slice(1).find((key) => key.some((c) => c in plan.changes));
      throw new UniqueViolationError(compiled.name, touched ?? [], { cause: err });
    }
  }

  async delete(object: string, options?: DeleteOptions): Promise<number> {
    const compiled = this.compiled(object);
    const plan = planDelete(compiled, options);
    const target = await this.target(compiled, plan);
    if (target === false) return 0;
    // ObjectQL's delete reports success, not a count: count what the predicate holds, delete it, and count
    // what is left. Deletes of the same rows racing each other may both count a row; Herald never does that.
    const pk = compiled.primaryKey.name;
    const ids = (await this.ql.find(this.objectName(compiled.name), { where: target, fields: [pk], context: SYSTEM })).map((r) => (r as DataRecord)[pk]);
    if (ids.length === 0) return 0;
    const byIds = { [pk]: { $in: ids } };
    try {
      await this.ql.delete(this.objectName(compiled.name), { where: { $and: [target, byIds] }, multi: true, context: SYSTEM });
    } catch (err) {
      if (errorCode(err) !== 'RECORD_NOT_FOUND') throw err;
    }
    return ids.length - (await this.ql.count(this.objectName(compiled.name), { where: byIds, context: SYSTEM }));
  }

  async count(object: string, query?: CountOptions): Promise<number> {
    const compiled = this.compiled(object);
    const where = this.fold(compiled, planCount(compiled, query));
    if (where === false) return 0;
    return Number(await this.ql.count(this.objectName(compiled.name), { ...(where === true ? {} : { where }), context: SYSTEM }));
  }

  async aggregate(object: string, query: AggregateOptions): Promise<DataRecord[]> {
    const compiled = this.compiled(object);
    planAggregate(compiled, query); // refuse a bad query before reading anything
    const rows = await this.find(object, { where: query.where });
    // Herald's in-process engine computes the aggregate: identical results to Herald's other engines.
    const scratch = new MemoryEngine({ objects: [compiled.definition] });
    await scratch.migrate();
    await scratch.insert(compiled.name, rows);
    return await scratch.aggregate(compiled.name, { ...query, where: undefined });
  }

  /**
   * The predicate a write applies to: the plan's filter for `multi`, else that filter narrowed to the lowest
   * matching id (false when nothing matches).
   */
  private async target(compiled: CompiledObject, plan: WritePlan): Promise<Filter | false> {
    const folded = this.fold(compiled, plan.where);
    if (folded === false) return false;
    const filter = folded === true ? {} : folded;
    if (plan.multi || plan.pinsPrimaryKey) return filter;
    const pk = compiled.primaryKey.name;
    const first = await this.ql.find(this.objectName(compiled.name), {
      where: filter,
      fields: [pk],
      orderBy: [{ field: pk, order: 'asc' }],
      limit: 1,
      context: SYSTEM,
    });
    if (first.length === 0) return false;
    return { $and: [filter, { [pk]: { $eq: (first[0] as DataRecord)[pk] } }] };
  }

  /**
   * One predicate update through ObjectQL's multi path (a single UPDATE … WHERE), returning the rows changed.
   * The predicate is wrapped in `$and` so ObjectQL never takes its by-id path, which ignores other conditions.
   */
  private async writeMany(compiled: CompiledObject, changes: DataRecord, where: Filter): Promise<number> {
    try {
      const result = await this.ql.update(this.objectName(compiled.name), changes, {
        where: Object.keys(where).length === 0 ? {} : { $and: [where] },
        multi: true,
        context: SYSTEM_UPDATE,
      });
      return typeof result === 'number' ? result : result ? 1 : 0;
    } catch (err) {
      if (errorCode(err) === 'RECORD_NOT_FOUND') return 0;
      throw err;
    }
  }

  /**
   * driver-memory does not enforce the primary key on insert (a second row with a taken id is stored beside the
   * first), so ids are checked first, in the batch and against the table; SQL drivers would refuse them anyway.
   */
  private async refuseTakenIds(compiled: CompiledObject, rows: DataRecord[]): Promise<void> {
    const pk = compiled.primaryKey.name;
    const ids = rows.map((r) => r[pk]);
    const taken =
      new Set(ids).size !== ids.length ||
      (await this.ql.count(this.objectName(compiled.name), { where: { [pk]: { $in: ids } }, context: SYSTEM })) > 0;
    if (taken) throw new UniqueViolationError(compiled.name, [pk]);
  }

  /** Which unique key a refused insert broke: a duplicate inside the batch, or a row already stored. */
  private async conflictingKey(compiled: CompiledObject, rows: DataRecord[]): Promise<readonly string[]> {
    for (const key of compiled.uniqueKeys) {
      const seen = new Set<string>();
      for (const row of rows) {
        const values = key.map((c) => row[c]);
        if (values.includes(null)) continue;
        const tuple = JSON.stringify(values);
        if (seen.has(tuple)) return key;
        seen.add(tuple);
        const where = { $and: key.map((c) => ({ [c]: { $eq: this.toStore(compiled, compiled.column(c, 'key'), row[c]) } })) };
        if ((await this.ql.count(this.objectName(compiled.name), { where, context: SYSTEM })) > 0) return key;
      }
    }
    return [];
  }

  /** Herald's validated condition as an ObjectQL filter, with Herald's null semantics made explicit. */
  private fold(object: CompiledObject, condition: Condition | undefined): Folded {
    if (condition === undefined) return true;
    const name = condition.kind === 'and' || condition.kind === 'or' ? undefined : condition.column.name;
    switch (condition.kind) {
      case 'and':
      case 'or': {
        const isAnd = condition.kind === 'and';
        const parts: Filter[] = [];
        for (const item of condition.items) {
          const f = this.fold(object, item);
          if (f === !isAnd) return !isAnd; // false in an AND, true in an OR decides it
          if (f !== isAnd) parts.push(f as Filter);
        }
        if (parts.length === 0) return isAnd;
        return parts.length === 1 ? parts[0]! : { [isAnd ? '$and' : '$or']: parts };
      }
      case 'null':
        return { [name!]: condition.negated ? { $ne: null } : null };
      case 'in': {
        const values = condition.values.map((v) => this.toStore(object, condition.column, v));
        if (!condition.negated) return values.length === 0 ? false : { [name!]: { $in: values } };
        if (values.length === 0) return true;
        return { $or: [{ [name!]: null }, { [name!]: { $nin: values } }] };
      }
      case 'cmp': {
        const value = this.toStore(object, condition.column, condition.value);
        if (condition.op === 'ne') return { $or: [{ [name!]: null }, { [name!]: { $ne: value } }] };
        return { [name!]: { [`$${condition.op}`]: value } };
      }
    }
  }

  private toStore(object: CompiledObject, column: ColumnDefinition, value: unknown): unknown {
    if (value === null || value === undefined) return null;
    if (column.type !== 'bigint-ms') return value;
    const ms = value as number;
    // Stored as timestamps (objectql-schema.ts); ISO text outside years 0000–9999 would not sort as time.
    if (ms < MIN_ISO_MS || ms > MAX_ISO_MS) {
      throw new StoreValidationError(object.name, column.name, `epoch ms ${ms} is outside years 0000-9999, which an ObjectStack datetime column cannot order`);
    }
    return new Date(ms).toISOString();
  }

  /** A stored row back in Herald's representation, holding exactly `columns`. */
  private fromStore(row: DataRecord, columns: readonly ColumnDefinition[]): DataRecord {
    const out: DataRecord = {};
    for (const column of columns) {
      const v = row[column.name];
      if (v === null || v === undefined) {
        out[column.name] = null;
      } else if (column.type === 'bigint-ms') {
        out[column.name] = v instanceof Date ? v.getTime() : typeof v === 'number' ? v : Date.parse(String(v));
      } else if (column.type === 'boolean') {
        out[column.name] = v === true || v === 1 || v === '1' || v === 'true';
      } else if (column.type === 'text' || column.type === 'json-text') {
        out[column.name] = String(v);
      } else {
        out[column.name] = Number(v);
      }
    }
    return out;
  }

  private compiled(object: string): CompiledObject {
    this.open();
    return this.registry.get(object);
  }

  private open(): void {
    if (this.closed) throw new EngineClosedError('objectql');
  }
}
