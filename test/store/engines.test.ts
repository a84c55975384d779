/**
 * The DataEngine contract against all three engines, each over real storage: in-process maps, a SQLite file
 * in a temp dir (every engine opened is its own connection to that file) and a real Postgres server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataEngine } from '../../src/store/data-engine.js';
import { MemoryEngine, MemoryStorage } from '../../src/store/memory-engine.js';
import { PostgresEngine } from '../../src/store/postgres-engine.js';
import { SqliteEngine } from '../../src/store/sqlite-engine.js';
import { startPostgres } from '../support/postgres.js';
import { describeEngineContract, type EngineHarness } from './engine-contract.js';

/** Tracks engines so a harness can close what it opened. */
function harness(open: EngineHarness['open'], cleanup: () => Promise<void> | void): EngineHarness {
  const opened: DataEngine[] = [];
  return {
    async open(options) {
      const engine = await open(options);
      opened.push(engine);
      return engine;
    },
    async dispose() {
      await Promise.all(opened.map((e) => e.close()));
      await cleanup();
    },
  };
}

describeEngineContract('memory', async () => {
  const storage = new MemoryStorage();
  return harness(async (options) => new MemoryEngine({ ...options, storage }), () => undefined);
});

describeEngineContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-sqlite-'));
  const file = join(dir, 'herald.db');
  return harness(
    async (options) => new SqliteEngine(file, options),
    () => rmSync(dir, { recursive: true, force: true }),
  );
});

describeEngineContract('postgres', async () => {
  const server = await startPostgres();
  return harness(
    // Small pools: the race tests open twenty engines at once.
    async (options) => new PostgresEngine(server.url, { ...options, maxConnections: 4 }),
    () => server.stop(),
  );
});
