/**
 * `npm run test:cluster`: Herald as docker-compose.yml runs it — `herald api` once and `herald worker` twice as
 * separate processes on the real Temporal server (several history shards, Postgres persistence and visibility)
 * — delivering 1,000 webhooks through a worker SIGKILL, a Temporal server restart and a Postgres restart.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClusterStack, type ClusterStack } from '../../scripts/cluster/cluster-stack.js';
import { COMPOSE_SERVICES, composeEnvironment, composeSearchAttributes, composeVariables, imageTag, TEST_ONLY_VARIABLES } from '../../scripts/cluster/compose-env.js';
import { TEMPORAL_SERVER_VERSION } from '../../src/embedded/temporal-server-binary.js';
import { runProductionPath, type ProductionRunReport } from './production-run.js';

const HISTORY_SHARDS = 4;
const log = (line: string) => process.stdout.write(`[cluster] ${line}\n`);

describe('the production path on a real Temporal cluster', () => {
  let stack: ClusterStack;
  let report: ProductionRunReport;

  beforeAll(async () => {
    stack = await startClusterStack({ historyShards: HISTORY_SHARDS, log });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('runs the server and Herald with exactly the compose environment, rewritten only for this machine', () => {
    expect(imageTag(stack.compose, COMPOSE_SERVICES.temporal)).toBe(TEMPORAL_SERVER_VERSION);
    for (const [svc, env] of [
      [COMPOSE_SERVICES.worker, stack.roleEnv('worker')],
      [COMPOSE_SERVICES.api, stack.roleEnv('api')],
      [COMPOSE_SERVICES.temporal, stack.temporal.env],
    ] as const) {
      const compose = composeEnvironment(stack.compose, svc, composeVariables(stack.local));
      for (const name of Object.keys(compose)) expect(env, `${svc}: ${name}`).toHaveProperty(name);
      for (const name of Object.keys(env)) expect(name in compose || name in TEST_ONLY_VARIABLES, `${svc}: ${name} is neither from compose nor a named test-only variable`).toBe(true);
    }
    // The server reads its config from these variables through the template built into it (what the
    // temporalio/server image runs): each one the compose service sets must be one the template reads.
    const template = readFileSync(stack.binaries.embeddedConfigTemplate, 'utf8');
    const read = new Set([...template.matchAll(/env "([A-Z0-9_]+)"/g)].map((m) => m[1]));
    for (const name of Object.keys(stack.temporal.env)) expect(read.has(name), `the server's config template does not read ${name}`).toBe(true);
  });

  it('delivers 1,000 webhooks exactly as signed, through a worker SIGKILL, a server restart and a Postgres restart', async () => {
    report = await runProductionPath(stack, {
      events: 100,
      // 7 healthy endpoints, 2 down for the first 45 s (503), 1 that rejects everything (400 → dead).
      webhooks: ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'flaky', 'flaky', 'reject'],
      publishWindowMs: 60_000,
      faultsAtMs: { killWorker: 8_000, restartTemporal: 22_000, restartPostgres: 42_000 },
      downMs: 3_000,
      flakyForMs: 45_000,
      // 8 attempts over ~77 s (×0.8–1.2 jitter): at least two land after the flaky window, and the faults are
      // over by then. Kept short on purpose: an attempt that dies without reporting (a killed worker, the
      // delivery table down mid-attempt) is retried on Temporal's fallback backoff, 5 s × 2^(attempt-1), not on
      // this schedule, so the 7th attempt dying means a 320 s wait; the drain allows for that.
      retrySchedule: [2, 5, 10, 15, 15, 15, 15],
      drainTimeoutMs: 8 * 60_000,
      log,
    });
    process.stdout.write(report.summary + '\n');
    expect(report.violations).toEqual([]);
    expect(report.sent).toBe(1000);
    expect(report.received).toBe(1000);
    expect(report.lost).toBe(0);
    expect(report.statuses).toEqual({ 'ok:success': 700, 'flaky:success': 200, 'reject:dead': 100 });
    for (const count of Object.values(report.workByWorker)) expect(count).toBeGreaterThan(0);
    expect(report.deadFromCli).toEqual(report.expectedDead);
    expect(report.historyShardCount).toBe(HISTORY_SHARDS);
    expect(report.serverVersion).toBe(TEMPORAL_SERVER_VERSION);
    // Herald registered its own search attributes (those the compose namespace job would register) on the
    // namespace the CLI created without them.
    const attributes = composeSearchAttributes(stack.compose);
    expect(attributes.length).toBeGreaterThan(0);
    for (const name of attributes) {
      expect(report.searchAttributesBefore).not.toContain(name);
      expect(report.searchAttributesAfter).toContain(name);
    }
  });
});
