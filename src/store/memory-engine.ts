/**
 * The in-process engine, for tests and throwaway runs. It keeps the same semantics as the SQL engines — unique
 * keys, null handling, ordering, single-row updates — so code tested against it behaves the same on SQLite and
 * Postgres. Every method body runs synchronously once validated, which is what makes a guarded update atomic here.
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
import type { Condition, OrderKey, Scalar, WritePlan } from './plan-types.js';
import { HERALD_OBJECTS, type ObjectDefinition } from './schema.js';

interface UniqueIndex {
  readonly columns: readonly string[];
  /** Key tuple (JSON) → primary key of the row holding it. Rows with a null in the key are not indexed, as in SQL. */
  readonly keys: Map<string, Scalar>;
}

interface Table {
  /** Primary key → row, rows held in API representation. */
  readonly rows: Map<Scalar, DataRecord>;
  /** The primary key first; grows when a migration adds a unique key. */
  readonly uniques: UniqueIndex[];
}

/**
 * The tables themselves. Engines built over one storage share their data the way SQL engines over one
 * database do (e.g. several "connections" in a race test, or an old and a new schema version).
 */
export class MemoryStorage {
  readonly tables = new Map<string, Table>();
}

export interface MemoryEngineOptions {
  /** The objects to serve; default HERALD_OBJECTS. */
  objects?: readonly ObjectDefinition[];
  /** Share tables with other engines; default a fresh storage of this engine's own. */
  storage?: MemoryStorage;
}

/** Code-point order, which is UTF-8 byte order: the order of SQLite's BINARY and Postgres' "C" collations. */
function compareText(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/** Nulls sort first, as in `ORDER BY … ASC NULLS FIRST`. */
export function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'string' && typeof b === 'string') return compareText(a, b);
  return Number(a) - Number(b);
}

function matches(c: Condition, row: DataRecord): boolean {
  switch (c.kind) {
    case 'and':
      return c.items.every((i) => matches(i, row));
    case 'or':
      return c.items.some((i) => matches(i, row));
    case 'null':
      return (row[c.column.name] === null) !== c.negated;
    case 'in': {
      const v = row[c.column.name];
      if (v === null) return c.negated;
      return c.values.some((x) => compareValues(v, x) === 0) !== c.negated;
    }
    case 'cmp': {
      const v = row[c.column.name];
      if (c.op === 'ne') return v === null || compareValues(v, c.value) !== 0;
      if (v === null) return false;
      const d = compareValues(v, c.value);
      switch (c.op) {
        case 'eq':
          return d === 0;
        case 'lt':
          return d < 0;
        case 'lte':
          return d <= 0;
        case 'gt':
          return d > 0;
        case 'gte':
          return d >= 0;
      }
    }
  }
}

function sortRows(rows: DataRecord[], orderBy: readonly OrderKey[]): DataRecord[] {
  return rows.sort((a, b) => {
    for (const { column, desc } of orderBy) {
      const d = compareValues(a[column.name], b[column.name]);
      if (d !== 0) return desc ? -d : d;
    }
    return 0;
  });
}

function keyOf(row: DataRecord, columns: readonly string[]): string | undefined {
  const values = columns.map((c) => row[c]);
  return values.includes(null) ? undefined : JSON.stringify(values);
}

export class MemoryEngine implements DataEngine {
  private readonly registry: ObjectRegistry;
  private readonly tables: Map<string, Table>;
  private closed = false;

  constructor(options: MemoryEngineOptions = {}) {
    this.registry = new ObjectRegistry(options.objects ?? HERALD_OBJECTS);
    this.tables = (options.storage ?? new MemoryStorage()).tables;
  }

