/**
 * What the SQLite and Postgres engines share: turning validated plans (`query-plan.ts`) into Kysely queries,
 * decoding rows, mapping unique-key errors and creating tables. Each subclass supplies only what differs between
 * the two databases (types, value encoding, error codes, locking, how to run several statements atomically).
 */
import type {
  ColumnDataType,
  ColumnDefinitionBuilder,
  CompiledQuery,
  CreateTableBuilder,
  Expression,
  ExpressionBuilder,
  Kysely,
  SqlBool,
} from 'kysely';
import {
  EngineClosedError,
  UniqueViolationError,
  type AggregateOptions,
  type CountOptions,
  type DataEngine,
  type DataRecord,
  type DeleteOptions,
  type InsertOptions,
  type QueryOptions,
  type UpdateOptions,
} from './data-engine.js';
import {
  planAggregate,
  planCount,
  planDelete,
  planFind,
  planInsertRows,
  planUpdate,
} from './query-plan.js';
import { ObjectRegistry, type CompiledObject } from './compiled-object.js';
import type { AggregatePlan, Condition, WritePlan } from './plan-types.js';
import type { ColumnDefinition, ObjectDefinition } from './schema.js';

// Tables are defined at run time from `schema.ts`, so Kysely's compile-time table types cannot help here;
// validation against the definitions happens in query-plan.ts instead.
export type AnyKysely = Kysely<any>;
type AnyExpressionBuilder = ExpressionBuilder<any, any>;

/** A column type for Kysely's schema builder: a keyword or a raw expression (Kysely does not export its own alias). */
export type SqlDataType = ColumnDataType | Expression<unknown>;

const COMPARISON_SQL = {
  eq: '=',
  // Null-safe: `$ne` matches null fields, as in the memory engine (see Condition in query-plan.ts).
  ne: 'is distinct from',
  lt: '<',
  lte: '<=',
  gt: '>',
  gte: '>=',
} as const;

/** Postgres truncates identifiers at 63 bytes; keep generated names under that and still unique. */
function sqlName(parts: readonly string[], suffix: string): string {
  const name = `${parts.join('_')}_${suffix}`;
  if (name.length <= 63) return name;
  let hash = 0;
  for (const ch of name) hash = (Math.imul(hash, 31) + ch.charCodeAt(0)) >>> 0;
  return `${name.slice(0, 63 - 9 - suffix.length)}_${hash.toString(36).padStart(7, '0').slice(0, 7)}_${suffix}`;
}

export function primaryKeyName(object: CompiledObject): string {
  return sqlName([object.name], 'pkey');
}

export function uniqueKeyName(object: CompiledObject, columns: readonly string[]): string {
  return sqlName([object.name, ...columns], 'key');
}

function indexName(object: CompiledObject, columns: readonly string[]): string {
  return sqlName([object.name, ...columns], 'idx');
}

export abstract class SqlEngine implements DataEngine {
  protected readonly registry: ObjectRegistry;
  private closed = false;

  protected constructor(
    protected readonly db: AnyKysely,
    objects: readonly ObjectDefinition[],
    private readonly engineName: string,
  ) {
    this.registry = new ObjectRegistry(objects);
  }

  /** API value → driver parameter (e.g. booleans as 0/1 in SQLite). Never called with null. */
  protected abstract encodeValue(column: ColumnDefinition, value: unknown): unknown;
  /** Driver value → API value. Never called with null. */
  protected abstract decodeValue(column: ColumnDefinition, value: unknown): unknown;
  protected abstract columnDataType(column: ColumnDefinition): SqlDataType;
  /** The conflicting key's fields if `error` is a unique-key violation, else undefined. */
  protected abstract uniqueViolationFields(error: unknown, object: CompiledObject): readonly string[] | undefined;
  /** Runs the statements as one transaction. */
  protected abstract executeAtomically(queries: readonly CompiledQuery[]): Promise<void>;
  /** Runs `migrate` so that concurrent migrations from other processes cannot interleave harmfully. */
  protected abstract withMigrationLock(migrate: (db: AnyKysely) => Promise<void>): Promise<void>;
  /** The schema new tables land in (Postgres), or undefined where there are no schemas (SQLite). */
  protected abstract currentSchema(db: AnyKysely): Promise<string | undefined>;
  /** The most bind parameters one statement may carry; batch inserts are split below it. */
  protected abstract readonly maxParameters: number;
  /** SQLite cannot OFFSET without a LIMIT. */
  protected readonly offsetNeedsLimit: boolean = false;

