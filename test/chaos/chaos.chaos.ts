import { describe, expect, it } from 'vitest';
import { runChaos } from './chaos-harness.js';
import { CHAOS_DELIVERY_SETTINGS } from './chaos-options.js';
import { printChaosReport } from './chaos-summary.js';

// `npm run test:chaos` (not part of `npm test`): 1,000 deliveries in flight (HERALD_CHAOS_DELIVERIES) through
// five kill -9s of the worker, a restart of the Temporal dev server, a receiver outage and a delivery-database
// outage (HERALD_CHAOS_DB: postgres, the default, is stopped and started; sqlite is write-locked by another
// process), plus the never-answering, 50 MB and redirect-to-127.0.0.2 probes. HERALD_CHAOS_SEED replays a run's
// fault plan. See chaos-harness.ts for what each fault is and what is audited.

const deliveries = Number(process.env['HERALD_CHAOS_DELIVERIES'] ?? 1000);
const seed = Number(process.env['HERALD_CHAOS_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const database = (process.env['HERALD_CHAOS_DB'] ?? 'postgres') as 'postgres' | 'sqlite';

describe('chaos', () => {
  it(`${deliveries} deliveries survive worker kills, a Temporal restart, a receiver outage and a ${database} outage`, async () => {
    if (!Number.isInteger(deliveries) || deliveries < 10) throw new Error(`HERALD_CHAOS_DELIVERIES must be an integer ≥ 10, got ${process.env['HERALD_CHAOS_DELIVERIES']}`);
    if (database !== 'postgres' && database !== 'sqlite') throw new Error(`HERALD_CHAOS_DB must be postgres or sqlite, got ${database}`);
    // Faults are spread over the publish window (scaled a little with size) so each lands on deliveries at
    // every stage: waiting to start, mid-attempt, waiting for a retry.
    const windowMs = Math.min(120_000, Math.max(40_000, deliveries * 50));
    const report = await runChaos({
      label: `${deliveries} deliveries`,
      deliveries,
      webhooks: 10,
      publishWindowMs: windowMs,
      workerKills: 5,
      killWindow: { from: 3_000, to: windowMs + 10_000, minGapMs: 6_000, minUptimeMs: 4_000 },
      serverRestart: { from: windowMs * 0.2, to: windowMs * 0.35, downMs: 3_000 },
      receiverOutage: { from: windowMs * 0.45, to: windowMs * 0.6, downMs: 8_000 },
      databaseOutage: { from: windowMs * 0.7, to: windowMs * 0.85, downMs: 5_000 },
      database,
      probes: { silent: 3, huge: 3, redirect: 3, refused: 2 },
      ...CHAOS_DELIVERY_SETTINGS,
      drainTimeoutMs: 300_000,
      seed,
      log: (line) => console.log(line),
    });
    printChaosReport(report);
    expect(report.violations).toEqual([]);
    expect(report.stats.lost).toBe(0);
  });
});
