/** The baseline phases: raw undici, the bare workflows, ObjectStack's outbox. */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Agent, request } from 'undici';
import { HERALD_DELIVERY_STATUS, HERALD_EVENT_ID, HERALD_EVENT_TYPE, HERALD_TENANT_ID, HERALD_WEBHOOK_ID } from '../src/delivery/search-attributes.js';
import { nowMs, type FromOutbox, type OutboxConfig, type ReceiverRoute, type ToOutbox } from './bench-lib.js';
import { Child, Meter, round, type PhaseResult } from './bench-runtime.js';
import { Collector, receiverCounts, progressLine, closedLoop, openLoop, finishResult, startWorkers, stopWorkers, historyProfile, signStandard, newSecret, type Env } from './bench-load.js';

// --- raw --------------------------------------------------------------------------------------------------

export async function runRaw(env: Env, name: string, count: number): Promise<PhaseResult> {
  const { opts, receiver } = env;
  const secret = newSecret();
  receiver.send({ type: 'routes', routes: { raw: { scheme: 'standard', secret } } });
  receiver.send({ type: 'reset' });
  const prefix = `raw${randomBytes(3).toString('hex')}_`;
  const col = new Collector(receiver, prefix);
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: opts.concurrency });
  const url = `http://127.0.0.1:${env.receiverPort}/r/raw`;
  const meter = new Meter({ receiver: [{ pid: receiver.pid, group: false }], bench: [{ pid: process.pid, group: false }] });
  const deadline = nowMs() + opts.phaseTimeoutS * 1000;
  const t0 = nowMs();
  let failed = 0;
  const sent = await closedLoop(count, opts.concurrency, deadline, async (i) => {
    const key = `${prefix}${i}`;
    const body = JSON.stringify({ type: 'bench.event', timestamp: new Date().toISOString(), data: { id: key, seq: i, note: 'benchmark payload' } });
    col.sentAt.set(key, nowMs());
    const res = await request(url, { method: 'POST', headers: signStandard(secret, key, body), body, dispatcher: agent });
    await res.body.dump();
    if (res.statusCode !== 200) failed += 1;
  });
  const publishEnd = nowMs();
  const all = await col.waitFor(sent, deadline);
  const usage = meter.finish();
  await agent.close();
  const { counts } = await receiverCounts(receiver);
  col.close();
  return finishResult({ name, kind: 'raw', description: `undici.request, ${opts.concurrency} concurrent, keep-alive, signed`, attempted: count, col, t0, publishEnd, timedOut: !all, counts, usage, extra: { non200: failed } });
}


// --- bare -------------------------------------------------------------------------------------------------

export interface BareRun {
  name: string;
  count: number;
  workflowType?: 'bareWorkflow' | 'bareLocalWorkflow' | 'bareWithSearchAttributes' | 'bareWithLocalActivities';
  /** Start with Herald's five search attributes (as Herald's deliveries are). */
  searchAttributes?: boolean;
  /** Steady starts/s; undefined = closed loop at `concurrency`. */
  rate?: number;
  description?: string;
}

