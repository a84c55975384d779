/**
 * Herald's data engine contract: the seam between Herald and whatever stores its tables.
 *
 * It has the shape of ObjectStack's `IDataEngine` (`@objectstack/spec/contracts`) so an ObjectStack application
 * can hand Herald its own engine, and `test/store/idata-engine-assignability.test.ts` keeps `DataEngine`
 * assignable to it. The option types below are deliberately *wider* than Herald needs where ObjectStack's are
 * (e.g. every aggregate function name), so a call written against ObjectStack's types also type-checks here;
 * engines reject at run time, with a clear error, what they do not implement. Nothing is ever silently ignored:
 * an unknown field, operator or option throws `StoreValidationError` instead of matching everything.
 */

/** A row as the API sees it: booleans are JS booleans, times are epoch milliseconds, `*_json` columns are JSON text. */
export type DataRecord = Record<string, unknown>;

/**
 * A filter. Keys are field names or the logical operators `$and`, `$or` (non-empty arrays of filters) and `$not`
 * (a filter). A field maps to a scalar (equality), to `null` (IS NULL) or to an object of operators:
 * `$eq $ne $lt $lte $gt $gte $in $nin`; `{ $ne: null }` is IS NOT NULL. Several operators on one field are ANDed.
 *
 * Null semantics are the same in every engine (they follow ObjectStack's Mongo-style filters, not SQL's
 * three-valued logic): `$ne` and `$nin` match rows where the field is null, `$eq`, `$in` and the range operators
 * never do, and `$not` is an exact complement.
 *
 * Typed as a plain record because ObjectStack's `FilterCondition` is one; `FieldOperators` documents the shape.
 */
export type Where = Record<string, unknown>;

/** The per-field operators engines implement; anything else starting with `$` is rejected. */
export interface FieldOperators {
  $eq?: unknown;
  $ne?: unknown;
  $lt?: number | string | Date;
  $lte?: number | string | Date;
  $gt?: number | string | Date;
  $gte?: number | string | Date;
  $in?: readonly unknown[];
  $nin?: readonly unknown[];
}

export type SortOrder = 'asc' | 'desc';

/** One ordering key, as in ObjectStack's `EngineQueryOptions.orderBy`. */
export interface OrderBy {
  field: string;
  /** Defaults to 'asc'. Nulls sort first ascending and last descending, in every engine. */
  order?: SortOrder;
}

/**
 * Fields every option object may carry, so ObjectStack's own code (e.g. its outbox) runs on Herald's engines
 * unmodified. Herald's engines accept and ignore them: they have no users, sharing rules or tenant audit log.
 * - `context`: ObjectStack's execution context (`{ isSystem: true }`, the caller's user and organization).
 * - `bypassTenantAudit`: ObjectStack's hint that a system write spans organizations (its outbox dispatcher).
 * - `tenantId`: the organization an ObjectStack write or read is scoped to (its outbox's redeliver).
 */
export interface BaseOptions {
  context?: unknown;
  bypassTenantAudit?: boolean;
  tenantId?: string;
}

/** The trailing options of read methods (ObjectStack 17's `BaseEngineOptions`: the execution context). */
export type ReadOptions = BaseOptions;

/** `find`/`findOne` options (ObjectStack `EngineQueryOptions`). */
export interface QueryOptions extends BaseOptions {
  where?: Where;
  /** Projection: only these fields are returned. */
  fields?: readonly string[];
  /** Results are ordered by these keys, then by primary key, so pagination is stable in every engine. */
  orderBy?: readonly OrderBy[];
  limit?: number;
  offset?: number;
  /** OData-style alias of `limit` (ObjectStack accepts both). */
  top?: number;
}

/** `insert` options (ObjectStack `DataEngineInsertOptions`). Inserted records are always returned. */
export interface InsertOptions extends BaseOptions {
  returning?: boolean;
}

/** `update` options (ObjectStack `EngineUpdateOptions`). */
export interface UpdateOptions extends BaseOptions {
  /** Required unless `data` carries the primary key. `{}` with `multi: true` updates every row. */
  where?: Where;
  /**
   * false (default): at most one matching row changes, the one with the lowest primary key. Under contention a
   * caller whose chosen row was just changed by another gets 0 even if other rows still match; it may retry.
   */
  multi?: boolean;
}

/** `delete` options (ObjectStack `EngineDeleteOptions`). */
export interface DeleteOptions extends BaseOptions {
  /** Required. `{}` with `multi: true` deletes every row. */
  where?: Where;
  /** false (default): at most one matching row is deleted (the one with the lowest primary key). */
  multi?: boolean;
}

/** `count` options (ObjectStack `EngineCountOptions`). */
export interface CountOptions extends BaseOptions {
  where?: Where;
}

