/**
 * Validation shared by every engine: each call is checked against the object definitions and turned into an
 * engine-neutral plan (conditions, projections, orderings, complete rows) before any engine touches storage.
 * Keeping this in one place is what makes the three engines agree on errors and on null semantics.
 */
import {
  StoreValidationError,
  type AggregateFunction,
  type AggregateOptions,
  type DataRecord,
  type DeleteOptions,
  type QueryOptions,
  type UpdateOptions,
  type Where,
} from './data-engine.js';
import { ORGANIZATION_COLUMN, type ColumnDefinition, type ObjectDefinition } from './schema.js';

/** A value as the API carries it, after validation: never undefined, Dates already turned into epoch ms. */
export type Scalar = string | number | boolean;

export type ComparisonOp = 'eq' | 'ne' | 'lt' | 'lte' | 'gt' | 'gte';

/**
 * A filter after validation. It contains no negation: `$not` is pushed down to the leaves when parsing, so
 * engines only implement these monotone forms, whose semantics are:
 * - `cmp eq/lt/lte/gt/gte`: false when the field is null; `cmp ne`: true when the field is null.
 * - `in` (negated false): the field is non-null and in `values`; negated (`$nin`): the field is null or not in `values`.
 *   `values` never contains null (a null in `$in` becomes an OR with `null`).
 * - `null`: IS NULL; negated: IS NOT NULL.
 */
export type Condition =
  | { kind: 'and'; items: Condition[] }
  | { kind: 'or'; items: Condition[] }
  | { kind: 'cmp'; column: ColumnDefinition; op: ComparisonOp; value: Scalar }
  | { kind: 'in'; column: ColumnDefinition; values: Scalar[]; negated: boolean }
  | { kind: 'null'; column: ColumnDefinition; negated: boolean };

export interface OrderKey {
  column: ColumnDefinition;
  desc: boolean;
}

export interface FindPlan {
  where: Condition | undefined;
  /** The columns to return, in order (all columns when the query has no `fields`). */
  columns: ColumnDefinition[];
  /** The requested keys followed by the primary key (unless already present). */
  orderBy: OrderKey[];
  limit: number | undefined;
  offset: number | undefined;
}

export interface WritePlan {
  where: Condition | undefined;
  multi: boolean;
  /** True when the filter pins the primary key by equality, so at most one row can match. */
  pinsPrimaryKey: boolean;
}

export interface UpdatePlan extends WritePlan {
  /** The fields to set, validated; never empty. */
  changes: DataRecord;
}

export interface AggregatePlan {
  where: Condition | undefined;
  groupBy: ColumnDefinition[];
  aggregations: { fn: Exclude<AggregateFunction, 'array_agg' | 'string_agg'>; column: ColumnDefinition | undefined; alias: string }[];
}

/** An object definition with its columns indexed by name, checked once when an engine is built. */
export class CompiledObject {
  readonly name: string;
  readonly columns: readonly ColumnDefinition[];
  readonly primaryKey: ColumnDefinition;
  /** The primary key first, then each unique key. */
  readonly uniqueKeys: readonly (readonly string[])[];
  readonly indexes: readonly (readonly string[])[];
  private readonly byName: ReadonlyMap<string, ColumnDefinition>;

