/**
 * Postgres through a pg Pool and Kysely. Guarded updates and dedup inserts are single statements, so Postgres'
 * row locks and unique indexes make them safe across any number of connections and processes.
 */
import pg from 'pg';
import { Kysely, PostgresDialect, sql, type CompiledQuery } from 'kysely';
import { type AnyKysely, type SqlDataType, SqlEngine, primaryKeyName, uniqueKeyName } from './sql-engine.js';
import type { CompiledObject } from './compiled-object.js';
import { HERALD_OBJECTS, type ColumnDefinition, type ObjectDefinition } from './schema.js';

export interface PostgresEngineOptions {
  /** The objects to serve; default HERALD_OBJECTS. */
  objects?: readonly ObjectDefinition[];
  /** Pool size; default 10. */
  maxConnections?: number;
  /**
   * Called when an idle pooled connection fails (e.g. the server restarts). pg emits these on the pool, and an
   * unhandled 'error' event would crash the process; the pool replaces the connection on next use.
   */
  onIdleError?: (error: Error) => void;
}

const DEFAULT_MAX_CONNECTIONS = 10;

/** Postgres' limit is 65535 bind parameters per statement. */
const POSTGRES_MAX_PARAMETERS = 60_000;

const UNIQUE_VIOLATION = '23505';
const INT8_OID = 20;

/** Serialises concurrent `migrate()` calls across processes (CREATE TABLE IF NOT EXISTS alone can race). */
const MIGRATION_LOCK_KEY = 0x4845_5241_4c44; // "HERALD"

/**
 * int8 (BIGINT, COUNT(*)) as a JS number rather than pg's default string: Herald's int8 values are epoch
 * milliseconds and row counts, far below 2^53.
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

export class PostgresEngine extends SqlEngine {
  protected readonly maxParameters = POSTGRES_MAX_PARAMETERS;

  /** `connectionString`: postgres://user:password@host:port/database (any libpq-style URL pg accepts). */
  constructor(connectionString: string, options: PostgresEngineOptions = {}) {
    const pool = new pg.Pool({
      connectionString,
      max: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      application_name: 'herald',
      types,
    });
    pool.on('error', (error) => options.onIdleError?.(error));
    // pg-pool listens only on idle clients: a checked-out one that the server drops (57P01 on shutdown) would throw.
    pool.on('connect', (client) => client.on('error', (error) => options.onIdleError?.(error)));
    super(new Kysely({ dialect: new PostgresDialect({ pool }) }), options.objects ?? HERALD_OBJECTS, 'postgres');
  }

  protected encodeValue(_column: ColumnDefinition, value: unknown): unknown {
    return value;
  }

  protected decodeValue(column: ColumnDefinition, value: unknown): unknown {
    // DOUBLE PRECISION, INTEGER and (with the parser above) BIGINT already arrive as numbers; this covers
    // anything else numeric-typed, e.g. a column altered to NUMERIC by hand.
    if (column.type !== 'text' && column.type !== 'json-text' && column.type !== 'boolean' && typeof value === 'string') {
      return Number(value);
    }
    return value;
  }

  protected columnDataType(column: ColumnDefinition): SqlDataType {
    switch (column.type) {
      case 'text':
      case 'json-text':
        // Bytewise collation: the same order as SQLite and the memory engine, whatever the database locale.
        return sql`text collate "C"`;
      case 'integer':
        return 'integer';
      case 'bigint-ms':
        return 'bigint';
      case 'real':
        return 'double precision';
      case 'boolean':
        return 'boolean';
    }
  }

  protected uniqueViolationFields(error: unknown, object: CompiledObject): readonly string[] | undefined {
    const e = error as { code?: unknown; constraint?: unknown; detail?: unknown } | null;
    if (e?.code !== UNIQUE_VIOLATION) return undefined;
    if (e.constraint === primaryKeyName(object)) return [object.primaryKey.name];
    for (const columns of object.uniqueKeys) {
      if (e.constraint === uniqueKeyName(object, columns)) return columns;
    }
    // A constraint Herald did not create: "Key (a, b)=(1, 2) already exists."
    const list = typeof e.detail === 'string' ? /^Key \(([^)]*)\)=/.exec(e.detail)?.[1] : undefined;
    return list === undefined ? [] : list.split(',').map((s) => s.trim().replace(/^"|"$/g, ''));
  }

  protected async executeAtomically(queries: readonly CompiledQuery[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const q of queries) await trx.executeQuery(q);
    });
  }

  protected async withMigrationLock(migrate: (db: AnyKysely) => Promise<void>): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.selectNoFrom((eb) => eb.fn('pg_advisory_xact_lock', [eb.val(MIGRATION_LOCK_KEY)]).as('locked')).execute();
      await migrate(trx);
    });
  }

  protected async currentSchema(db: AnyKysely): Promise<string | undefined> {
    const row = await db.selectNoFrom((eb) => eb.fn<string>('current_schema', []).as('schema')).executeTakeFirstOrThrow();
    return row.schema;
  }
}
