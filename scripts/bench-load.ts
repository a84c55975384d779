/** Load and measurement shared by every phase: the environment, receipt collection, load loops, worker processes, history profiles. */
import { type Client, type Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { type RunningDevServer } from '../src/embedded/temporal-dev-server.js';
import { nowMs, sleep, summarize, type FromReceiver, type FromWorker, type ReceiverCounts, type SelfUsage, type ToWorker, type WorkerConfig } from './bench-lib.js';
import { generateSecret, signStandardWebhook } from '../src/signing/standard-webhooks.js';
import { type Options } from './bench-options.js';
import { Child, round, type Usage, type PhaseResult, type ReceiverChild, type WorkerChild } from './bench-runtime.js';

export interface Env {
  opts: Options;
  server: RunningDevServer;
  connection: Connection;
  client: Client;
  receiver: ReceiverChild;
  receiverPort: number;
  tmp: string;
  boxKey: Buffer;
  bareBundlePath: string;
  postgres?: { url: string; stop(): Promise<void>; pid?: number };
}

/** Per-phase receipt collection: the first verified receipt of each expected key. */
export class Collector {
  readonly sentAt = new Map<string, number>();
  readonly receivedAt = new Map<string, number>();
  private readonly off: () => void;
  private waiter: { count: number; resolve: (all?: boolean) => void } | undefined;
  invalid = 0;
  stalled = false;

  constructor(source: { on(l: (m: FromReceiver | FromWorker) => void): () => void }, private readonly prefix: string) {
    this.off = source.on((m) => {
      const items = m.type === 'receipts' ? m.items.map(([k, t, ok]) => [k, t, ok] as const) : m.type === 'done' ? m.items.map(([k, t]) => [k, t, true] as const) : [];
      for (const [key, t, ok] of items) {
        if (!key.includes(this.prefix)) continue;
        if (!ok) {
          this.invalid += 1;
          continue;
        }
        if (!this.receivedAt.has(key)) this.receivedAt.set(key, t);
      }
      if (this.waiter && this.receivedAt.size >= this.waiter.count) this.waiter.resolve();
    });
  }

  /**
   * Resolves when `count` keys have arrived, at `deadline` (epoch ms), or when nothing has arrived for
   * `stallMs` (something is broken: no point waiting out the deadline); true if all arrived.
   */
  async waitFor(count: number, deadline: number, progress?: (n: number) => void, stallMs = 90_000): Promise<boolean> {
    let lastSize = this.receivedAt.size;
    let lastChange = nowMs();
    const tick = setInterval(() => {
      progress?.(this.receivedAt.size);
      if (this.receivedAt.size !== lastSize) {
        lastSize = this.receivedAt.size;
        lastChange = nowMs();
      } else if (nowMs() - lastChange > stallMs) {
        process.stdout.write(`  stalled: nothing arrived for ${stallMs / 1000} s; giving up on this phase\n`);
        this.stalled = true;
        this.waiter?.resolve(false);
      }
    }, 5_000);
    try {
      if (this.receivedAt.size >= count) return true;
      return await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), Math.max(0, deadline - nowMs()));
        this.waiter = { count, resolve: (all = true) => (clearTimeout(timer), resolve(all)) };
      });
    } finally {
      clearInterval(tick);
      this.waiter = undefined;
    }
  }

  result(): { latencies: number[]; first: number; last: number; delivered: number } {
    const latencies: number[] = [];
    let first = Infinity;
    let last = 0;
    for (const sent of this.sentAt.values()) first = Math.min(first, sent);
    for (const [key, at] of this.receivedAt) {
      const sent = this.sentAt.get(key);
      if (sent === undefined) continue;
      latencies.push(at - sent);
      last = Math.max(last, at);
    }
    return { latencies, first, last, delivered: latencies.length };
  }

  close(): void {
    this.off();
  }
}

export async function receiverCounts(receiver: ReceiverChild): Promise<{ counts: ReceiverCounts; usage: SelfUsage }> {
  const counts = receiver.next('counts');
  const usage = receiver.next('usage');
  receiver.send({ type: 'usage' });
  return { counts: (await counts).counts, usage: (await usage).usage };
}

export function progressLine(name: string, total: number, started: number) {
  return (n: number) => {
    const s = (nowMs() - started) / 1000;
    process.stdout.write(`  ${name}: ${n}/${total} delivered after ${s.toFixed(0)} s (${(n / s).toFixed(0)}/s)\n`);
  };
}

/** Runs `count` jobs with `concurrency` in flight, stopping at `deadline`. */
export async function closedLoop(count: number, concurrency: number, deadline: number, job: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  let done = 0;
  const runner = async () => {
    for (;;) {
      const i = next++;
      if (i >= count || nowMs() > deadline) return;
      await job(i);
      done += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, runner));
  return done;
}

