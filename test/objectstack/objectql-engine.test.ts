/**
 * Herald's DataEngine contract (test/store/engine-contract.ts, the same cases as memory, SQLite and Postgres)
 * against a real ObjectStack ObjectQL engine: the SQL driver on a SQLite file and on a real Postgres, and the
 * memory driver. Engines opened from one harness are several Herald adapters over the same ObjectQL instance,
 * as several Herald components of one app would share it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UniqueViolationError } from '../../src/store/data-engine.js';
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

describe.each([
  ['driver-sql (better-sqlite3)', (dir: string) => ({ kind: 'sqlite' as const, filename: join(dir, 'big.db') })],
  ['driver-memory', () => ({ kind: 'memory' as const })],
])('ObjectQL engine beyond the contract: %s', (_name, db) => {
  it('inserts 1,500 rows in one call (chunked inside one transaction), all or nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-objectql-big-'));
    const harness = await objectQLHarness(db(dir), () => rmSync(dir, { recursive: true, force: true }));
    try {
      const engine = await harness.open();
      await engine.migrate();
      const row = (i: number) => ({ id: `ev_${String(i).padStart(5, '0')}`, event_id: `evt_${i}`, event_type: 'order.created', event_time: i, payload_json: '{}', created_at: i, updated_at: i });
      await engine.insert('herald_events', Array.from({ length: 1500 }, (_, i) => row(i)));
      expect(await engine.count('herald_events')).toBe(1500);
      expect(await engine.find('herald_events', { fields: ['id'] })).toHaveLength(1500);
      // The last chunk conflicts with a stored row: nothing of the batch is written.
      const clash = Array.from({ length: 1200 }, (_, i) => row(2000 + i));
      clash[1100] = { ...row(5000), event_id: 'evt_7' };
      await expect(engine.insert('herald_events', clash)).rejects.toBeInstanceOf(UniqueViolationError);
      expect(await engine.count('herald_events')).toBe(1500);
    } finally {
      await harness.dispose();
    }
  }, 120_000);
});
