/** The Herald phases: publish (or deliver) N events through real worker processes and measure what arrives. */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { HeraldClient } from '../src/client/herald-client.js';
import { deliveryWorkflowId } from '../src/delivery/ids.js';
import { fanOutWorkflowId } from '../src/delivery/ids.js';
import type { DataEngine } from '../src/store/data-engine.js';
import { openEngine } from '../src/store/open-engine.js';
import { createSecretBox } from '../src/store/secret-box.js';
import { benchActivityDeps } from './bench-activity-deps.js';
import { nowMs, sleep, type ReceiverRoute } from './bench-lib.js';
import { type Options } from './bench-options.js';
import { Meter, round, type PhaseResult, type WorkerChild } from './bench-runtime.js';
import { Collector, receiverCounts, progressLine, closedLoop, openLoop, finishResult, startWorkers, stopWorkers, closedPort, historyProfile, type Env } from './bench-load.js';

// --- Herald -----------------------------------------------------------------------------------------------

export interface HeraldRun {
  name: string;
  description: string;
  events: number;
  webhooks: number;
  workers: number;
  /** 'publish' (events.publish → fan-out → delivery) or 'direct' (deliveries.deliver). */
  path?: 'publish' | 'direct';
  /** Steady publish rate (events/s); undefined = closed loop at `concurrency`. */
  rate?: number;
  database?: 'sqlite' | 'postgres';
  /** Run the worker inside this process (so a memory store can be shared with the client). */
  inproc?: 'sqlite' | 'memory';
  overrides?: Record<string, unknown>;
  /** Isolation: open this many deliveries to a down endpoint first. */
  down?: { deliveries: number; mode: Options['downMode']; schedule: number[] | undefined };
}