/** The aggregate function names of ObjectStack's spec; engines implement all but `array_agg` and `string_agg`. */
export type AggregateFunction =
  | 'count'
  | 'sum'
  | 'avg'
  | 'min'
  | 'max'
  | 'count_distinct'
  | 'array_agg'
  | 'string_agg';

export interface Aggregation {
  function: AggregateFunction;
  /** Required except for `count`, where no field means COUNT(*) and a field counts its non-null values. */
  field?: string;
  /** The result key; a plain identifier that differs from the group-by fields. */
  alias: string;
  /** Only with `count` (same as `count_distinct`). */
  distinct?: boolean;
  /** ObjectStack's per-aggregation FILTER; not implemented, rejected if set. */
  filter?: unknown;
}

/** `aggregate` options (ObjectStack `EngineAggregateOptions`). */
export interface AggregateOptions extends BaseOptions {
  where?: Where;
  /**
   * Field names. ObjectStack 17 also allows date buckets (`{ field, dateGranularity }`): typed so its calls
   * type-check, refused at run time (Herald does no date bucketing).
   */
  groupBy?: readonly (string | { field: string; dateGranularity?: string; alias?: string })[];
  /** ObjectStack 17's filter over groups; not implemented, rejected if set. */
  having?: Where;
  aggregations?: readonly Aggregation[];
  /** Accepted for compatibility; Herald does no date bucketing, so it changes nothing. */
  timezone?: string;
}

/**
 * The engine contract. Every method validates the object name, field names, operators and values against the
 * schema (`schema.ts`) before touching storage.
 */
export interface DataEngine {
  find<T extends DataRecord = DataRecord>(object: string, query?: QueryOptions, options?: ReadOptions): Promise<T[]>;
  /** The first row `find` would return, or null. */
  findOne<T extends DataRecord = DataRecord>(object: string, query?: QueryOptions, options?: ReadOptions): Promise<T | null>;
  /**
   * Inserts one row (returns it, defaults filled in) or several atomically (returns them in order). A conflict on
   * the primary key or a unique key throws `UniqueViolationError`, and nothing is written.
   */
  insert<T extends DataRecord = DataRecord>(object: string, data: DataRecord, options?: InsertOptions): Promise<T>;
  insert<T extends DataRecord = DataRecord>(
    object: string,
    data: readonly DataRecord[],
    options?: InsertOptions,
  ): Promise<T[]>;
  /**
   * Sets `data` on the rows matching `options.where` in one atomic statement and returns how many rows changed,
   * so it doubles as a compare-and-set: `update(o, {status:'in_flight'}, {where:{id, status:'pending'}})` returns 1
   * for exactly one of any number of concurrent callers and 0 for the rest.
   */
  update(object: string, data: DataRecord, options?: UpdateOptions): Promise<number>;
  /** Deletes the rows matching `options.where`; returns how many. */
  delete(object: string, options?: DeleteOptions): Promise<number>;
  count(object: string, query?: CountOptions, options?: ReadOptions): Promise<number>;
  /**
   * One row per distinct combination of `groupBy` values (a single row when there is no `groupBy`), holding the
   * group fields and one key per aggregation alias; rows are ordered by the group fields.
   */
  aggregate(object: string, query: AggregateOptions, options?: ReadOptions): Promise<DataRecord[]>;
  /** Creates missing tables, indexes and (nullable or defaulted) columns; safe to run concurrently and repeatedly. */
  migrate(): Promise<void>;
  /** Releases connections; the engine rejects every call afterwards. */
  close(): Promise<void>;
}

/**
 * A write hit a primary-key or unique-key conflict. Every engine throws this (never a driver error), so a dedup
 * race is handled the same way whatever the storage: catch it and read the winning row.
 */
export class UniqueViolationError extends Error {
  override name = 'UniqueViolationError';
  constructor(
    readonly object: string,
    /** The conflicting key's fields, e.g. ['event_id', 'webhook_id']; empty if the driver did not say. */
    readonly fields: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(`${object}: unique key (${fields.join(', ') || 'unknown'}) already exists`, options);
  }
}

/** A call was refused before touching storage: unknown object or field, bad operator, option or value. */
export class StoreValidationError extends Error {
  override name = 'StoreValidationError';
  constructor(
    readonly object: string,
    /** The offending field or option (e.g. 'where.status', 'orderBy[0].field'), or undefined for the whole call. */
    readonly field: string | undefined,
    readonly reason: string,
  ) {
    super(`${object}${field === undefined ? '' : `.${field}`}: ${reason}`);
  }
}

/** The engine was used after `close()`. */
export class EngineClosedError extends Error {
  override name = 'EngineClosedError';
  constructor(engine: string) {
    super(`${engine} data engine is closed`);
  }
}
