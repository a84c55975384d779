import { describe, expect, it } from 'vitest';
import { runChaos } from './chaos-harness.js';
import { CHAOS_DELIVERY_SETTINGS } from './chaos-options.js';
import { printChaosReport } from './chaos-summary.js';

// The CI-sized chaos run inside `npm test`: ~100 deliveries, one kill -9 of the worker, one restart of the
// Temporal dev server (SQLite file), one receiver outage, and one of each probe. Real processes and servers,
// the same audit as the full run (chaos.chaos.ts). HERALD_CHAOS_SEED replays a run's fault plan.

const seed = Number(process.env['HERALD_CHAOS_SEED'] ?? Math.floor(Math.random() * 2 ** 31));

describe('chaos (small)', () => {
  it('100 deliveries survive a worker kill -9, a Temporal restart and a receiver outage', async () => {
    const report = await runChaos({
      label: 'small (CI)',
      deliveries: 100,
      webhooks: 5,
      publishWindowMs: 12_000,
      workerKills: 1,
      killWindow: { from: 2_000, to: 6_000, minGapMs: 1_000, minUptimeMs: 2_000 },
      serverRestart: { from: 7_000, to: 9_000, downMs: 2_000 },
      receiverOutage: { from: 11_000, to: 13_000, downMs: 4_000 },
      databaseOutage: null,
      database: 'sqlite',
      probes: { silent: 1, huge: 1, redirect: 1, refused: 1 },
      ...CHAOS_DELIVERY_SETTINGS,
      drainTimeoutMs: 120_000,
      seed,
      log: (line) => console.log(line),
    });
    printChaosReport(report);
    expect(report.violations).toEqual([]);
    expect(report.stats.lost).toBe(0);
  }, 240_000);
});