  async find<T extends DataRecord = DataRecord>(object: string, query?: QueryOptions): Promise<T[]> {
    const compiled = this.object(object);
    const plan = planFind(compiled, query);
    let q = this.db.selectFrom(compiled.name).select(plan.columns.map((c) => c.name));
    if (plan.where !== undefined) {
      const where = plan.where;
      q = q.where((eb) => this.condition(eb, where));
    }
    for (const { column, desc } of plan.orderBy) {
      // Nulls sort as the smallest value everywhere (Postgres' default is the opposite); NOT NULL columns
      // skip the modifier so Postgres can still walk an index.
      q = q.orderBy(column.name, (ob) => {
        const dir = desc ? ob.desc() : ob.asc();
        if (!column.nullable) return dir;
        return desc ? dir.nullsLast() : dir.nullsFirst();
      });
    }
    if (plan.limit !== undefined) q = q.limit(plan.limit);
    else if (plan.offset !== undefined && this.offsetNeedsLimit) q = q.limit(-1);
    if (plan.offset !== undefined) q = q.offset(plan.offset);
    const rows = await this.run(compiled, () => q.execute());
    return rows.map((row) => this.decodeRow(plan.columns, row as DataRecord) as T);
  }

  async findOne<T extends DataRecord = DataRecord>(object: string, query?: QueryOptions): Promise<T | null> {
    const rows = await this.find<T>(object, { ...query, limit: 1, top: undefined });
    return rows[0] ?? null;
  }

  insert<T extends DataRecord = DataRecord>(object: string, data: DataRecord, options?: InsertOptions): Promise<T>;
  insert<T extends DataRecord = DataRecord>(object: string, data: readonly DataRecord[], options?: InsertOptions): Promise<T[]>;
  async insert(object: string, data: DataRecord | readonly DataRecord[]): Promise<DataRecord | DataRecord[]> {
    const compiled = this.object(object);
    const { rows, many } = planInsertRows(compiled, data);
    if (rows.length > 0) {
      // Every row carries every column (defaults are filled in by the plan), so the rows written are exactly
      // the rows returned and no RETURNING (whose row order SQLite does not promise) is needed.
      const encoded = rows.map((row) => this.encodeRow(compiled, row));
      const perStatement = Math.max(1, Math.floor(this.maxParameters / compiled.columns.length));
      const queries: CompiledQuery[] = [];
      for (let i = 0; i < encoded.length; i += perStatement) {
        queries.push(this.db.insertInto(compiled.name).values(encoded.slice(i, i + perStatement)).compile());
      }
      await this.run(compiled, async () => {
        if (queries.length === 1) await this.db.executeQuery(queries[0]!);
        else await this.executeAtomically(queries);
      });
    }
    return many ? rows : rows[0]!;
  }

  async update(object: string, data: DataRecord, options?: UpdateOptions): Promise<number> {
    const compiled = this.object(object);
    const plan = planUpdate(compiled, data, options);
    const set: DataRecord = {};
    for (const [field, value] of Object.entries(plan.changes)) {
      set[field] = this.encode(compiled.column(field, 'update data'), value);
    }
    const result = await this.run(compiled, () =>
      this.db
        .updateTable(compiled.name)
        .set(set)
        .where((eb) => this.writeFilter(eb, compiled, plan))
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows);
  }

