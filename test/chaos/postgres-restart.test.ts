import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataEngine } from '../../src/store/data-engine.js';
import { openEngine } from '../../src/store/open-engine.js';
import { startRestartablePostgres, type RestartablePostgres } from './restartable-postgres.js';

// Found by the chaos run: a worker whose delivery DB (Postgres) was shut down crashed with an unhandled 'error'
// event ("terminating connection due to administrator command", 57P01) from a pool client that was checked out
// between two queries, where pg-pool keeps no listener. The engine must instead fail the calls made during the
// outage and recover when the server is back.

describe('Postgres engine across a server restart', () => {
  let postgres: RestartablePostgres;
  let store: DataEngine;

  beforeAll(async () => {
    postgres = await startRestartablePostgres();
    store = await openEngine(postgres.url);
  });

  afterAll(async () => {
    await store?.close().catch(() => undefined);
    await postgres?.destroy();
  });

  it('busy connections are dropped by a fast shutdown: calls fail, the process survives, calls succeed again after the restart', async () => {
    let ok = 0;
    let failed = 0;
    let running = true;
    // 20 callers keep every pooled connection busy, as a loaded worker does.
    const callers = Array.from({ length: 20 }, async () => {
      for (let i = 0; running && i < 100_000; i++) {
        try {
          await store.count('herald_deliveries', { where: { status: 'pending' } });
          ok += 1;
        } catch {
          failed += 1;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    });
    await new Promise((r) => setTimeout(r, 500));
    const before = ok;
    await postgres.stop();
    await new Promise((r) => setTimeout(r, 1_500));
    expect(failed).toBeGreaterThan(0);
    await postgres.start();
    const afterRestart = ok;
    await new Promise((r) => setTimeout(r, 1_000));
    running = false;
    await Promise.all(callers);

    expect(before).toBeGreaterThan(0);
    expect(ok).toBeGreaterThan(afterRestart);
    expect(await store.count('herald_deliveries')).toBe(0);
  }, 90_000);
});
