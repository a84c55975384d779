/** The chaos run's report: the summary a person reads, and the figures the tests assert on. */
import type { ReceiverAudit, TableAudit } from './chaos-audit.js';
import type { RunContext } from './chaos-context.js';
import type { RunOutcome } from './chaos-faults.js';
import type { ChaosReport } from './chaos-options.js';
import { FORBIDDEN_HOST, type ChaosWebhooks, type Expectation, type Infrastructure } from './chaos-setup.js';
import type { WorkerSupervisor } from './worker-supervisor.js';

export interface RunFindings {
  infra: Infrastructure;
  hooks: ChaosWebhooks;
  expectation: Expectation;
  supervisor: WorkerSupervisor;
  outcome: RunOutcome;
  table: TableAudit;
  received: ReceiverAudit;
  probes: { probeLines: string[]; hugeBytesWrittenMax: number };
  workerPeakRssMb: number;
  timings: { setupMs: number; drainMs: number; totalMs: number };
}

export function chaosReport(ctx: RunContext, findings: RunFindings): ChaosReport {
  const { opts, violations, notes } = ctx;
  const { infra, hooks, expectation, supervisor, outcome, table, received, probes, workerPeakRssMb, timings } = findings;
  const { main, forbidden } = infra.receivers;
  const { faults, publishRetries, faultsDoneMs } = outcome;
  const { receivedValid, duplicates, redundant, invalidSignatures, pct, slowest } = received;
  const counts = Object.entries(table.statusCounts)
    .sort()
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const summary = [
    `── chaos summary: ${opts.label} (seed ${opts.seed}) ──`,
    `sent (deliveries published):  ${expectation.mainCount} main (${hooks.events} events × ${hooks.main.length} webhooks) + ${expectation.probeEvents.length} probes`,
    `requests received (main):     ${main.requests.length}`,
    `received (distinct, valid):   ${receivedValid.size}`,
    `duplicates (same webhook-id): ${duplicates} (2xx twice or more; ${redundant} requests beyond one per delivery, incl. retries after 503s and drops)`,
    `lost:                         ${received.lostCount}`,
    `invalid signatures:           ${invalidSignatures}`,
    `final statuses:               ${counts}`,
    `table vs Temporal mismatches: ${table.mismatches.length}`,
    `faults:`,
    ...[...faults].sort((a, b) => a.at - b.at).map((f) => `  t+${(f.at / 1000).toFixed(1)}s ${f.what}${f.detail ? ` — ${f.detail}` : ''}`),
    `  worker start-ups: ${supervisor.incarnations.map((i) => (i.readyAt ? `${((i.readyAt - i.startedAt) / 1000).toFixed(1)}s` : (i.end ?? '?'))).join(', ')} (last: ${supervisor.incarnations.at(-1)?.startup ?? '?'})`,
    `  worker starts that failed and were retried: ${supervisor.startRetries}; unexpected worker exits: ${supervisor.unexpectedExits.length}`,
    `  publish/deliver calls retried through faults: ${publishRetries.retries}${publishRetries.lastError ? ` (last: ${publishRetries.lastError.slice(0, 160)})` : ''}`,
    `probes:`,
    ...probes.probeLines.map((l) => `  ${l}`),
    `  ${FORBIDDEN_HOST} receiver saw ${forbidden.arrivals.length} requests; 50 MB receiver wrote at most ${(probes.hugeBytesWrittenMax / 1e6).toFixed(2)} MB per response before the worker hung up`,
    `publish → first 2xx: p50 ${(pct(0.5) / 1000).toFixed(1)}s, p99 ${(pct(0.99) / 1000).toFixed(1)}s, max ${(pct(1) / 1000).toFixed(1)}s${slowest ? ` (${slowest.e.workflowId})` : ''}`,
    `worker peak RSS (VmHWM): ${workerPeakRssMb.toFixed(0)} MB max over ${supervisor.incarnations.length} processes (${supervisor.incarnations.map((i) => `${(i.peakRssKb / 1024).toFixed(0)}`).join('/')} MB)`,
    `timings: setup ${(timings.setupMs / 1000).toFixed(1)}s, publish+faults ${(faultsDoneMs / 1000).toFixed(1)}s, drain ${(timings.drainMs / 1000).toFixed(1)}s, total ${(timings.totalMs / 1000).toFixed(1)}s`,
    `violations: ${violations.length}`,
  ].join('\n');
  return {
    summary,
    violations,
    notes,
    stats: {
      mainDeliveries: expectation.mainCount,
      requests: main.requests.length,
      distinctReceived: receivedValid.size,
      duplicates,
      lost: received.lostCount,
      invalidSignatures,
      statusCounts: table.statusCounts,
      workerPeakRssMb,
      hugeBytesWrittenMax: probes.hugeBytesWrittenMax,
      totalMs: timings.totalMs,
    },
  };
}

/** Prints a finished run's summary and notes for the person reading the test output. */
export function printChaosReport(report: ChaosReport): void {
  console.log(report.summary);
  for (const note of report.notes) console.log(`note: ${note}`);
}
