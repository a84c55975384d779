/**
 * Validation shared by every engine: each call is checked against the object definitions and turned into an
 * engine-neutral plan (conditions, projections, orderings, complete rows) before any engine touches storage.
 * Keeping this in one place is what makes the three engines agree on errors and on null semantics.
 */
import {
  StoreValidationError,
  type AggregateOptions,
  type DataRecord,
  type DeleteOptions,
  type QueryOptions,
  type UpdateOptions,
  type Where,
} from './data-engine.js';
import { describe, isPlain, isPlainObject, writeValue } from './column-values.js';
import type { CompiledObject } from './compiled-object.js';
import type { AggregatePlan, Condition, FindPlan, OrderKey, UpdatePlan, WritePlan } from './plan-types.js';
import { ORGANIZATION_COLUMN } from './schema.js';
import { parseWhere } from './where-filter.js';

/** Options ObjectStack code passes that Herald's engines accept (see BaseOptions in data-engine.ts). */
const OBJECTSTACK_OPTIONS = ['context', 'bypassTenantAudit', 'tenantId'] as const;

/**
 * ObjectStack's `tenantId` option scopes a read or write to one organization: on an `organizationScoped` object
 * it adds `organization_id = tenantId` to the filter (as ObjectStack's engine does), so an organization's call
 * never sees another's rows. Objects without the column refuse it rather than ignore it.
 */
function scopeToOrganization(object: CompiledObject, where: Where | undefined, tenantId: unknown): Where | undefined {
  if (tenantId === undefined) return where;
  if (typeof tenantId !== 'string' || tenantId === '') {
    throw new StoreValidationError(object.name, 'tenantId', `must be a non-empty string, got ${describe(tenantId)}`);
  }
  if (!object.has(ORGANIZATION_COLUMN.name)) {
    throw new StoreValidationError(object.name, 'tenantId', 'this object has no organization_id column to scope by (declare it organizationScoped)');
  }
  const scope = { [ORGANIZATION_COLUMN.name]: tenantId };
  return where === undefined ? scope : { $and: [where, scope] };
}

// An aggregation alias names a result field, not a column: an identifier, upper case allowed.
const ALIAS = /^[A-Za-z_][A-Za-z0-9_]*$/;

function checkKeys(object: CompiledObject, options: object, allowed: readonly string[], hints: Record<string, string>): void {
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || allowed.includes(key)) continue;
    const hint = hints[key];
    throw new StoreValidationError(object.name, key, hint ?? `unknown option (supported: ${allowed.join(', ')})`);
  }
}

const LEGACY_HINTS: Record<string, string> = {
  filter: 'is not an option: use where',
  sort: 'is not an option: use orderBy: [{ field, order }]',
  select: 'is not an option: use fields',
  skip: 'is not an option: use offset',
  expand: 'is not supported by Herald engines',
  search: 'is not supported by Herald engines',
  cursor: 'is not supported by Herald engines',
  distinct: 'is not supported by Herald engines',
  populate: 'is not supported by Herald engines',
};

function nonNegativeInteger(object: CompiledObject, name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new StoreValidationError(object.name, name, `must be a non-negative integer, got ${describe(value)}`);
  }
  return value;
}