  async delete(object: string, options?: DeleteOptions): Promise<number> {
    const compiled = this.object(object);
    const plan = planDelete(compiled, options);
    const result = await this.run(compiled, () =>
      this.db
        .deleteFrom(compiled.name)
        .where((eb) => this.writeFilter(eb, compiled, plan))
        .executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }

  async count(object: string, query?: CountOptions): Promise<number> {
    const compiled = this.object(object);
    const where = planCount(compiled, query);
    let q = this.db.selectFrom(compiled.name).select((eb) => eb.fn.countAll().as('n'));
    if (where !== undefined) q = q.where((eb) => this.condition(eb, where));
    const row = await this.run(compiled, () => q.executeTakeFirstOrThrow());
    return Number((row as { n: unknown }).n);
  }

  async aggregate(object: string, query: AggregateOptions): Promise<DataRecord[]> {
    const compiled = this.object(object);
    const plan = planAggregate(compiled, query);
    const groupNames = plan.groupBy.map((c) => c.name);
    let q = this.db
      .selectFrom(compiled.name)
      .select((eb) => [
        ...groupNames.map((name) => eb.ref(name).as(name)),
        ...plan.aggregations.map((a) => this.aggregation(eb, a).as(a.alias)),
      ]);
    if (plan.where !== undefined) {
      const where = plan.where;
      q = q.where((eb) => this.condition(eb, where));
    }
    if (groupNames.length > 0) q = q.groupBy(groupNames);
    for (const column of plan.groupBy) {
      q = q.orderBy(column.name, (ob) => (column.nullable ? ob.asc().nullsFirst() : ob.asc()));
    }
    const rows = (await this.run(compiled, () => q.execute())) as DataRecord[];
    return rows.map((row) => {
      const out = this.decodeRow(plan.groupBy, row);
      for (const a of plan.aggregations) {
        const v = row[a.alias];
        if (v === null || v === undefined) out[a.alias] = null;
        // min/max keep the column's type; counts and sums come back as int8/numeric text from Postgres.
        else if ((a.fn === 'min' || a.fn === 'max') && a.column !== undefined) out[a.alias] = this.decodeValue(a.column, v);
        else out[a.alias] = Number(v);
      }
      return out;
    });
  }

  async migrate(): Promise<void> {
    this.open();
    await this.withMigrationLock(async (db) => {
      const schema = await this.currentSchema(db);
      const tables = (await db.introspection.getTables()).filter((t) => schema === undefined || t.schema === schema);
      for (const object of this.registry.all()) {
        const existing = tables.find((t) => t.name === object.name);
        if (existing === undefined) {
          await this.createTable(db, object).execute();
        } else {
          const have = new Set(existing.columns.map((c) => c.name));
          for (const column of object.columns) {
            if (!have.has(column.name)) await this.addColumn(db, object, column);
          }
        }
        // Unique keys are unique indexes rather than table constraints, so a key added to a definition later
        // is created here too; violations still report the index name (Postgres) or its columns (SQLite).
        for (const columns of object.uniqueKeys.slice(1)) {
          await db.schema
            .createIndex(uniqueKeyName(object, columns))
            .unique()
            .ifNotExists()
            .on(object.name)
            .columns([...columns])
            .execute();
        }
        for (const columns of object.indexes) {
          await db.schema.createIndex(indexName(object, columns)).ifNotExists().on(object.name).columns([...columns]).execute();
        }
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.destroy();
  }

  protected open(): void {
    if (this.closed) throw new EngineClosedError(this.engineName);
  }

  private object(object: string): CompiledObject {
    this.open();
    return this.registry.get(object);
  }

  private encode(column: ColumnDefinition, value: unknown): unknown {
    return value === null ? null : this.encodeValue(column, value);
  }

  private encodeRow(object: CompiledObject, row: DataRecord): DataRecord {
    const out: DataRecord = {};
    for (const column of object.columns) out[column.name] = this.encode(column, row[column.name]);
    return out;
  }

  private decodeRow(columns: readonly ColumnDefinition[], row: DataRecord): DataRecord {
    const out: DataRecord = {};
    for (const column of columns) {
      const v = row[column.name];
      out[column.name] = v === null || v === undefined ? null : this.decodeValue(column, v);
    }
    return out;
  }

  /** Runs a statement, turning the driver's unique-key error into UniqueViolationError. */
  private async run<R>(object: CompiledObject, statement: () => Promise<R>): Promise<R> {
    try {
      return await statement();
    } catch (error) {
      const fields = this.uniqueViolationFields(error, object);
      if (fields !== undefined) throw new UniqueViolationError(object.name, fields, { cause: error });
      throw error;
    }
  }

  private condition(eb: AnyExpressionBuilder, c: Condition): Expression<SqlBool> {
    switch (c.kind) {
      case 'and':
        return eb.and(c.items.map((i) => this.condition(eb, i)));
      case 'or':
        return eb.or(c.items.map((i) => this.condition(eb, i)));
      case 'null':
        return eb(c.column.name, c.negated ? 'is not' : 'is', null);
      case 'cmp':
        return eb(c.column.name, COMPARISON_SQL[c.op], this.encode(c.column, c.value));
      case 'in': {
        const values = c.values.map((v) => this.encode(c.column, v));
        if (!c.negated) return values.length === 0 ? eb.or([]) : eb(c.column.name, 'in', values);
        // `$nin` matches null fields; SQL's NOT IN alone would not.
        if (values.length === 0) return eb.and([]);
        return eb.or([eb(c.column.name, 'is', null), eb(c.column.name, 'not in', values)]);
      }
    }
  }

  /**
   * The WHERE of an update/delete. With `multi: false` and a filter that does not pin the primary key, the row
   * is narrowed to the lowest matching key by a subquery; the filter is repeated outside it so that Postgres,
   * re-checking a row that a concurrent transaction changed, re-applies the guard (a bare `pk IN (subquery)`
   * would update a row that no longer matches).
   */
  private writeFilter(eb: AnyExpressionBuilder, object: CompiledObject, plan: WritePlan): Expression<SqlBool> {
    const where = plan.where === undefined ? eb.and([]) : this.condition(eb, plan.where);
    if (plan.multi || plan.pinsPrimaryKey) return where;
    const pk = object.primaryKey.name;
    const first = eb.selectFrom(object.name).select(pk).where(where).orderBy(pk).limit(1);
    return eb.and([where, eb(pk, 'in', first)]);
  }

  private aggregation(eb: AnyExpressionBuilder, a: AggregatePlan['aggregations'][number]) {
    const ref = a.column?.name;
    switch (a.fn) {
      case 'count':
        return ref === undefined ? eb.fn.countAll() : eb.fn.count(ref);
      case 'count_distinct':
        return eb.fn.count(ref!).distinct();
      case 'sum':
        return eb.fn.sum(ref!);
      case 'avg':
        return eb.fn.avg(ref!);
      case 'min':
        return eb.fn.min(ref!);
      case 'max':
        return eb.fn.max(ref!);
    }
  }

  private columnConstraints(column: ColumnDefinition) {
    return (cb: ColumnDefinitionBuilder) => {
      let b = column.nullable ? cb : cb.notNull();
      if (column.default !== undefined) b = b.defaultTo(this.encodeValue(column, column.default));
      return b;
    };
  }

  private createTable(db: AnyKysely, object: CompiledObject) {
    let table: CreateTableBuilder<any, any> = db.schema.createTable(object.name).ifNotExists();
    for (const column of object.columns) {
      table = table.addColumn(column.name, this.columnDataType(column), this.columnConstraints(column));
    }
    return table.addPrimaryKeyConstraint(primaryKeyName(object), [object.primaryKey.name]);
  }

  private async addColumn(db: AnyKysely, object: CompiledObject, column: ColumnDefinition): Promise<void> {
    if (!column.nullable && column.default === undefined) {
      throw new Error(
        `cannot migrate ${object.name}: new column ${column.name} is NOT NULL without a default; ` +
          'give it a default or make it nullable',
      );
    }
    try {
      await db.schema.alterTable(object.name).addColumn(column.name, this.columnDataType(column), this.columnConstraints(column)).execute();
    } catch (error) {
      // Another migrator (another process on the same SQLite file) may have added it first.
      const table = (await db.introspection.getTables()).find((t) => t.name === object.name);
      if (!table?.columns.some((c) => c.name === column.name)) throw error;
    }
  }
}
