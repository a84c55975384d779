/**
 * The engine-neutral plans an engine receives once a call has been validated (query-plan.ts). Engines
 * implement these forms only, never the raw `where` / options they came from.
 */
import type { AggregateFunction, DataRecord } from './data-engine.js';
import type { ColumnDefinition } from './schema.js';

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