  constructor(readonly definition: ObjectDefinition) {
    const fail = (reason: string): never => {
      throw new Error(`invalid object definition ${definition.name}: ${reason}`);
    };
    if (!IDENTIFIER.test(definition.name)) fail('the name must be a snake_case identifier');
    const columns =
      definition.organizationScoped && !definition.columns.some((c) => c.name === ORGANIZATION_COLUMN.name)
        ? [...definition.columns, ORGANIZATION_COLUMN]
        : definition.columns;
    const byName = new Map<string, ColumnDefinition>();
    for (const column of columns) {
      if (!IDENTIFIER.test(column.name)) fail(`column "${column.name}" must be a snake_case identifier`);
      if (byName.has(column.name)) fail(`column "${column.name}" is defined twice`);
      byName.set(column.name, column);
    }
    this.byName = byName;
    this.name = definition.name;
    this.columns = columns;
    const keyColumns = (cols: readonly string[], what: string) => {
      if (cols.length === 0) fail(`an empty ${what}`);
      for (const c of cols) if (!byName.has(c)) fail(`${what} names unknown column "${c}"`);
      return cols;
    };
    this.primaryKey = byName.get(keyColumns([definition.primaryKey], 'primary key')[0]!)!;
    if (this.primaryKey.nullable) fail('the primary key cannot be nullable');
    this.uniqueKeys = [[this.primaryKey.name], ...(definition.uniqueKeys ?? []).map((k) => keyColumns(k, 'unique key'))];
    this.indexes = (definition.indexes ?? []).map((k) => keyColumns(k, 'index'));
    for (const column of columns) {
      if (column.default !== undefined) {
        const problem = checkValue(column, column.default);
        if (problem !== undefined) fail(`column "${column.name}" default ${problem}`);
      }
    }
  }

  /** The column, or a StoreValidationError naming the field and where it appeared. */
  column(field: string, where: string): ColumnDefinition {
    const column = this.byName.get(field);
    if (column === undefined) {
      throw new StoreValidationError(
        this.name,
        field,
        `unknown field in ${where} (known fields: ${this.columns.map((c) => c.name).join(', ')})`,
      );
    }
    return column;
  }

  has(field: string): boolean {
    return this.byName.has(field);
  }
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const ALIAS = /^[A-Za-z_][A-Za-z0-9_]*$/;
const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

/** The object definitions an engine serves, by name. */
export class ObjectRegistry {
  private readonly objects = new Map<string, CompiledObject>();

  constructor(definitions: readonly ObjectDefinition[]) {
    for (const definition of definitions) {
      if (this.objects.has(definition.name)) throw new Error(`object ${definition.name} is defined twice`);
      this.objects.set(definition.name, new CompiledObject(definition));
    }
  }

  get(object: string): CompiledObject {
    const compiled = typeof object === 'string' ? this.objects.get(object) : undefined;
    if (compiled === undefined) {
      throw new StoreValidationError(
        String(object),
        undefined,
        `unknown object (known objects: ${[...this.objects.keys()].join(', ')})`,
      );
    }
    return compiled;
  }