export async function runHerald(env: Env, run: HeraldRun): Promise<PhaseResult> {
  const { opts, receiver } = env;
  const tag = randomBytes(3).toString('hex');
  const taskQueue = `bench-herald-${tag}`;
  const database =
    run.inproc === 'memory' ? 'memory:' : run.database === 'postgres' ? env.postgres!.url : `sqlite:${path.join(env.tmp, `herald-${tag}.db`)}`;
  const store: DataEngine = await openEngine(database);
  const box = createSecretBox(env.boxKey);
  const herald = new HeraldClient({ temporal: env.client, store, box, taskQueue });
  const overrides = { ...opts.workerOptions, ...run.overrides };

  // Webhooks: `webhooks` healthy ones, each subscribed to its own event type, each its own receiver route.
  const routes: Record<string, ReceiverRoute> = {};
  const hooks: { id: string; type: string }[] = [];
  for (let w = 0; w < run.webhooks; w++) {
    const route = `h${tag}w${w}`;
    const type = `bench.w${w}`;
    const { webhook, secret } = await herald.webhooks.create({ url: `http://127.0.0.1:${env.receiverPort}/r/${route}`, eventTypes: [type] });
    routes[route] = { scheme: 'standard', secret };
    hooks.push({ id: webhook.id, type });
  }
  receiver.send({ type: 'routes', routes });

  // The worker(s).
  let children: WorkerChild[] = [];
  let inprocWorker: { shutdown(): void; run: Promise<void>; close(): Promise<void> } | undefined;
  if (run.inproc) {
    inprocWorker = await startInprocWorker(env, store, taskQueue, overrides);
  } else {
    children = await startWorkers(env, { mode: 'herald', address: env.server.address, taskQueue, database, boxKeyHex: env.boxKey.toString('hex'), overrides }, run.workers);
  }
  const extra: Record<string, unknown> = {};
  let deadline = nowMs() + opts.phaseTimeoutS * 1000;

  // Isolation: the down endpoint and its open deliveries, established before the healthy run is measured.
  let downHookId: string | undefined;
  if (run.down && run.down.deliveries > 0) {
    const downUrl =
      run.down.mode === 'refused' ? `http://127.0.0.1:${await closedPort()}/hook` : `http://127.0.0.1:${env.receiverPort}/${run.down.mode === '503' ? 'down' : 'hang'}`;
    const { webhook } = await herald.webhooks.create({ url: downUrl, eventTypes: ['bench.down'], ...(run.down.schedule ? { retrySchedule: run.down.schedule } : {}) });
    downHookId = webhook.id;
    const t = nowMs();
    process.stdout.write(`  isolation: opening ${run.down.deliveries} deliveries to a down endpoint (${run.down.mode}, ${downUrl})…\n`);
    // Started directly (deliveries.deliver, no fan-out workflow): the setup is not what is measured.
    await closedLoop(run.down.deliveries, opts.concurrency, deadline, async (i) => {
      await herald.deliveries.deliver({ webhookId: webhook.id, eventId: `down${tag}_${i}`, eventType: 'bench.down', payload: { seq: i } });
    });
    // Wait until every one has made its first two attempts (the fast path's, then the first retry a few seconds
    // later; with a one-attempt schedule just the first), or — once the endpoint's breaker opened and they wait
    // behind it, spending none — until all their rows exist and none changed for 5 s, so the healthy run is
    // measured while they all wait rather than during their start-up burst. Bounded.
    const settledAttempts = Math.min(2, (run.down.schedule ?? [5]).length + 1);
    const until = nowMs() + 300_000;
    let attempted = 0;
    while (nowMs() < until) {
      attempted = await store.count('herald_deliveries', { where: { webhook_id: webhook.id, attempts: { $gte: settledAttempts } } });
      if (attempted >= run.down.deliveries) break;
      const rows = await store.count('herald_deliveries', { where: { webhook_id: webhook.id } });
      const changing = await store.count('herald_deliveries', { where: { webhook_id: webhook.id, updated_at: { $gte: Date.now() - 5_000 } } });
      if (rows >= run.down.deliveries && changing === 0 && (await herald.webhooks.health(webhook.id)).state === 'open') break;
      await sleep(1_000);
    }
    const open = await store.count('herald_deliveries', { where: { webhook_id: webhook.id, status: { $in: ['pending', 'in_flight'] } } });
    extra['down'] = { mode: run.down.mode, schedule: run.down.schedule ?? 'default', deliveries: run.down.deliveries, attemptedAtLeast: { attempts: settledAttempts, deliveries: attempted }, openWhenMeasured: open, setupSeconds: round((nowMs() - t) / 1000, 1) };
    process.stdout.write(`  isolation: ${attempted} attempted, ${open} open and retrying; measuring the healthy endpoint now\n`);
    // The setup has its own deadline: the healthy run gets the phase's full time from here.
    deadline = nowMs() + opts.phaseTimeoutS * 1000;
    if (children.length > 0) {
      const u = await Promise.all(children.map(async (c) => { const m = c.next('usage'); c.send({ type: 'usage' }); return (await m).usage; }));
      extra['workerRssWithOpenDeliveriesMiB'] = round(u.reduce((a, b) => a + b.rssMiB, 0), 0);
    }
  }

  receiver.send({ type: 'reset' });
  const prefix = `e${tag}_`;
  const col = new Collector(receiver, prefix);
  const groups: Record<string, { pid: number; group: boolean | 'children' }[]> = {
    server: [{ pid: env.server.process.pid, group: true }],
    receiver: [{ pid: receiver.pid, group: false }],
    bench: [{ pid: process.pid, group: false }],
  };
  if (children.length > 0) groups['workers'] = children.map((c) => ({ pid: c.pid, group: false }));
  if (run.database === 'postgres' && env.postgres?.pid) groups['postgres'] = [{ pid: env.postgres.pid, group: 'children' }];
  const meter = new Meter(groups);
  const t0 = nowMs();
  const job = async (i: number) => {
    const hook = hooks[i % hooks.length]!;
    const id = `${prefix}${i}`;
    col.sentAt.set(id, nowMs());
    const payload = { id, seq: i, note: 'benchmark payload' };
    if (run.path === 'direct') await herald.deliveries.deliver({ webhookId: hook.id, eventId: id, eventType: hook.type, payload });
    else await herald.events.publish({ id, type: hook.type, payload });
  };
  const published = run.rate ? await openLoop(run.events, run.rate, 512, deadline, job) : await closedLoop(run.events, opts.concurrency, deadline, job);
  const publishEnd = nowMs();
  const all = await col.waitFor(published, deadline, progressLine(run.name, published, t0));
  const usage = meter.finish();

  // Let the last workflows record their results, so nothing is left mid-flight when the workers stop.
  const settle = nowMs() + 30_000;
  while (nowMs() < settle) {
    const done = await store.count('herald_deliveries', { where: { status: 'success', ...(downHookId ? { webhook_id: { $ne: downHookId } } : {}) } });
    if (done >= published) break;
    await sleep(500);
  }
  if (run.name === 'herald' || run.name === 'direct') {
    const first = hooks[0]!;
    extra['history'] = {
      delivery: await historyProfile(env.client, deliveryWorkflowId(first.id, `${prefix}0`)),
      ...(run.path === 'direct' ? {} : { fanOut: await historyProfile(env.client, fanOutWorkflowId('default', `${prefix}0`)) }),
    };
  }
  if (inprocWorker) {
    inprocWorker.shutdown();
    await inprocWorker.run.catch(() => undefined);
    await inprocWorker.close();
    usage['bench']!.maxRssMiB = round(process.resourceUsage().maxRSS / 1024, 0);
  }
  const selves = await stopWorkers(children);
  if (selves.length > 0 && usage['workers']) usage['workers'].maxRssMiB = round(selves.reduce((a, s) => a + s.maxRssMiB, 0), 0);
  const { counts } = await receiverCounts(receiver);
  col.close();
  await store.close();
  if (run.inproc) extra['note'] = 'worker ran inside the bench process: its CPU and memory are under "bench"';
  return finishResult({ name: run.name, kind: 'herald', description: run.description, attempted: run.events, col, t0, publishEnd, timedOut: !all, counts, usage, extra });
}

export async function startInprocWorker(env: Env, store: DataEngine, taskQueue: string, overrides: Record<string, unknown>) {
  const { NativeConnection } = await import('@temporalio/worker');
  const { createWorker } = await import('../src/worker/create-worker.js');
  const connection = await NativeConnection.connect({ address: env.server.address });
  const worker = await createWorker({
    connection,
    namespace: 'default',
    taskQueue,
    deps: benchActivityDeps(store, createSecretBox(env.boxKey), { temporal: env.client, taskQueue, searchAttributes: true }),
    overrides: { shutdownGraceTime: '5 seconds', ...overrides },
  });
  return { shutdown: () => worker.shutdown(), run: worker.run(), close: () => connection.close() };
}

