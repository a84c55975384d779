/**
 * The `cost` phase: what one delivery costs, counted rather than timed. Client and worker run in this process
 * (the all-in-one `herald start` shape: the client over the worker's NativeConnection, eager start requested),
 * the delivery table on SQLite behind a counting wrapper, and two groups of publishes in turn:
 *   healthy   the receiver answers 200 at once;
 *   one retry the receiver answers 503 to each delivery's first attempt, 200 to the second (schedule [0, 1]).
 * Per delivery it reports workflow starts, workflow tasks, activity tasks, local activities, timers, history
 * events, state transitions (describe()), search-attribute upserts, SQL statements (reads and writes, publisher
 * and worker apart), eager starts, and server / process CPU ms.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { NativeConnection } from '@temporalio/worker';
import { HeraldClient } from '../src/client/herald-client.js';
import { deliveryWorkflowId } from '../src/delivery/ids.js';
import type { DataEngine } from '../src/store/data-engine.js';
import { openEngine } from '../src/store/open-engine.js';
import { createSecretBox } from '../src/store/secret-box.js';
import { createWorker } from '../src/worker/create-worker.js';
import { benchActivityDeps } from './bench-activity-deps.js';
import { nowMs, sleep, type ReceiverRoute } from './bench-lib.js';
import { closedLoop, type Env } from './bench-load.js';
import { Meter, round, type PhaseResult } from './bench-runtime.js';

const READS = new Set(['find', 'findOne', 'count', 'aggregate']);
const WRITES = new Set(['insert', 'update', 'delete', 'upsert']);

/** Counts the statements callers make through an engine (each engine call is one SQL statement). */
export function countingEngine(engine: DataEngine): { engine: DataEngine; counts: { reads: number; writes: number } } {
  const counts = { reads: 0, writes: 0 };
  const wrapped = new Proxy(engine, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      return (...args: unknown[]) => {
        if (READS.has(prop)) counts.reads += 1;
        else if (WRITES.has(prop)) counts.writes += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { engine: wrapped, counts };
}

export interface CostRow {
  group: 'healthy' | 'one retry';
  deliveries: number;
  workflowStarts: number;
  eagerStarts: number;
  workflowTasks: number;
  activityTasks: number;
  localActivities: number;
  timers: number;
  historyEvents: number;
  stateTransitions: number;
  searchAttributeUpserts: number;
  sqlPublisher: { reads: number; writes: number };
  sqlWorker: { reads: number; writes: number };
  serverCpuMs: number;
  processCpuMs: number;
}

async function historyCounts(client: Client, workflowId: string) {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const count = (type: string) => (history.events ?? []).filter((e) => proto.temporal.api.enums.v1.EventType[e.eventType ?? 0] === type).length;
  const description = await client.workflow.getHandle(workflowId).describe();
  return {
    historyEvents: history.events?.length ?? 0,
    workflowTasks: count('EVENT_TYPE_WORKFLOW_TASK_COMPLETED'),
    activityTasks: count('EVENT_TYPE_ACTIVITY_TASK_STARTED'),
    localActivities: count('EVENT_TYPE_MARKER_RECORDED'),
    timers: count('EVENT_TYPE_TIMER_STARTED'),
    searchAttributeUpserts: count('EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES'),
    stateTransitions: Number(description.raw.workflowExecutionInfo?.stateTransitionCount ?? 0),
  };
}

export async function runCost(env: Env, count: number): Promise<PhaseResult> {
  const tag = randomBytes(3).toString('hex');
  const taskQueue = `bench-cost-${tag}`;
  const base = await openEngine(`sqlite:${path.join(env.tmp, `cost-${tag}.db`)}`);
  const publisherSide = countingEngine(base);
  const workerSide = countingEngine(base);
  const box = createSecretBox(env.boxKey);
  const native = await NativeConnection.connect({ address: env.server.address });
  const temporal = new Client({ connection: native });
  let starts = 0;
  let eager = 0;
  const onStarted = (s: { eager: boolean }) => {
    starts += 1;
    if (s.eager) eager += 1;
  };
  const worker = await createWorker({
    connection: native,
    namespace: 'default',
    taskQueue,
    deps: benchActivityDeps(workerSide.engine, box, { temporal, taskQueue, searchAttributes: true, eager: true, onStarted }),
    overrides: { shutdownGraceTime: '5 seconds' },
  });
  const running = worker.run();
  const herald = new HeraldClient({ temporal, store: publisherSide.engine, box, taskQueue, eagerStart: true, onDeliveryStarted: onStarted });
  const rows: CostRow[] = [];
  try {
    const routes: Record<string, ReceiverRoute> = {};
    const hooks: Record<CostRow['group'], { id: string; type: string }> = {} as never;
    for (const [group, failFirst] of [['healthy', false], ['one retry', true]] as const) {
      const route = `cost${tag}${failFirst ? 'retry' : 'ok'}`;
      const type = `bench.cost.${failFirst ? 'retry' : 'ok'}`;
      const { webhook, secret } = await herald.webhooks.create({ url: `http://127.0.0.1:${env.receiverPort}/r/${route}`, eventTypes: [type], retrySchedule: [1], retryJitter: 0 });
      routes[route] = { scheme: 'standard', secret, failFirst };
      hooks[group] = { id: webhook.id, type };
    }
    env.receiver.send({ type: 'routes', routes });
    for (const group of ['healthy', 'one retry'] as const) {
      const hook = hooks[group];
      const before = { pub: { ...publisherSide.counts }, wrk: { ...workerSide.counts }, starts, eager };
      const meter = new Meter({ server: [{ pid: env.server.process.pid, group: true }], bench: [{ pid: process.pid, group: false }] });
      const prefix = `c${tag}${group === 'healthy' ? 'h' : 'r'}_`;
      const deadline = nowMs() + env.opts.phaseTimeoutS * 1000;
      await closedLoop(count, 8, deadline, async (i) => {
        await herald.events.publish({ id: `${prefix}${i}`, type: hook.type, payload: { seq: i } });
      });
      // Done when every delivery's workflow has closed (its table row is final a moment before).
      while (nowMs() < deadline) {
        const done = await base.count('herald_deliveries', { where: { webhook_id: hook.id, status: 'success' } });
        if (done >= count) break;
        await sleep(250);
      }
      await sleep(1_000);
      const usage = meter.finish();
      const sample = await Promise.all(Array.from({ length: Math.min(10, count) }, (_, i) => historyCounts(temporal, deliveryWorkflowId(hook.id, `${prefix}${i}`))));
      const mean = (k: keyof (typeof sample)[number]) => round(sample.reduce((a, s) => a + s[k], 0) / sample.length, 2);
      const per = (n: number) => round(n / count, 2);
      rows.push({
        group,
        deliveries: count,
        workflowStarts: per(starts - before.starts),
        eagerStarts: per(eager - before.eager),
        workflowTasks: mean('workflowTasks'),
        activityTasks: mean('activityTasks'),
        localActivities: mean('localActivities'),
        timers: mean('timers'),
        historyEvents: mean('historyEvents'),
        stateTransitions: mean('stateTransitions'),
        searchAttributeUpserts: mean('searchAttributeUpserts'),
        sqlPublisher: { reads: per(publisherSide.counts.reads - before.pub.reads), writes: per(publisherSide.counts.writes - before.pub.writes) },
        sqlWorker: { reads: per(workerSide.counts.reads - before.wrk.reads), writes: per(workerSide.counts.writes - before.wrk.writes) },
        serverCpuMs: round(((usage['server']?.cpuSeconds ?? 0) * 1000) / count, 1),
        processCpuMs: round(((usage['bench']?.cpuSeconds ?? 0) * 1000) / count, 1),
      });
      process.stdout.write(`  cost ${group}: ${JSON.stringify(rows[rows.length - 1])}\n`);
    }
  } finally {
    worker.shutdown();
    await running.catch(() => undefined);
    await native.close();
    await base.close();
  }
  return {
    name: 'cost',
    kind: 'herald',
    description: `cost per delivery, ${count} healthy + ${count} needing one retry, client + worker in one process (eager start), SQLite table`,
    attempted: count * 2,
    delivered: count * 2,
    wallSeconds: 0,
    throughput: 0,
    publishRate: 0,
    latency: null,
    invalidSignatures: 0,
    duplicates: 0,
    timedOut: false,
    usage: {},
    extra: { cost: rows },
  };
}

/** The cost table as markdown rows (bench/README.md carries the latest). */
export function costTable(rows: CostRow[]): string[] {
  const lines = [
    '| per delivery | workflow starts | eager starts | workflow tasks | activity tasks | local activities | timers | history events | state transitions | SA upserts | SQL publisher (r/w) | SQL worker (r/w) | server CPU ms | process CPU ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.group} | ${r.workflowStarts} | ${r.eagerStarts} | ${r.workflowTasks} | ${r.activityTasks} | ${r.localActivities} | ${r.timers} | ${r.historyEvents} | ${r.stateTransitions} | ${r.searchAttributeUpserts} | ${r.sqlPublisher.reads} / ${r.sqlPublisher.writes} | ${r.sqlWorker.reads} / ${r.sqlWorker.writes} | ${r.serverCpuMs} | ${r.processCpuMs} |`,
    );
  }
  return lines;
}