  all(): CompiledObject[] {
    return [...this.objects.values()];
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return isPlain(value);
}

/** The same test without narrowing, for typed option objects whose fields should keep their types. */
function isPlain(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a Date';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

/** Why `value` (not null) does not fit `column`, or undefined when it does. Dates must already be converted. */
function checkValue(column: ColumnDefinition, value: unknown): string | undefined {
  switch (column.type) {
    case 'text':
      if (typeof value !== 'string') return `expects a string, got ${describe(value)}`;
      if (column.values !== undefined && !column.values.includes(value)) {
        return `expects one of ${column.values.join(', ')}, got ${JSON.stringify(value)}`;
      }
      return undefined;
    case 'json-text':
      if (typeof value !== 'string') {
        return `expects JSON text (a string: JSON.stringify the value), got ${describe(value)}`;
      }
      try {
        JSON.parse(value);
      } catch {
        return 'expects JSON text, got a string that is not valid JSON';
      }
      return undefined;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
        return `expects a 32-bit integer, got ${describe(value)}`;
      }
      return undefined;
    case 'bigint-ms':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
        return `expects epoch milliseconds (a safe integer or a Date), got ${describe(value)}`;
      }
      return undefined;
    case 'real':
      if (typeof value !== 'number' || !Number.isFinite(value)) return `expects a finite number, got ${describe(value)}`;
      return undefined;
    case 'boolean':
      if (typeof value !== 'boolean') return `expects a boolean, got ${describe(value)}`;
      return undefined;
  }
}

/** Validates one write value; null only where the column is nullable. Dates become epoch ms for bigint-ms. */
function writeValue(object: CompiledObject, column: ColumnDefinition, value: unknown): Scalar | null {
  if (value === null) {
    if (column.nullable) return null;
    throw new StoreValidationError(object.name, column.name, 'cannot be null');
  }
  const v = column.type === 'bigint-ms' && value instanceof Date ? value.getTime() : value;
  const problem = checkValue(column, v);
  if (problem !== undefined) throw new StoreValidationError(object.name, column.name, problem);
  return v as Scalar;
}

/**
 * Validates one filter operand like a written value (so Postgres, which types parameters by column, accepts
 * exactly what SQLite and memory accept), except that `json-text` is compared as plain text.
 */
function filterValue(object: CompiledObject, column: ColumnDefinition, op: string, value: unknown): Scalar {
  const v = column.type === 'bigint-ms' && value instanceof Date ? value.getTime() : value;
  const problem =
    column.type === 'json-text' ? (typeof v === 'string' ? undefined : `expects a string, got ${describe(v)}`) : checkValue(column, v);
  if (problem !== undefined) throw new StoreValidationError(object.name, column.name, `${op} ${problem}`);
  return v as Scalar;
}

const RANGE_OPS = { $lt: 'lt', $lte: 'lte', $gt: 'gt', $gte: 'gte' } as const;
/** `not (x < v)` is `x is null or x >= v`: the complement in the two-valued semantics above. */
const RANGE_COMPLEMENT = { lt: 'gte', lte: 'gt', gt: 'lte', gte: 'lt' } as const;

function negate(c: Condition): Condition {
  switch (c.kind) {
    case 'and':
      return { kind: 'or', items: c.items.map(negate) };
    case 'or':
      return { kind: 'and', items: c.items.map(negate) };
    case 'null':
      return { ...c, negated: !c.negated };
    case 'in':
      return { ...c, negated: !c.negated };
    case 'cmp':
      if (c.op === 'eq') return { ...c, op: 'ne' };
      if (c.op === 'ne') return { ...c, op: 'eq' };
      return {
        kind: 'or',
        items: [
          { kind: 'null', column: c.column, negated: false },
          { ...c, op: RANGE_COMPLEMENT[c.op] },
        ],
      };
  }
}

function and(items: Condition[]): Condition {
  return items.length === 1 ? items[0]! : { kind: 'and', items };
}

function parseOperand(object: CompiledObject, column: ColumnDefinition, op: string, operand: unknown): Condition {
  const name = column.name;
  switch (op) {
    case '$eq':
    case '$ne': {
      if (operand === undefined) throw new StoreValidationError(object.name, name, `${op} is undefined`);
      if (operand === null) return { kind: 'null', column, negated: op === '$ne' };
      return { kind: 'cmp', column, op: op === '$eq' ? 'eq' : 'ne', value: filterValue(object, column, op, operand) };
    }
    case '$lt':
    case '$lte':
    case '$gt':
    case '$gte': {
      if (column.type === 'boolean' || column.type === 'json-text') {
        throw new StoreValidationError(object.name, name, `${op} is not supported on a ${column.type} field`);
      }
      if (operand === null || operand === undefined) {
        throw new StoreValidationError(object.name, name, `${op} needs a value, got ${String(operand)}`);
      }
      return { kind: 'cmp', column, op: RANGE_OPS[op], value: filterValue(object, column, op, operand) };
    }
    case '$in':
    case '$nin': {
      if (!Array.isArray(operand)) {
        throw new StoreValidationError(object.name, name, `${op} expects an array, got ${describe(operand)}`);
      }
      const withNull = operand.includes(null);
      const values = operand
        .filter((v) => v !== null)
        .map((v) => {
          if (v === undefined) throw new StoreValidationError(object.name, name, `${op} contains undefined`);
          return filterValue(object, column, op, v);
        });
      const positive: Condition = withNull
        ? { kind: 'or', items: [{ kind: 'null', column, negated: false }, { kind: 'in', column, values, negated: false }] }
        : { kind: 'in', column, values, negated: false };
      return op === '$in' ? positive : negate(positive);
    }
    default:
      throw new StoreValidationError(
        object.name,
        name,
        `unsupported operator ${op} (supported: $eq $ne $lt $lte $gt $gte $in $nin)`,
      );
  }
}

function parseField(object: CompiledObject, field: string, value: unknown): Condition {
  const column = object.column(field, 'where');
  if (value === undefined) {
    // `{ status: undefined }` would otherwise drop the condition and match every row.
    throw new StoreValidationError(object.name, field, 'is undefined in where (use null to match NULL)');
  }
  if (value === null) return { kind: 'null', column, negated: false };
  if (isPlainObject(value)) {
    const ops = Object.keys(value);
    if (ops.length === 0) throw new StoreValidationError(object.name, field, 'has an empty operator object in where');
    const bad = ops.find((op) => !op.startsWith('$'));
    if (bad !== undefined) {
      throw new StoreValidationError(object.name, field, `nested filter key "${bad}" is not supported (operators start with $)`);
    }
    return and(ops.map((op) => parseOperand(object, column, op, value[op])));
  }
  if (Array.isArray(value)) {
    throw new StoreValidationError(object.name, field, 'an array is not a filter value (use { $in: [...] })');
  }
  return { kind: 'cmp', column, op: 'eq', value: filterValue(object, column, '=', value) };
}

function parseFilter(object: CompiledObject, where: unknown, path: string): Condition {
  if (!isPlainObject(where)) {
    throw new StoreValidationError(object.name, undefined, `${path} must be an object, got ${describe(where)}`);
  }
  const items: Condition[] = [];
  for (const [key, value] of Object.entries(where)) {
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(value) || value.length === 0) {
        throw new StoreValidationError(object.name, undefined, `${path}.${key} must be a non-empty array of filters`);
      }
      const parts = value.map((v, i) => parseFilter(object, v, `${path}.${key}[${i}]`));
      items.push(key === '$and' ? and(parts) : parts.length === 1 ? parts[0]! : { kind: 'or', items: parts });
    } else if (key === '$not') {
      items.push(negate(parseFilter(object, value, `${path}.$not`)));
    } else if (key.startsWith('$')) {
      throw new StoreValidationError(object.name, undefined, `unsupported operator ${key} in ${path} (supported: $and $or $not)`);
    } else {
      items.push(parseField(object, key, value));
    }
  }
  return and(items);
}

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

/** Parses a `where`; undefined or `{}` means no condition. */
export function parseWhere(object: CompiledObject, where: Where | undefined): Condition | undefined {
  if (where === undefined) return undefined;
  const condition = parseFilter(object, where, 'where');
  return condition.kind === 'and' && condition.items.length === 0 ? undefined : condition;
}

function checkKeys(object: CompiledObject, options: object, allowed: readonly string[], hints: Record<string, string>): void {
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || allowed.includes(key)) continue;
    const hint = hints[key];
    throw new StoreValidationError(object.name, key, hint ?? `unknown option (supported: ${allowed.join(', ')})`);
  }
}

/** Options ObjectStack code passes that Herald's engines accept and ignore (see BaseOptions in data-engine.ts). */
const OBJECTSTACK_OPTIONS = ['context', 'bypassTenantAudit', 'tenantId'] as const;

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
  return {
    where: parseWhere(object, scopeToOrganization(object, q.where, q.tenantId)),
    columns,
    orderBy,
    limit: limit ?? top,
    offset: nonNegativeInteger(object, 'offset', q.offset),
  };
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
export function planInsertRow(object: CompiledObject, data: unknown, index?: number): DataRecord {
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