export function planFind(object: CompiledObject, query: QueryOptions | undefined): FindPlan {
  const q = query ?? {};
  if (!isPlain(q)) throw new StoreValidationError(object.name, undefined, `query must be an object, got ${describe(q)}`);
  checkKeys(object, q, ['where', 'fields', 'orderBy', 'limit', 'offset', 'top', ...OBJECTSTACK_OPTIONS], LEGACY_HINTS);
  let columns = [...object.columns];
  if (q.fields !== undefined) {
    if (!Array.isArray(q.fields) || q.fields.length === 0) {
      throw new StoreValidationError(object.name, 'fields', 'must be a non-empty array of field names');
    }
    columns = [...new Set(q.fields)].map((f) => object.column(f as string, 'fields'));
  }
  const orderBy: OrderKey[] = [];
  if (q.orderBy !== undefined) {
    if (!Array.isArray(q.orderBy)) {
      throw new StoreValidationError(object.name, 'orderBy', 'must be an array of { field, order }');
    }
    for (const key of q.orderBy as unknown[]) {
      if (!isPlainObject(key) || typeof key.field !== 'string') {
        throw new StoreValidationError(object.name, 'orderBy', `entries must be { field, order }, got ${describe(key)}`);
      }
      const column = object.column(key.field, 'orderBy');
      const order = key.order ?? 'asc';
      if (order !== 'asc' && order !== 'desc') {
        throw new StoreValidationError(object.name, key.field, `orderBy order must be 'asc' or 'desc', got ${describe(order)}`);
      }
      if (!orderBy.some((k) => k.column === column)) orderBy.push({ column, desc: order === 'desc' });
    }
  }
  if (!orderBy.some((k) => k.column === object.primaryKey)) orderBy.push({ column: object.primaryKey, desc: false });
  const limit = nonNegativeInteger(object, 'limit', q.limit);
  const top = nonNegativeInteger(object, 'top', q.top);
  if (limit !== undefined && top !== undefined && limit !== top) {
    throw new StoreValidationError(object.name, 'top', 'conflicts with limit (top is an alias of limit)');
  }
  return { where: parseWhere(object, scopeToOrganization(object, q.where, q.tenantId)), columns, orderBy, limit: limit ?? top, offset: nonNegativeInteger(object, 'offset', q.offset) };
}

export function planCount(object: CompiledObject, query: { where?: Where; tenantId?: string } | undefined): Condition | undefined {
  const q = query ?? {};
  if (!isPlain(q)) throw new StoreValidationError(object.name, undefined, `query must be an object, got ${describe(q)}`);
  checkKeys(object, q, ['where', ...OBJECTSTACK_OPTIONS], LEGACY_HINTS);
  return parseWhere(object, scopeToOrganization(object, q.where, q.tenantId));
}

function planWrite(object: CompiledObject, options: DeleteOptions | UpdateOptions | undefined, op: string): WritePlan {
  const o = options ?? {};
  if (!isPlain(o)) throw new StoreValidationError(object.name, undefined, `${op} options must be an object`);
  checkKeys(object, o, ['where', 'multi', ...OBJECTSTACK_OPTIONS], LEGACY_HINTS);
  if (o.where === undefined) {
    throw new StoreValidationError(object.name, 'where', `${op} requires where (use {} with multi: true for every row)`);
  }
  if (o.multi !== undefined && typeof o.multi !== 'boolean') {
    throw new StoreValidationError(object.name, 'multi', `must be a boolean, got ${describe(o.multi)}`);
  }
  const where = parseWhere(object, scopeToOrganization(object, o.where, o.tenantId));
  const pk = object.primaryKey.name;
  const pinned = o.where[pk];
  const pinsPrimaryKey =
    pinned !== undefined &&
    pinned !== null &&
    (typeof pinned !== 'object' || (isPlainObject(pinned) && Object.keys(pinned).length === 1 && pinned.$eq != null));
  return { where, multi: o.multi ?? false, pinsPrimaryKey };
}

export function planDelete(object: CompiledObject, options: DeleteOptions | undefined): WritePlan {
  return planWrite(object, options, 'delete');
}

export function planUpdate(object: CompiledObject, data: DataRecord, options: UpdateOptions | undefined): UpdatePlan {
  if (!isPlain(data)) throw new StoreValidationError(object.name, undefined, `update data must be an object, got ${describe(data)}`);
  const pk = object.primaryKey.name;
  let opts = options;
  let fields = data;
  if ((opts === undefined || opts.where === undefined) && data[pk] !== undefined && data[pk] !== null) {
    // ObjectStack style: update(object, { id, ...changes }) targets that row.
    opts = { ...opts, where: { [pk]: data[pk] } };
    const { [pk]: _id, ...rest } = data;
    fields = rest;
  }
  const plan = planWrite(object, opts, 'update');
  const changes: DataRecord = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const column = object.column(key, 'update data');
    if (column === object.primaryKey) {
      throw new StoreValidationError(object.name, key, 'is the primary key and cannot be updated');
    }
    changes[key] = writeValue(object, column, value);
  }
  if (Object.keys(changes).length === 0) {
    throw new StoreValidationError(object.name, undefined, 'update data sets no fields');
  }
  return { ...plan, changes };
}

