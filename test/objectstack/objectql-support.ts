/**
 * Real ObjectStack engines for tests: `ObjectQL` from `@objectstack/objectql` 17.4 with `@objectstack/driver-sql`
 * (better-sqlite3 or pg, through knex) or `@objectstack/driver-memory`, booted the way ObjectStack's own
 * integration tests boot one (new ObjectQL → registerDriver → init), with a realtime service so data events flow.
 */
import { InMemoryDriver } from '@objectstack/driver-memory';
import { SqlDriver } from '@objectstack/driver-sql';
import { ObjectQL } from '@objectstack/objectql';
import type { DataEngine } from '../../src/store/data-engine.js';
import { ObjectQLEngine } from '../../src/objectstack/objectql-engine.js';
import type { EngineHarness } from '../store/engine-contract.js';

export type AppDatabase = { kind: 'sqlite'; filename: string } | { kind: 'postgres'; url: string } | { kind: 'memory' };

/** A booted ObjectQL engine on `db`; `destroy()` it when done. */
export async function bootObjectQL(db: AppDatabase): Promise<ObjectQL> {
  // ObjectQL logs every refused write at ERROR (the contract suite provokes many on purpose): warnings and up only.
  const ql = new ObjectQL({ logger: quietLogger() });
  ql.registry.logLevel = 'warn';
  const driver =
    db.kind === 'memory'
      ? new InMemoryDriver()
      : db.kind === 'sqlite'
        ? new SqlDriver({ client: 'better-sqlite3', connection: { filename: db.filename }, useNullAsDefault: true })
        : new SqlDriver({ client: 'pg', connection: db.url, pool: { min: 0, max: 4 } });
  ql.registerDriver(driver as never, true);
  await ql.init();
  return ql;
}

/** ObjectStack's logger shape, printing warnings and errors only when HERALD_TEST_OBJECTQL_LOGS is set. */
export function quietLogger(): Record<string, unknown> {
  const verbose = process.env['HERALD_TEST_OBJECTQL_LOGS'] !== undefined;
  const print = (level: string) => (verbose ? (msg: unknown, meta?: unknown) => console.error(`objectql ${level}:`, msg, meta ?? '') : () => undefined);
  const logger: Record<string, unknown> = { trace: () => undefined, debug: () => undefined, info: () => undefined, warn: print('warn'), error: print('error'), fatal: print('fatal') };
  logger['child'] = () => logger;
  logger['withContext'] = () => logger;
  return logger;
}

/** The contract harness: every `open` is a new Herald adapter over one shared ObjectQL instance. */
export async function objectQLHarness(db: AppDatabase, cleanup: () => Promise<void> | void): Promise<EngineHarness> {
  const ql = await bootObjectQL(db);
  const opened: DataEngine[] = [];
  return {
    async open(options) {
      const engine = new ObjectQLEngine(ql, options);
      opened.push(engine);
      return engine;
    },
    // driver-memory stamps updated_at itself on every update (see objectql-engine.ts).
    stampsUpdatedAt: db.kind === 'memory',
    async dispose() {
      await Promise.all(opened.map((e) => e.close()));
      await ql.destroy();
      await cleanup();
    },
  };
}