/** Starts job i at t0 + i/rate (open loop), at most `maxInFlight` at once, stopping at `deadline`. */
export async function openLoop(count: number, rate: number, maxInFlight: number, deadline: number, job: (i: number) => Promise<void>): Promise<number> {
  const t0 = nowMs();
  let inFlight = 0;
  let done = 0;
  const all: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - nowMs();
    if (wait > 0) await sleep(wait);
    if (nowMs() > deadline) break;
    while (inFlight >= maxInFlight) await sleep(1);
    inFlight += 1;
    all.push(
      job(i).then(() => {
        inFlight -= 1;
        done += 1;
      }),
    );
  }
  await Promise.all(all);
  return done;
}


export function finishResult(a: {
  name: string;
  kind: PhaseResult['kind'];
  description: string;
  attempted: number;
  col: Collector;
  t0: number;
  publishEnd: number;
  timedOut: boolean;
  counts?: ReceiverCounts;
  usage: Record<string, Usage>;
  extra?: Record<string, unknown>;
}): PhaseResult {
  const r = a.col.result();
  const span = r.delivered > 0 ? (r.last - Math.min(a.t0, r.first)) / 1000 : (nowMs() - a.t0) / 1000;
  const result: PhaseResult = {
    name: a.name,
    kind: a.kind,
    description: a.description,
    attempted: a.attempted,
    delivered: r.delivered,
    wallSeconds: round(span, 1),
    throughput: round(r.delivered / span, 1),
    publishRate: round(a.col.sentAt.size / ((a.publishEnd - a.t0) / 1000), 1),
    latency: summarize(r.latencies),
    invalidSignatures: a.counts?.invalid ?? a.col.invalid,
    duplicates: a.counts?.duplicates ?? 0,
    ...(a.counts ? { crossChecked: a.counts.crossChecked, crossCheckDisagreements: a.counts.crossCheckDisagreements } : {}),
    timedOut: a.timedOut,
    usage: a.usage,
    ...(a.extra ? { extra: a.extra } : {}),
  };
  const per = (u: Usage | undefined) => (u && r.delivered > 0 ? round((u.cpuSeconds * 1000) / r.delivered, 2) : undefined);
  const server = per(a.usage['server']);
  const workers = per(a.usage['workers']);
  if (server !== undefined || workers !== undefined) result.cpuMsPerDelivery = { ...(server !== undefined ? { server } : {}), ...(workers !== undefined ? { workers } : {}) };
  return result;
}

// --- workers ----------------------------------------------------------------------------------------------

export async function startWorkers(env: Env, config: WorkerConfig, count: number): Promise<WorkerChild[]> {
  const children = Array.from({ length: count }, () => new Child<ToWorker, FromWorker>('bench-worker.js', `${config.mode}-worker`));
  await Promise.all(
    children.map(async (c) => {
      const ready = c.next('ready', 120_000);
      c.send({ type: 'start', config });
      await ready;
    }),
  );
  return children;
}

export async function stopWorkers(children: WorkerChild[]): Promise<SelfUsage[]> {
  const usages = await Promise.all(
    children.map(async (c) => {
      const u = c.next('usage', 10_000);
      c.send({ type: 'usage' });
      return (await u.catch(() => undefined))?.usage;
    }),
  );
  await Promise.all(children.map((c) => c.stop({ type: 'stop' })));
  return usages.filter((u): u is SelfUsage => u !== undefined);
}


export async function closedPort(): Promise<number> {
  const net = await import('node:net');
  return await new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Events by type, workflow tasks and size of one workflow's history. */
export async function historyProfile(client: Client, workflowId: string): Promise<Record<string, unknown> | undefined> {
  try {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const events = history.events ?? [];
    const byType: Record<string, number> = {};
    for (const e of events) {
      const name = (proto.temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType)).replace(/^EVENT_TYPE_/, '');
      byType[name] = (byType[name] ?? 0) + 1;
    }
    const bytes = proto.temporal.api.history.v1.History.encode(history).finish().length;
    return { workflowId, events: events.length, bytes, workflowTasks: byType['WORKFLOW_TASK_COMPLETED'] ?? 0, activities: byType['ACTIVITY_TASK_SCHEDULED'] ?? 0, markers: byType['MARKER_RECORDED'] ?? 0, byType };
  } catch (err) {
    return { workflowId, error: (err as Error).message };
  }
}


/** Herald's own Standard Webhooks signer, so the raw baseline sends what Herald sends. */
export function signStandard(secret: string, id: string, body: string): Record<string, string> {
  const timestamp = Math.floor(Date.now() / 1000);
  return { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signStandardWebhook({ id, timestamp, body, secrets: [secret] }) };
}

export function newSecret(): string {
  return generateSecret(32);
}