/** A complete row for insert: every column present, defaults filled in, values validated. */
function planInsertRow(object: CompiledObject, data: unknown, index?: number): DataRecord {
  const at = index === undefined ? '' : ` (row ${index})`;
  if (!isPlainObject(data)) {
    throw new StoreValidationError(object.name, undefined, `insert data${at} must be an object, got ${describe(data)}`);
  }
  for (const key of Object.keys(data)) object.column(key, `insert data${at}`);
  const row: DataRecord = {};
  for (const column of object.columns) {
    const given = data[column.name];
    if (given === undefined) {
      if (column.default !== undefined) row[column.name] = column.default;
      else if (column.nullable) row[column.name] = null;
      else throw new StoreValidationError(object.name, column.name, `is required${at}`);
    } else {
      row[column.name] = writeValue(object, column, given);
    }
  }
  return row;
}

export function planInsertRows(object: CompiledObject, data: unknown): { rows: DataRecord[]; many: boolean } {
  if (Array.isArray(data)) return { rows: data.map((d, i) => planInsertRow(object, d, i)), many: true };
  return { rows: [planInsertRow(object, data)], many: false };
}

export function planAggregate(object: CompiledObject, query: AggregateOptions): AggregatePlan {
  if (!isPlain(query)) throw new StoreValidationError(object.name, undefined, 'aggregate needs an options object');
  checkKeys(object, query, ['where', 'groupBy', 'aggregations', 'timezone', ...OBJECTSTACK_OPTIONS], LEGACY_HINTS);
  const groupBy = (query.groupBy ?? []).map((f) => {
    if (typeof f !== 'string') throw new StoreValidationError(object.name, 'groupBy', 'entries must be field names (date buckets are not supported)');
    return object.column(f, 'groupBy');
  });
  if (new Set(groupBy).size !== groupBy.length) throw new StoreValidationError(object.name, 'groupBy', 'names a field twice');
  const aliases = new Set<string>(groupBy.map((c) => c.name));
  const aggregations: AggregatePlan['aggregations'] = [];
  for (const a of query.aggregations ?? []) {
    if (!isPlainObject(a)) throw new StoreValidationError(object.name, 'aggregations', 'entries must be objects');
    const { function: fnName, field, alias, distinct, filter } = a;
    if (typeof alias !== 'string' || !ALIAS.test(alias) || aliases.has(alias)) {
      throw new StoreValidationError(
        object.name,
        'aggregations',
        `alias must be a unique identifier that is not a group-by field, got ${describe(alias)}`,
      );
    }
    aliases.add(alias);
    if (filter !== undefined) throw new StoreValidationError(object.name, alias, 'aggregation filter is not supported');
    let fn: AggregatePlan['aggregations'][number]['fn'];
    switch (fnName) {
      case 'count':
      case 'count_distinct':
      case 'sum':
      case 'avg':
      case 'min':
      case 'max':
        fn = fnName;
        break;
      default:
        throw new StoreValidationError(
          object.name,
          alias,
          `aggregate function ${describe(fnName)} is not supported (supported: count, count_distinct, sum, avg, min, max)`,
        );
    }
    if (distinct === true) {
      if (fn !== 'count' && fn !== 'count_distinct') {
        throw new StoreValidationError(object.name, alias, 'distinct is only supported with count');
      }
      fn = 'count_distinct';
    }
    if (field === undefined && fn !== 'count') throw new StoreValidationError(object.name, alias, `${fn} needs a field`);
    const column = field === undefined ? undefined : object.column(field as string, 'aggregations');
    if (column !== undefined && (fn === 'sum' || fn === 'avg') && !['integer', 'bigint-ms', 'real'].includes(column.type)) {
      throw new StoreValidationError(object.name, column.name, `${fn} needs a numeric field, not ${column.type}`);
    }
    if (column !== undefined && (fn === 'min' || fn === 'max') && (column.type === 'boolean' || column.type === 'json-text')) {
      throw new StoreValidationError(object.name, column.name, `${fn} is not supported on a ${column.type} field`);
    }
    aggregations.push({ fn, column, alias });
  }
  if (groupBy.length === 0 && aggregations.length === 0) {
    throw new StoreValidationError(object.name, undefined, 'aggregate needs groupBy or aggregations');
  }
  return { where: parseWhere(object, scopeToOrganization(object, query.where, query.tenantId)), groupBy, aggregations };
}
