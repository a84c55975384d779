/**
 * `where` filters: ObjectStack's operators ($eq $ne $lt $lte $gt $gte $in $nin $and $or $not, null) parsed
 * into Conditions, with `$not` pushed down to the leaves so engines only see monotone forms.
 */
import { StoreValidationError, type Where } from './data-engine.js';
import { describe, filterValue, isPlainObject } from './column-values.js';
import type { CompiledObject } from './compiled-object.js';
import type { Condition } from './plan-types.js';
import type { ColumnDefinition } from './schema.js';

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

/** Parses a `where`; undefined or `{}` means no condition. */
export function parseWhere(object: CompiledObject, where: Where | undefined): Condition | undefined {
  if (where === undefined) return undefined;
  const condition = parseFilter(object, where, 'where');
  return condition.kind === 'and' && condition.items.length === 0 ? undefined : condition;
}
