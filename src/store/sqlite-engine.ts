/**
 * The embedded default: one SQLite file through better-sqlite3 and Kysely.
 *
 * better-sqlite3 runs each statement synchronously, so a single statement (every write this engine issues
 * outside `executeAtomically`) is atomic against other connections, other engines over the same file and
 * other processes, with SQLite's lock arbitrating and `busy_timeout` absorbing contention. Nothing here holds a
 * transaction open across an `await`: with two engines on one file in one process, that would make the second
 * one block the event loop in its busy handler while the first can never finish.
 */
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, type CompiledQuery } from 'kysely';
import { type AnyKysely, type SqlDataType, SqlEngine } from './sql-engine.js';
import type { CompiledObject } from './compiled-object.js';
import { HERALD_OBJECTS, type ColumnDefinition, type ObjectDefinition } from './schema.js';

export interface SqliteEngineOptions {
  /** The objects to serve; default HERALD_OBJECTS. */
  objects?: readonly ObjectDefinition[];
  /** How long a statement waits for another connection's lock before failing with SQLITE_BUSY. */
  busyTimeoutMs?: number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

/** SQLite's default SQLITE_MAX_VARIABLE_NUMBER (32766 since 3.32), with headroom. */
const SQLITE_MAX_PARAMETERS = 30_000;

const UNIQUE_CODES = new Set(['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);

export class SqliteEngine extends SqlEngine {
  protected readonly maxParameters = SQLITE_MAX_PARAMETERS;
  protected override readonly offsetNeedsLimit = true;
  private readonly database: Database.Database;

  /** `path` is a file (created if missing; its directory must exist) or ':memory:'. */
  constructor(path: string, options: SqliteEngineOptions = {}) {
    const database = new Database(path, { timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
    // WAL lets readers run while one writer writes; NORMAL sync is durable across process crashes and only
    // risks the last commits on power loss, which the projection tolerates (Temporal history is the truth).
    // ':memory:' databases ignore WAL and stay in 'memory' mode.
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    super(new Kysely({ dialect: new SqliteDialect({ database }) }), options.objects ?? HERALD_OBJECTS, 'sqlite');
    this.database = database;
  }

  protected encodeValue(column: ColumnDefinition, value: unknown): unknown {
    if (column.type === 'boolean') return value === true ? 1 : 0;
    return value;
  }

  protected decodeValue(column: ColumnDefinition, value: unknown): unknown {
    if (column.type === 'boolean') return value === 1 || value === 1n || value === true;
    return value;
  }

  protected columnDataType(column: ColumnDefinition): SqlDataType {
    switch (column.type) {
      case 'text':
      case 'json-text':
        return 'text';
      case 'integer':
      case 'bigint-ms':
      case 'boolean':
        return 'integer';
      case 'real':
        return 'real';
    }
  }

  protected uniqueViolationFields(error: unknown, object: CompiledObject): readonly string[] | undefined {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code !== 'string' || !UNIQUE_CODES.has(code)) return undefined;
    // "UNIQUE constraint failed: herald_deliveries.event_id, herald_deliveries.webhook_id"
    const list = /constraint failed: (.*)$/.exec((error as Error).message)?.[1];
    if (list === undefined) return [];
    return list.split(',').map((part) => {
      const name = part.trim();
      return name.startsWith(`${object.name}.`) ? name.slice(object.name.length + 1) : name;
    });
  }

  protected async executeAtomically(queries: readonly CompiledQuery[]): Promise<void> {
    // better-sqlite3's transaction runs synchronously, so no other statement (or engine) can interleave.
    const statements = queries.map((q) => ({ stmt: this.database.prepare(q.sql), parameters: q.parameters }));
    this.database.transaction(() => {
      for (const { stmt, parameters } of statements) stmt.run(...parameters);
    })();
  }

  protected async withMigrationLock(migrate: (db: AnyKysely) => Promise<void>): Promise<void> {
    // Every DDL statement is idempotent (IF NOT EXISTS, add-column re-checks) and atomic on its own; see the
    // file comment for why this is not one transaction.
    await migrate(this.db);
  }

  protected async currentSchema(): Promise<string | undefined> {
    return undefined;
  }
}