export async function runBare(env: Env, run: BareRun): Promise<PhaseResult> {
  const { opts, client } = env;
  const workflowType = run.workflowType ?? 'bareWorkflow';
  const taskQueue = `bench-bare-${randomBytes(3).toString('hex')}`;
  const workers = await startWorkers(env, { mode: 'bare', address: env.server.address, taskQueue, bundlePath: env.bareBundlePath, postUrl: `http://127.0.0.1:${env.receiverPort}/bare`, overrides: opts.workerOptions }, 1);
  const prefix = `bare_${taskQueue}_`;
  const col = new Collector(workers[0]!, prefix);
  const meter = new Meter({ server: [{ pid: env.server.process.pid, group: true }], workers: workers.map((w) => ({ pid: w.pid, group: false })), bench: [{ pid: process.pid, group: false }] });
  const deadline = nowMs() + opts.phaseTimeoutS * 1000;
  const t0 = nowMs();
  const job = async (i: number) => {
    const workflowId = `${prefix}${i}`;
    col.sentAt.set(workflowId, nowMs());
    await client.workflow.start(workflowType, {
      taskQueue,
      workflowId,
      args: [],
      ...(run.searchAttributes
        ? {
            typedSearchAttributes: [
              { key: HERALD_WEBHOOK_ID, value: 'wh_bench' },
              { key: HERALD_EVENT_ID, value: workflowId },
              { key: HERALD_EVENT_TYPE, value: 'bench.event' },
              { key: HERALD_TENANT_ID, value: 'default' },
              { key: HERALD_DELIVERY_STATUS, value: 'pending' },
            ],
          }
        : {}),
    });
  };
  const started = run.rate ? await openLoop(run.count, run.rate, 512, deadline, job) : await closedLoop(run.count, opts.concurrency, deadline, job);
  const publishEnd = nowMs();
  const all = await col.waitFor(started, deadline, progressLine(run.name, started, t0));
  const usage = meter.finish();
  const history = await historyProfile(client, `${prefix}0`);
  const selves = await stopWorkers(workers);
  col.close();
  usage['workers']!.maxRssMiB = round(Math.max(...selves.map((s) => s.maxRssMiB)), 0);
  const description = run.description ?? `bench/bare-workflow.ts ${workflowType}: one POST in ${workflowType === 'bareLocalWorkflow' ? 'a local' : 'an'} activity${run.rate ? `, steady ${run.rate}/s` : ''}; latency = start → POST answered`;
  return finishResult({ name: run.name, kind: 'bare', description, attempted: run.count, col, t0, publishEnd, timedOut: !all, usage, extra: { history } });
}


// --- ObjectStack ------------------------------------------------------------------------------------------

export async function runOutbox(env: Env, name: string, kind: 'memory' | 'sql', webhooks: number, count: number): Promise<PhaseResult> {
  const { opts, receiver } = env;
  const tag = randomBytes(3).toString('hex');
  const routes: Record<string, ReceiverRoute> = {};
  const targets: OutboxConfig['targets'] = [];
  for (let w = 0; w < webhooks; w++) {
    const route = `o${tag}w${w}`;
    const secret = randomBytes(24).toString('base64url');
    routes[route] = { scheme: 'objectstack', secret };
    targets.push({ url: `http://127.0.0.1:${env.receiverPort}/r/${route}`, secret, refId: `wh_${tag}_${w}` });
  }
  receiver.send({ type: 'routes', routes });
  receiver.send({ type: 'reset' });
  const prefix = `os${tag}_`;
  const keys = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
  const col = new Collector(receiver, prefix);
  const child = new Child<ToOutbox, FromOutbox>('bench-outbox.js', 'objectstack-outbox');
  const offEnq = child.on((m) => {
    if (m.type === 'enqueued') for (const [k, t] of m.items) col.sentAt.set(k, t);
  });
  const meter = new Meter({ outbox: [{ pid: child.pid, group: false }], receiver: [{ pid: receiver.pid, group: false }] });
  const deadline = nowMs() + opts.phaseTimeoutS * 1000;
  const t0 = nowMs();
  const config: OutboxConfig = { kind, ...(kind === 'sql' ? { dbFile: path.join(env.tmp, `outbox-${tag}.db`) } : {}), targets, keys, concurrency: opts.concurrency };
  let error: string | undefined;
  const failed = child.next('error', opts.phaseTimeoutS * 1000).then((m) => (error = m.message), () => undefined);
  child.send({ type: 'start', config });
  const all = await Promise.race([col.waitFor(count, deadline, progressLine(name, count, t0)), failed.then(() => false)]);
  const publishEnd = Math.max(...col.sentAt.values(), t0 + 1);
  const usage = meter.finish();
  const u = child.next('usage', 10_000);
  child.send({ type: 'usage' });
  const self = (await u.catch(() => undefined))?.usage;
  if (self && usage['outbox']) usage['outbox'].maxRssMiB = round(self.maxRssMiB, 0);
  offEnq();
  await child.stop({ type: 'stop' });
  const { counts } = await receiverCounts(receiver);
  col.close();
  const r = finishResult({
    name,
    kind: 'objectstack',
    description: `@objectstack/service-messaging HttpDispatcher (defaults) over ${kind === 'memory' ? 'MemoryHttpOutbox' : 'SqlHttpOutbox on SQLite (Herald SqliteEngine)'}, ${webhooks} webhook(s)`,
    attempted: count,
    col,
    t0,
    publishEnd,
    timedOut: !all,
    counts,
    usage,
  });
  if (error) r.error = error;
  return r;
}

