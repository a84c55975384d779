/**
 * The chaos run: real Temporal dev server (SQLite file), real delivery database (Postgres or SQLite), real
 * receivers on 127.0.0.1, and a Herald worker in a child process — then faults at seeded random moments while
 * deliveries are in flight, and a full audit afterwards. Used by chaos.chaos.ts (1,000 deliveries, every
 * fault) and chaos-small.test.ts (the CI variant).
 *
 * Faults, each real:
 * - worker: `kill -9` of the worker process, then a new one (the supervisor also restarts one that dies by itself,
 *   and reports it: an unexpected exit is a finding);
 * - Temporal: the dev server is stopped (SIGTERM to its process group) and started again on the same port and
 *   SQLite file;
 * - receiver: the main receiver stops listening (every open connection dropped: ECONNREFUSED, resets), then
 *   listens again on the same port;
 * - delivery database: Postgres is shut down (fast shutdown: sessions terminated, connections refused) and
 *   started again; or, for SQLite, another process holds `BEGIN EXCLUSIVE` on the file, so every write waits for
 *   the busy timeout and then fails with SQLITE_BUSY.
 * Probe webhooks: a receiver that accepts and never answers, one that answers with a 50 MB body, one that
 * redirects to 127.0.0.2 (outside the allow-list, which is 127.0.0.1 only), and one pointing at 127.0.0.2
 * directly (the control: the guard refuses it).
 *
 * Nothing is asserted here: every broken expectation becomes a line in `violations`, so one run reports all of
 * them; the test files assert the list is empty and print the summary.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { auditFanOuts, auditProbes, auditReceiver, auditTableAgainstTemporal, auditWorkers, drain, noteUncountedAttempts } from './chaos-audit.js';
import { createRunContext } from './chaos-context.js';
import { describePlan, planFaults, publishThroughFaults } from './chaos-faults.js';
import type { ChaosOptions, ChaosReport } from './chaos-options.js';
import { createChaosWebhooks, expectDeliveries, startInfrastructure, type Cleanup } from './chaos-setup.js';
import { chaosReport } from './chaos-summary.js';
import { seededRandom } from './chaos-utils.js';
import { WorkerSupervisor, workerCommand } from './worker-supervisor.js';

/** The run, phase by phase: set up, plan, publish through the faults, drain, audit, report. */
export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const ctx = createRunContext(opts);
  const { log } = ctx;
  const started = Date.now();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-chaos-'));
  const cleanup: Cleanup = [];
  try {
    const infra = await startInfrastructure(opts, dir, cleanup);
    const hooks = await createChaosWebhooks(opts, infra);
    const expectation = expectDeliveries(opts, hooks);
    const plan = planFaults(opts, seededRandom(opts.seed));
    log(`chaos ${opts.label}: plan\n  ${describePlan(opts, plan, expectation, hooks).join('\n  ')}`);

    const command = await workerCommand();
    cleanup.push(async () => command.remove());
    log(`worker processes run as: ${command.how}`);
    const supervisor = new WorkerSupervisor(command.args, { address: infra.address, taskQueue: infra.taskQueue, database: infra.database }, ctx.since, log);
    cleanup.push(() => supervisor.stop()); // runs first: cleanup runs in reverse
    await supervisor.start();
    const setupMs = Date.now() - started;

    ctx.startClock();
    const outcome = await publishThroughFaults(ctx, infra, hooks, expectation, plan, supervisor);
    log(`${ctx.stamp()} publishing and faults done; draining`);
    const rowsById = await drain(ctx, infra, expectation);
    const drainMs = ctx.since() - outcome.faultsDoneMs;

    const table = await auditTableAgainstTemporal(ctx, infra, expectation, rowsById);
    await noteUncountedAttempts(ctx, infra, expectation, rowsById, table.attemptLogNotes);
    await auditFanOuts(ctx, infra, hooks, expectation);
    const received = auditReceiver(ctx, infra, expectation, rowsById, table.outcomeByDelivery, outcome.publishedAt);
    const probes = auditProbes(ctx, infra, expectation, table);
    const workerPeakRssMb = auditWorkers(ctx, supervisor);
    return chaosReport(ctx, {
      infra, hooks, expectation, supervisor, outcome, table, received, probes, workerPeakRssMb,
      timings: { setupMs, drainMs, totalMs: Date.now() - started },
    });
  } finally {
    for (const fn of cleanup.reverse()) await fn().catch((err: unknown) => log(`cleanup: ${(err as Error).message}`));
    if (process.env['HERALD_CHAOS_KEEP_DIR']) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