  /** Creates missing tables; on existing ones, fills in added columns and builds added unique keys, as SQL does. */
  async migrate(): Promise<void> {
    this.open();
    for (const object of this.registry.all()) {
      let table = this.tables.get(object.name);
      if (table === undefined) {
        table = { rows: new Map(), uniques: [] };
        this.tables.set(object.name, table);
      }
      for (const row of table.rows.values()) {
        for (const column of object.columns) {
          if (column.name in row) continue;
          if (column.default === undefined && !column.nullable) {
            throw new Error(
              `cannot migrate ${object.name}: new column ${column.name} is NOT NULL without a default; ` +
                'give it a default or make it nullable',
            );
          }
          row[column.name] = column.default ?? null;
        }
      }
      for (const columns of object.uniqueKeys) {
        if (table.uniques.some((u) => u.columns.join() === columns.join())) continue;
        const keys = new Map<string, Scalar>();
        for (const [pk, row] of table.rows) {
          const key = keyOf(row, columns);
          if (key === undefined) continue;
          if (keys.has(key)) throw new UniqueViolationError(object.name, columns);
          keys.set(key, pk);
        }
        table.uniques.push({ columns, keys });
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async find<T extends DataRecord = DataRecord>(object: string, query?: QueryOptions): Promise<T[]> {
    const { compiled, table } = this.table(object);
    const plan = planFind(compiled, query);
    let rows = [...table.rows.values()];
    if (plan.where !== undefined) rows = rows.filter((r) => matches(plan.where!, r));
    sortRows(rows, plan.orderBy);
    const start = plan.offset ?? 0;
    rows = rows.slice(start, plan.limit === undefined ? undefined : start + plan.limit);
    return rows.map((r) => {
      const out: DataRecord = {};
      for (const c of plan.columns) out[c.name] = r[c.name];
      return structuredClone(out) as T;
    });
  }

  async findOne<T extends DataRecord = DataRecord>(object: string, query?: QueryOptions): Promise<T | null> {
    const rows = await this.find<T>(object, { ...query, limit: 1, top: undefined });
    return rows[0] ?? null;
  }

  insert<T extends DataRecord = DataRecord>(object: string, data: DataRecord, options?: InsertOptions): Promise<T>;
  insert<T extends DataRecord = DataRecord>(object: string, data: readonly DataRecord[], options?: InsertOptions): Promise<T[]>;
  async insert(object: string, data: DataRecord | readonly DataRecord[]): Promise<DataRecord | DataRecord[]> {
    const { compiled, table } = this.table(object);
    const { rows, many } = planInsertRows(compiled, data);
    // Check every row against the table and the rows before it, then write: all or nothing, like one INSERT.
    const pending = table.uniques.map(() => new Set<string>());
    for (const row of rows) {
      table.uniques.forEach((u, i) => {
        const key = keyOf(row, u.columns);
        if (key === undefined) return;
        if (u.keys.has(key) || pending[i]!.has(key)) throw new UniqueViolationError(compiled.name, u.columns);
        pending[i]!.add(key);
      });
    }
    const pk = compiled.primaryKey.name;
    for (const row of rows) {
      const stored = structuredClone(row);
      table.rows.set(stored[pk] as Scalar, stored);
      for (const u of table.uniques) {
        const key = keyOf(stored, u.columns);
        if (key !== undefined) u.keys.set(key, stored[pk] as Scalar);
      }
    }
    const out = rows.map((r) => structuredClone(r));
    return many ? out : out[0]!;
  }

  async update(object: string, data: DataRecord, options?: UpdateOptions): Promise<number> {
    const { compiled, table } = this.table(object);
    const plan = planUpdate(compiled, data, options);
    const targets = this.targets(compiled, table, plan);
    if (targets.length === 0) return 0;
    const pk = compiled.primaryKey.name;
    const updated = targets.map((row) => ({ ...row, ...structuredClone(plan.changes) }));
    const targetPks = new Set(targets.map((r) => r[pk] as Scalar));
    // A unique key may not collide with a row outside the update, nor with another updated row.
    for (const u of table.uniques) {
      const seen = new Set<string>();
      for (const row of updated) {
        const key = keyOf(row, u.columns);
        if (key === undefined) continue;
        const holder = u.keys.get(key);
        if (seen.has(key) || (holder !== undefined && !targetPks.has(holder))) {
          throw new UniqueViolationError(compiled.name, u.columns);
        }
        seen.add(key);
      }
    }
    for (const u of table.uniques) {
      for (const row of targets) {
        const key = keyOf(row, u.columns);
        if (key !== undefined) u.keys.delete(key);
      }
      for (const row of updated) {
        const key = keyOf(row, u.columns);
        if (key !== undefined) u.keys.set(key, row[pk] as Scalar);
      }
    }
    for (const row of updated) table.rows.set(row[pk] as Scalar, row);
    return updated.length;
  }

  async delete(object: string, options?: DeleteOptions): Promise<number> {
    const { compiled, table } = this.table(object);
    const plan = planDelete(compiled, options);
    const targets = this.targets(compiled, table, plan);
    const pk = compiled.primaryKey.name;
    for (const row of targets) {
      table.rows.delete(row[pk] as Scalar);
      for (const u of table.uniques) {
        const key = keyOf(row, u.columns);
        if (key !== undefined) u.keys.delete(key);
      }
    }
    return targets.length;
  }

  async count(object: string, query?: CountOptions): Promise<number> {
    const { compiled, table } = this.table(object);
    const where = planCount(compiled, query);
    if (where === undefined) return table.rows.size;
    let n = 0;
    for (const row of table.rows.values()) if (matches(where, row)) n++;
    return n;
  }

  async aggregate(object: string, query: AggregateOptions): Promise<DataRecord[]> {
    const { compiled, table } = this.table(object);
    const plan = planAggregate(compiled, query);
    const groups = new Map<string, DataRecord[]>();
    if (plan.groupBy.length === 0) groups.set('[]', []); // like SQL: one row even over no rows
    for (const row of table.rows.values()) {
      if (plan.where !== undefined && !matches(plan.where, row)) continue;
      const key = JSON.stringify(plan.groupBy.map((c) => row[c.name]));
      const group = groups.get(key);
      if (group === undefined) groups.set(key, [row]);
      else group.push(row);
    }
    const out: DataRecord[] = [];
    for (const rows of groups.values()) {
      const result: DataRecord = {};
      for (const c of plan.groupBy) result[c.name] = rows[0]![c.name];
      for (const a of plan.aggregations) {
        const values = a.column === undefined ? rows.map(() => 1) : rows.map((r) => r[a.column!.name]).filter((v) => v !== null);
        switch (a.fn) {
          case 'count':
            result[a.alias] = values.length;
            break;
          case 'count_distinct':
            result[a.alias] = new Set(values).size;
            break;
          case 'sum':
            result[a.alias] = values.length === 0 ? null : values.reduce((s: number, v) => s + (v as number), 0);
            break;
          case 'avg':
            result[a.alias] = values.length === 0 ? null : values.reduce((s: number, v) => s + (v as number), 0) / values.length;
            break;
          case 'min':
          case 'max': {
            const sorted = [...values].sort(compareValues);
            result[a.alias] = (a.fn === 'min' ? sorted[0] : sorted[sorted.length - 1]) ?? null;
            break;
          }
        }
      }
      out.push(result);
    }
    return sortRows(
      out,
      plan.groupBy.map((column) => ({ column, desc: false })),
    );
  }

  /** The rows an update or delete touches: all matches with multi, else the match with the lowest primary key. */
  private targets(compiled: CompiledObject, table: Table, plan: WritePlan): DataRecord[] {
    const rows = [...table.rows.values()].filter((r) => plan.where === undefined || matches(plan.where, r));
    if (plan.multi || rows.length <= 1) return rows;
    return sortRows(rows, [{ column: compiled.primaryKey, desc: false }]).slice(0, 1);
  }

  private open(): void {
    if (this.closed) throw new EngineClosedError('memory');
  }

  private table(object: string): { compiled: CompiledObject; table: Table } {
    this.open();
    const compiled = this.registry.get(object);
    const table = this.tables.get(compiled.name);
    if (table === undefined) {
      throw new StoreValidationError(compiled.name, undefined, 'table does not exist yet: call migrate() first');
    }
    return { compiled, table };
  }
}
