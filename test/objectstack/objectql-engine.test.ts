/**
 * Herald's DataEngine contract (test/store/engine-contract.ts, the same cases as memory, SQLite and Postgres)
 * against a real ObjectStack ObjectQL engine: the SQL driver on a SQLite file and on a real Postgres, and the
 * memory driver. Engines opened from one harness are several Herald adapters over the same ObjectQL instance,
 * as several Herald components of one app would share it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEngineContract } from '../store/engine-contract.js';
import { startPostgres } from '../support/postgres.js';
import { objectQLHarness } from './objectql-support.js';

describeEngineContract('objectql + driver-sql (better-sqlite3)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-objectql-'));
  return objectQLHarness({ kind: 'sqlite', filename: join(dir, 'app.db') }, () => rmSync(dir, { recursive: true, force: true }));
});

describeEngineContract('objectql + driver-memory', async () => objectQLHarness({ kind: 'memory' }, () => undefined));

describeEngineContract('objectql + driver-sql (postgres)', async () => {
  const server = await startPostgres();
  return objectQLHarness({ kind: 'postgres', url: server.url }, () => server.stop());
});
