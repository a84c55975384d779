/**
 * The faults of a chaos run: when each happens (a plan drawn from the seed), and the run itself — events
 * published evenly over the window while each fault fires on its own track.
 */
import { spawn } from 'node:child_process';
import { deliveryId as deliveryIdOf } from '../../src/delivery/ids.js';
import { projectRoot } from '../../src/embedded/project-root.js';
import { startDevServer } from '../../src/embedded/temporal-dev-server.js';
import type { RunContext } from './chaos-context.js';
import type { ChaosOptions } from './chaos-options.js';
import type { ChaosWebhooks, Expectation, Infrastructure } from './chaos-setup.js';
import { retrying, sleep } from './chaos-utils.js';
import type { WorkerSupervisor } from './worker-supervisor.js';

/** When each fault starts, in ms after the first publish; undefined = that fault is not part of the run. */
export interface FaultPlan {
  killTimes: number[];
  serverAt: number | undefined;
  receiverAt: number | undefined;
  databaseAt: number | undefined;
}

export interface FaultRecord {
  what: string;
  at: number;
  tookMs: number;
  detail?: string;
}

/** Draws the fault moments from the seeded PRNG, so a run's plan can be replayed with its seed. */
export function planFaults(opts: ChaosOptions, random: () => number): FaultPlan {
  const pick = (w: { from: number; to: number }) => Math.round(w.from + random() * (w.to - w.from));
  const killTimes: number[] = [];
  for (let guard = 0; killTimes.length < opts.workerKills && guard < 10_000; guard++) {
    const t = pick(opts.killWindow);
    if (killTimes.every((k) => Math.abs(k - t) >= opts.killWindow.minGapMs)) killTimes.push(t);
  }
  if (killTimes.length < opts.workerKills) throw new Error('cannot place the worker kills in the kill window with the minimum gap');
  killTimes.sort((a, b) => a - b);
  const serverAt = opts.serverRestart ? pick(opts.serverRestart) : undefined;
  const receiverAt = opts.receiverOutage ? pick(opts.receiverOutage) : undefined;
  const databaseAt = opts.databaseOutage ? pick(opts.databaseOutage) : undefined;
  return { killTimes, serverAt, receiverAt, databaseAt };
}

export function describePlan(opts: ChaosOptions, plan: FaultPlan, expectation: Expectation, hooks: ChaosWebhooks): string[] {
  const { killTimes, serverAt, receiverAt, databaseAt } = plan;
  return [
    `seed ${opts.seed}`,
    `${expectation.mainCount} main deliveries (${hooks.events} events × ${hooks.main.length} webhooks, published over ${opts.publishWindowMs / 1000}s), probes ${JSON.stringify(opts.probes)}`,
    `main schedule [${opts.mainSchedule.join(',')}], probe schedule [${opts.probeSchedule.join(',')}], timeout ${opts.timeoutMs}ms, delivery DB ${opts.database}`,
    `worker kill -9 at ${killTimes.map((t) => `${(t / 1000).toFixed(1)}s`).join(', ') || 'never'}`,
    `Temporal restart at ${serverAt === undefined ? 'never' : `${(serverAt / 1000).toFixed(1)}s for ${opts.serverRestart!.downMs / 1000}s`}`,
    `receiver down at ${receiverAt === undefined ? 'never' : `${(receiverAt / 1000).toFixed(1)}s for ${opts.receiverOutage!.downMs / 1000}s`}`,
    `delivery DB unavailable at ${databaseAt === undefined ? 'never' : `${(databaseAt / 1000).toFixed(1)}s for ${opts.databaseOutage!.downMs / 1000}s (${opts.database === 'postgres' ? 'Postgres stopped' : 'SQLite BEGIN EXCLUSIVE held by another process'})`}`,
  ];
}

export interface RunOutcome {
  faults: FaultRecord[];
  publishedAt: Map<string, number>;
  publishRetries: { retries: number; lastError: string | undefined };
  /** When publishing and every fault had finished, ms after the first publish. */
  faultsDoneMs: number;
}

/** Publishes everything while the faults fire; a track that throws is a violation, and the others still run. */
export async function publishThroughFaults(
  ctx: RunContext,
  infra: Infrastructure,
  hooks: ChaosWebhooks,
  expectation: Expectation,
  plan: FaultPlan,
  supervisor: WorkerSupervisor,
): Promise<RunOutcome> {
  const { log, since, stamp } = ctx;
  const faults: FaultRecord[] = [];
  const record = async (what: string, at: number, fn: () => Promise<string | undefined>) => {
    await sleep(at - since());
    const begin = since();
    log(`${stamp()} fault: ${what}`);
    const detail = await fn();
    faults.push({ what, at: begin, tookMs: since() - begin, ...(detail ? { detail } : {}) });
    log(`${stamp()} fault done: ${what}${detail ? ` (${detail})` : ''}`);
  };
  const publishedAt = new Map<string, number>();
  const publishRetries = { retries: 0, lastError: undefined as string | undefined };
  const tracks = [
    publishAll(ctx, infra, hooks, expectation, publishedAt, publishRetries),
    killTrack(ctx, plan, supervisor, record),
    serverTrack(ctx, infra, plan, record),
    receiverTrack(ctx, infra, plan, record),
    databaseTrack(ctx, infra, plan, record),
  ];
  const results = await Promise.allSettled(tracks);
  for (const r of results) if (r.status === 'rejected') ctx.violations.push(`the run itself failed: ${(r.reason as Error)?.stack ?? String(r.reason)}`);
  return { faults, publishedAt, publishRetries, faultsDoneMs: since() };
}

