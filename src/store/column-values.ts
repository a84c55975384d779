/**
 * What a column accepts: one check per column type, used for written values, filter operands and defaults
 * alike, so the three engines refuse the same values with the same messages.
 */
import { StoreValidationError } from './data-engine.js';
import type { Scalar } from './plan-types.js';
import type { ColumnDefinition } from './schema.js';

/** Errors name the object; nothing else of it is needed here (and importing CompiledObject would be a cycle). */
type Named = { readonly name: string };

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return isPlain(value);
}

/** The same test without narrowing, for typed option objects whose fields should keep their types. */
export function isPlain(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a Date';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

/** Why `value` (not null) does not fit `column`, or undefined when it does. Dates must already be converted. */
export function checkValue(column: ColumnDefinition, value: unknown): string | undefined {
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
export function writeValue(object: Named, column: ColumnDefinition, value: unknown): Scalar | null {
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
export function filterValue(object: Named, column: ColumnDefinition, op: string, value: unknown): Scalar {
  const v = column.type === 'bigint-ms' && value instanceof Date ? value.getTime() : value;
  const problem =
    column.type === 'json-text' ? (typeof v === 'string' ? undefined : `expects a string, got ${describe(v)}`) : checkValue(column, v);
  if (problem !== undefined) throw new StoreValidationError(object.name, column.name, `${op} ${problem}`);
  return v as Scalar;
}
