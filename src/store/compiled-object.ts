/**
 * Object definitions checked once when an engine is built, with their columns indexed by name, so every later
 * call can name an unknown field or object precisely.
 */
import { StoreValidationError } from './data-engine.js';
import { checkValue } from './column-values.js';
import { ORGANIZATION_COLUMN, type ColumnDefinition, type ObjectDefinition } from './schema.js';

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