type RecordFault = (what: string, at: number, fn: () => Promise<string | undefined>) => Promise<void>;

async function publishAll(
  ctx: RunContext,
  infra: Infrastructure,
  hooks: ChaosWebhooks,
  expectation: Expectation,
  publishedAt: Map<string, number>,
  publishRetries: { retries: number; lastError?: string },
): Promise<void> {
  const { opts, log, since, stamp } = ctx;
  const { herald, tenantId } = infra;
  const { expected, eventIds, payloads, probeEvents } = expectation;
  // Probes first, so they live through the faults too. deliver() starts them directly (no fan-out).
  for (const p of probeEvents) {
    const webhookId = hooks.probes[p.kind].id;
    const exp = expected.get(deliveryIdOf(webhookId, p.eventId))!;
    await retrying(`deliver ${p.eventId}`, () => herald.deliveries.deliver({ tenantId, webhookId, eventId: p.eventId, eventType: `probe.${p.kind}`, payload: exp.payload }), publishRetries);
  }
  for (let e = 0; e < hooks.events; e++) {
    await sleep((e * opts.publishWindowMs) / hooks.events - since());
    const eventId = eventIds[e]!;
    publishedAt.set(eventId, Date.now());
    await retrying(`publish ${eventId}`, () => herald.events.publish({ id: eventId, tenantId, type: 'order.created', payload: payloads.get(eventId) }), publishRetries);
  }
  log(`${stamp()} all ${hooks.events} events published (${publishRetries.retries} publish retries through faults)`);
}

async function killTrack(ctx: RunContext, plan: FaultPlan, supervisor: WorkerSupervisor, record: RecordFault): Promise<void> {
  for (const [i, at] of plan.killTimes.entries()) {
    await record(`kill -9 worker (${i + 1}/${plan.killTimes.length})`, at, async () => {
      const { pid, restartMs, uptimeMs } = await supervisor.kill9AndRestart(ctx.opts.killWindow.minUptimeMs);
      return `killed pid ${pid} after ${(uptimeMs / 1000).toFixed(1)}s up, new worker ready after ${restartMs}ms`;
    });
  }
}

async function serverTrack(ctx: RunContext, infra: Infrastructure, plan: FaultPlan, record: RecordFault): Promise<void> {
  const window = ctx.opts.serverRestart;
  if (plan.serverAt === undefined || !window) return;
  await record('restart the Temporal dev server (SQLite file)', plan.serverAt, async () => {
    await infra.server.stop();
    const downAt = Date.now();
    await sleep(window.downMs);
    infra.server = await startDevServer({ binary: infra.binary, dbFile: infra.temporalDb, port: infra.temporalPort, logFile: infra.temporalLog });
    return `down ${Date.now() - downAt}ms including start-up`;
  });
}

async function receiverTrack(ctx: RunContext, infra: Infrastructure, plan: FaultPlan, record: RecordFault): Promise<void> {
  const window = ctx.opts.receiverOutage;
  if (plan.receiverAt === undefined || !window) return;
  const { main } = infra.receivers;
  await record('take the main receiver down', plan.receiverAt, async () => {
    await main.down();
    await sleep(window.downMs);
    await main.up();
    return undefined;
  });
}

async function databaseTrack(ctx: RunContext, infra: Infrastructure, plan: FaultPlan, record: RecordFault): Promise<void> {
  const window = ctx.opts.databaseOutage;
  if (plan.databaseAt === undefined || !window) return;
  const downMs = window.downMs;
  const pg = infra.postgres;
  if (pg) {
    await record('stop Postgres (the delivery DB), start it again', plan.databaseAt, async () => {
      const { downAt, upAt } = await pg.outage(downMs);
      return `unavailable ${upAt - downAt}ms`;
    });
  } else {
    await record('hold an exclusive lock on the SQLite delivery DB', plan.databaseAt, async () => {
      const file = infra.database.slice('sqlite:'.length);
      return await holdSqliteLock(file, downMs);
    });
  }
}

/**
 * Another process takes SQLite's write lock (`BEGIN EXCLUSIVE`) on the delivery database and holds it for
 * `ms`. better-sqlite3 in the worker then waits its busy timeout (5 s) on every write and fails with SQLITE_BUSY.
 * A separate process, because a second connection in this one would block this event loop in its busy handler.
 */
async function holdSqliteLock(file: string, ms: number): Promise<string> {
  const script = [
    "const Database = require('better-sqlite3');",
    `const db = new Database(${JSON.stringify(file)}, { timeout: 30000 });`,
    "db.exec('BEGIN EXCLUSIVE');",
    "process.stdout.write('locked\\n');",
    `setTimeout(() => { db.exec('COMMIT'); db.close(); process.stdout.write('released\\n'); }, ${ms});`,
  ].join('\n');
  const child = spawn(process.execPath, ['-e', script], { cwd: projectRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let lockedAt = 0;
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
    if (!lockedAt && out.includes('locked')) lockedAt = Date.now();
  });
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  if (code !== 0 || !out.includes('released')) throw new Error(`the SQLite lock holder failed (${code}): ${err.slice(-500)}`);
  return `write lock held ${Date.now() - lockedAt}ms`;
}
