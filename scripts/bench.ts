/**
 * `npm run bench`: Herald's delivery throughput, latency and cost, measured against baselines run in the same
 * invocation on the same machine, and reported as ratios (absolute figures drift on shared machines).
 *
 * It starts its own Temporal dev server (SQLite file, WAL pragmas: startDevServer), a signature-verifying
 * receiver on 127.0.0.1 (its own process), and per phase fresh worker processes, then runs the phases below.
 * All traffic stays on 127.0.0.1; every load loop is bounded by a count and a deadline and stops by itself.
 *
 *   baselines  raw          undici.request POSTs (signed) to the receiver at the same concurrency: the HTTP ceiling
 *              bare         bench/bare-workflow.ts (one no-op activity) on the same server: the Temporal ceiling
 *              os-mem-50/1  ObjectStack HttpDispatcher over MemoryHttpOutbox, 50 webhooks / 1 webhook
 *              os-sql-50/1  … over SqlHttpOutbox on SQLite (durable, like Herald)
 *   Herald     herald       publish N events round-robin over 50 webhooks (one delivery each), end to end
 *              herald-1     the same, all to one webhook
 *   variants   workers      Herald with 2 and 4 worker processes (--workers)
 *              rate         Herald at steady publish rates (--rates), latency at each
 *              isolation    a healthy endpoint measured while another one is down with many retrying deliveries
 *              postgres     Herald with its delivery table on Postgres (embedded) instead of SQLite
 *   profiling  direct       herald.deliveries.deliver (no fan-out workflow) instead of events.publish
 *              inproc       client + worker in one process, delivery table on SQLite, then on memory (mirror cost)
 *              shape        bare + Herald's search attributes, bare + Herald's local activities (server cost of each)
 *              tuning       Herald with the worker option sets of --tuning
 *
 *   npm run bench                                    # the default set (about 10 minutes on 2 cores)
 *   npm run bench -- --profile                       # + direct, inproc, shape, tuning (about 6 more)
 *   npm run bench -- --events 10000 --phases herald,bare
 *   npm run bench -- --phases isolation --down-deliveries 10000
 *   npm run bench -- --help
 *
 * Writes bench/results/<date>.json, .md and .png (the chart; `--docs` also copies it to docs/bench.png).
 */
import { fork, execFileSync, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { bundleWorkflowCode } from '@temporalio/worker';
import { Agent, request } from 'undici';
import { HeraldClient } from '../src/client/herald-client.js';
import { deliveryWorkflowId } from '../src/client/ids.js';
import { HERALD_DELIVERY_STATUS, HERALD_EVENT_ID, HERALD_EVENT_TYPE, HERALD_TENANT_ID, HERALD_WEBHOOK_ID } from '../src/workflows/search-attributes.js';
import { fanOutWorkflowId } from '../src/client/events-api.js';
import { projectRoot } from '../src/embedded/project-root.js';
import { resolveTemporalBinary } from '../src/embedded/temporal-binaries.js';
import { startDevServer, type RunningDevServer } from '../src/embedded/temporal-dev-server.js';
import type { DataEngine } from '../src/store/data-engine.js';
import { openEngine } from '../src/store/open-engine.js';
import { createSecretBox } from '../src/store/secret-box.js';
import { renderChart } from './bench-chart.js';
import {
  listProcesses,
  machineBusySeconds,
  nowMs,
  sampleGroup,
  sleep,
  summarize,
  type FromOutbox,
  type FromReceiver,
  type FromWorker,
  type LatencySummary,
  type OutboxConfig,
  type ReceiverCounts,
  type ReceiverRoute,
  type SelfUsage,
  type ToOutbox,
  type ToReceiver,
  type ToWorker,
  type WorkerConfig,
} from './bench-lib.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = projectRoot();

// ---------------------------------------------------------------------------------------------------------
// Options

const ALL_PHASES = ['raw', 'bare', 'herald', 'herald-1', 'os-mem-50', 'os-mem-1', 'os-sql-50', 'os-sql-1', 'workers', 'rate', 'isolation', 'postgres', 'direct', 'inproc', 'shape', 'tuning'] as const;
type PhaseName = (typeof ALL_PHASES)[number];
const DEFAULT_PHASES: PhaseName[] = ['raw', 'bare', 'herald', 'herald-1', 'os-mem-50', 'os-mem-1', 'os-sql-50', 'os-sql-1', 'workers', 'rate', 'isolation', 'postgres'];
/** Added by --profile. */
const PROFILE_PHASES: PhaseName[] = ['direct', 'inproc', 'shape', 'tuning'];

interface Options {
  events: number;
  rawEvents: number;
  /** Events for the single-webhook runs and each variant (workers, postgres, direct, inproc, tuning, isolation's healthy run). */
  variantEvents: number;
  outboxEvents: number;
  outboxSingleEvents: number;
  concurrency: number;
  webhooks: number;
  workers: number[];
  rates: number[];
  rateSeconds: number;
  downDeliveries: number;
  downMode: 'refused' | '503' | 'hang';
  downSchedule: number[] | undefined;
  phases: PhaseName[];
  workerOptions: Record<string, unknown>;
  tuning: Record<string, unknown>[];
  phaseTimeoutS: number;
  docs: boolean;
  out: string;
}

const HELP = `npm run bench -- [flags]
  --events N              events for the main Herald run and the bare-workflow baseline (default 1000; the issue's figure is 10000)
  --raw-events N          requests for the raw undici baseline (default 10000)
  --variant-events N      events for herald-1, workers, postgres, direct, inproc, shape, tuning and the isolation runs (default 400)
  --outbox-events N       deliveries for the ObjectStack 50-webhook runs (default 5000)
  --outbox-single-events N  deliveries for the ObjectStack 1-webhook runs (default 640: 10 s at its designed 64/s)
  --concurrency N         concurrent publishers / starters / raw requests (default 32)
  --webhooks N            webhooks in the "many" runs (default 50)
  --workers 1,2,4         worker processes for the workers variant (1 is the main run)
  --rates 50,200          steady publish rates (events/s) for the rate variant (default: 50 % and 90 % of the herald run's throughput)
  --rate-seconds S        how long each steady rate runs (default 20)
  --down-deliveries N     open retrying deliveries to the down endpoint in the isolation run (default 2000)
  --down-mode M           refused (connection refused, default) | 503 | hang (never answers; 15 s timeout)
  --down-schedule 0,5,…   retry schedule (s) of the down webhook (default: Herald's default schedule)
  --phases a,b,…          any of: ${ALL_PHASES.join(', ')}
                          (default: ${DEFAULT_PHASES.join(', ')})
  --profile               add the profiling phases: ${PROFILE_PHASES.join(', ')}
  --worker-options JSON   Temporal WorkerOptions merged into every Herald worker (e.g. '{"maxCachedWorkflows":500}')
  --tuning JSON[]         option sets tried by the tuning phase (default: a built-in list)
  --phase-timeout S       deadline of each phase's load loop and wait (default 600)
  --docs                  also copy the chart to docs/bench.png
  --out DIR               results directory (default bench/results)`;

const DEFAULT_TUNING: Record<string, unknown>[] = [
  { maxConcurrentWorkflowTaskPolls: 4, maxConcurrentActivityTaskPolls: 4 },
  { maxConcurrentWorkflowTaskExecutions: 100, maxConcurrentWorkflowTaskPolls: 20, maxConcurrentActivityTaskExecutions: 200, maxConcurrentActivityTaskPolls: 20 },
  { maxCachedWorkflows: 100 },
];

function parseArgs(argv: string[]): Options {
  const o: Options = {
    // Sized so the default set takes about 10 minutes on a 2-core machine, where Herald on the SQLite dev
    // server does tens of deliveries/s (the issue's 10,000 events alone would take 10+ minutes): --events 10000.
    events: 1_000,
    rawEvents: 10_000,
    variantEvents: 400,
    outboxEvents: 5_000,
    outboxSingleEvents: 640,
    concurrency: 32,
    webhooks: 50,
    workers: [1, 2, 4],
    rates: [],
    rateSeconds: 20,
    downDeliveries: 2_000,
    downMode: 'refused',
    downSchedule: undefined,
    phases: [...DEFAULT_PHASES],
    workerOptions: {},
    tuning: DEFAULT_TUNING,
    phaseTimeoutS: 600,
    docs: false,
    out: path.join(ROOT, 'bench', 'results'),
  };
  const int = (flag: string, v: string | undefined, min = 1): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`${flag}: expected an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
  const list = (flag: string, v: string | undefined, min = 1) => (v ?? '').split(',').filter(Boolean).map((x) => int(flag, x, min));
  const json = (flag: string, v: string | undefined): unknown => {
    try {
      return JSON.parse(v ?? '');
    } catch {
      throw new Error(`${flag}: expected JSON, got ${JSON.stringify(v)}`);
    }
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => argv[++i];
    switch (flag) {
      case '--events': o.events = int(flag, value()); break;
      case '--raw-events': o.rawEvents = int(flag, value()); break;
      case '--variant-events': o.variantEvents = int(flag, value()); break;
      case '--outbox-events': o.outboxEvents = int(flag, value()); break;
      case '--outbox-single-events': o.outboxSingleEvents = int(flag, value()); break;
      case '--concurrency': o.concurrency = int(flag, value()); break;
      case '--webhooks': o.webhooks = int(flag, value()); break;
      case '--workers': o.workers = list(flag, value()); break;
      case '--rates': o.rates = list(flag, value()); break;
      case '--rate-seconds': o.rateSeconds = int(flag, value()); break;
      case '--down-deliveries': o.downDeliveries = int(flag, value(), 0); break;
      case '--down-mode': {
        const m = value();
        if (m !== 'refused' && m !== '503' && m !== 'hang') throw new Error(`--down-mode: refused, 503 or hang, got ${JSON.stringify(m)}`);
        o.downMode = m;
        break;
      }
      case '--down-schedule': o.downSchedule = list(flag, value(), 0); break;
      case '--phases': {
        const names = (value() ?? '').split(',').filter(Boolean);
        for (const n of names) if (!(ALL_PHASES as readonly string[]).includes(n)) throw new Error(`--phases: unknown phase ${JSON.stringify(n)} (known: ${ALL_PHASES.join(', ')})`);
        o.phases = names as PhaseName[];
        break;
      }
      case '--worker-options': o.workerOptions = json(flag, value()) as Record<string, unknown>; break;
      case '--tuning': o.tuning = json(flag, value()) as Record<string, unknown>[]; break;
      case '--phase-timeout': o.phaseTimeoutS = int(flag, value()); break;
      case '--profile': for (const p of PROFILE_PHASES) if (!o.phases.includes(p)) o.phases.push(p); break;
      case '--docs': o.docs = true; break;
      case '--out': o.out = path.resolve(value() ?? ''); break;
      case '--help': case '-h': console.log(HELP); process.exit(0); break;
      default: throw new Error(`unknown flag ${flag}\n\n${HELP}`);
    }
  }
  return o;
}

// ---------------------------------------------------------------------------------------------------------
// Results

interface Usage {
  /** CPU seconds used during the phase / wall seconds: cores busy on average. */
  cores: number;
  cpuSeconds: number;
  /** Peak resident set during the phase (sampled every 250 ms), MiB. */
  peakRssMiB: number;
  /** For child processes: resourceUsage().maxRSS at the end (fresh processes per phase), MiB. */
  maxRssMiB?: number;
}

export interface PhaseResult {
  name: string;
  kind: 'raw' | 'bare' | 'herald' | 'objectstack';
  description: string;
  /** What was sent (events, workflows, requests, enqueued rows). */
  attempted: number;
  /** Verified receipts (or finished activities for bare). */
  delivered: number;
  wallSeconds: number;
  /** delivered / (last receipt − first publish). */
  throughput: number;
  /** How fast the producers got their calls accepted (publish / start / enqueue). */
  publishRate: number;
  latency: LatencySummary | null;
  invalidSignatures: number;
  duplicates: number;
  crossChecked?: number;
  crossCheckDisagreements?: number;
  timedOut: boolean;
  usage: {
    server?: Usage;
    workers?: Usage;
    receiver?: Usage;
    bench?: Usage;
    /** CPU used by processes that are not the bench's during the phase. */
    others?: Usage;
    outbox?: Usage;
    postgres?: Usage;
  };
  /** Per delivery, ms of CPU. */
  cpuMsPerDelivery?: { server?: number; workers?: number };
  extra?: Record<string, unknown>;
  error?: string;
}

// ---------------------------------------------------------------------------------------------------------
// Child processes

class Child<To, From extends { type: string }> {
  readonly proc: ChildProcess;
  private readonly listeners = new Set<(m: From) => void>();
  readonly exited: Promise<void>;

  constructor(script: string, name: string) {
    this.proc = fork(path.join(HERE, script), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced', env: { ...process.env, BENCH_CHILD: name } });
    this.proc.on('message', (m: From) => {
      for (const l of [...this.listeners]) l(m);
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', () => resolve()));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  send(m: To): void {
    if (this.proc.connected) this.proc.send(m as object);
  }

  on(l: (m: From) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** The next message of `type`; rejects on an 'error' message, exit, or after `timeoutMs`. */
  next<T extends From['type']>(type: T, timeoutMs = 120_000): Promise<Extract<From, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => (off(), reject(new Error(`no '${type}' from ${this.proc.spawnargs.join(' ')} within ${timeoutMs} ms`))), timeoutMs);
      const off = this.on((m) => {
        if (m.type === type) {
          clearTimeout(timer);
          off();
          resolve(m as Extract<From, { type: T }>);
        } else if (m.type === 'error') {
          clearTimeout(timer);
          off();
          reject(new Error(String((m as unknown as { message: string }).message)));
        }
      });
      void this.exited.then(() => {
        clearTimeout(timer);
        off();
        reject(new Error(`${path.basename(this.proc.spawnargs[1] ?? '')} exited`));
      });
    });
  }

  async stop(stopMessage: To, graceMs = 15_000): Promise<void> {
    this.send(stopMessage);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

type ReceiverChild = Child<ToReceiver, FromReceiver>;
type WorkerChild = Child<ToWorker, FromWorker>;

// ---------------------------------------------------------------------------------------------------------
// Sampling CPU and memory over a phase

class Meter {
  private readonly started = nowMs();
  private readonly start: Map<string, number> = new Map();
  private readonly peaks: Map<string, number> = new Map();
  private readonly timer: NodeJS.Timeout;
  private readonly machineStart = machineBusySeconds();

  constructor(private readonly groups: Record<string, { pid: number; group: boolean | 'children' }[]>) {
    for (const [name, pids] of Object.entries(groups)) this.start.set(name, this.read(pids).cpu);
    this.timer = setInterval(() => this.sample(), 250);
    this.sample();
  }

  private read(pids: { pid: number; group: boolean | 'children' }[]) {
    let cpu = 0;
    let rss = 0;
    for (const p of pids) {
      const s = sampleGroup(p.pid, p.group);
      cpu += s.cpuSeconds;
      rss += s.rssMiB;
    }
    return { cpu, rss };
  }

  private sample(): void {
    for (const [name, pids] of Object.entries(this.groups)) {
      const { rss } = this.read(pids);
      this.peaks.set(name, Math.max(this.peaks.get(name) ?? 0, rss));
    }
  }

  finish(): Record<string, Usage> {
    clearInterval(this.timer);
    this.sample();
    const wall = (nowMs() - this.started) / 1000;
    const out: Record<string, Usage> = {};
    let ours = 0;
    for (const [name, pids] of Object.entries(this.groups)) {
      const cpu = this.read(pids).cpu - (this.start.get(name) ?? 0);
      ours += cpu;
      out[name] = { cores: round(cpu / wall, 2), cpuSeconds: round(cpu, 1), peakRssMiB: round(this.peaks.get(name) ?? 0, 0) };
    }
    // Everything else on the machine (other people's test runs on a shared box): it skews absolute figures.
    const others = Math.max(0, machineBusySeconds() - this.machineStart - ours);
    out['others'] = { cores: round(others / wall, 2), cpuSeconds: round(others, 1), peakRssMiB: 0 };
    return out;
  }
}

function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

// ---------------------------------------------------------------------------------------------------------
// The bench

interface Env {
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
class Collector {
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

async function receiverCounts(receiver: ReceiverChild): Promise<{ counts: ReceiverCounts; usage: SelfUsage }> {
  const counts = receiver.next('counts');
  const usage = receiver.next('usage');
  receiver.send({ type: 'usage' });
  return { counts: (await counts).counts, usage: (await usage).usage };
}

function progressLine(name: string, total: number, started: number) {
  return (n: number) => {
    const s = (nowMs() - started) / 1000;
    process.stdout.write(`  ${name}: ${n}/${total} delivered after ${s.toFixed(0)} s (${(n / s).toFixed(0)}/s)\n`);
  };
}

/** Runs `count` jobs with `concurrency` in flight, stopping at `deadline`. */
async function closedLoop(count: number, concurrency: number, deadline: number, job: (i: number) => Promise<void>): Promise<number> {
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
async function openLoop(count: number, rate: number, maxInFlight: number, deadline: number, job: (i: number) => Promise<void>): Promise<number> {
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

function signStandard(secret: string, id: string, body: string): Record<string, string> {
  const ts = Math.floor(Date.now() / 1000).toString();
  const sig = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64')).update(`${id}.${ts}.${body}`).digest('base64');
  return { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': `v1,${sig}` };
}

function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

// --- raw --------------------------------------------------------------------------------------------------

async function runRaw(env: Env, name: string, count: number): Promise<PhaseResult> {
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

function finishResult(a: {
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

async function startWorkers(env: Env, config: WorkerConfig, count: number): Promise<WorkerChild[]> {
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

async function stopWorkers(children: WorkerChild[]): Promise<SelfUsage[]> {
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

// --- bare -------------------------------------------------------------------------------------------------

interface BareRun {
  name: string;
  count: number;
  workflowType?: 'bareWorkflow' | 'bareWithSearchAttributes' | 'bareWithLocalActivities';
  /** Start with Herald's five search attributes (as Herald's deliveries are). */
  searchAttributes?: boolean;
  /** Steady starts/s; undefined = closed loop at `concurrency`. */
  rate?: number;
  description?: string;
}

async function runBare(env: Env, run: BareRun): Promise<PhaseResult> {
  const { opts, client } = env;
  const workflowType = run.workflowType ?? 'bareWorkflow';
  const taskQueue = `bench-bare-${randomBytes(3).toString('hex')}`;
  const workers = await startWorkers(env, { mode: 'bare', address: env.server.address, taskQueue, bundlePath: env.bareBundlePath, overrides: opts.workerOptions }, 1);
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
  const description = run.description ?? `bench/bare-workflow.ts ${workflowType}: one no-op activity${run.rate ? `, steady ${run.rate}/s` : ''}; latency = start → activity ran`;
  return finishResult({ name: run.name, kind: 'bare', description, attempted: run.count, col, t0, publishEnd, timedOut: !all, usage, extra: { history } });
}

// --- Herald -----------------------------------------------------------------------------------------------

interface HeraldRun {
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

async function runHerald(env: Env, run: HeraldRun): Promise<PhaseResult> {
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
  const deadline = nowMs() + opts.phaseTimeoutS * 1000;

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
    // Wait until every one has failed its first attempt (each has a row with attempts ≥ 1), bounded.
    const until = Math.min(deadline, nowMs() + 300_000);
    let attempted = 0;
    while (nowMs() < until) {
      attempted = await store.count('herald_deliveries', { where: { webhook_id: webhook.id, attempts: { $gte: 1 } } });
      if (attempted >= run.down.deliveries) break;
      await sleep(1_000);
    }
    const open = await store.count('herald_deliveries', { where: { webhook_id: webhook.id, status: { $in: ['pending', 'in_flight'] } } });
    extra['down'] = { mode: run.down.mode, schedule: run.down.schedule ?? 'default', deliveries: run.down.deliveries, attemptedAtLeastOnce: attempted, openWhenMeasured: open, setupSeconds: round((nowMs() - t) / 1000, 1) };
    process.stdout.write(`  isolation: ${attempted} attempted, ${open} open and retrying; measuring the healthy endpoint now\n`);
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

async function startInprocWorker(env: Env, store: DataEngine, taskQueue: string, overrides: Record<string, unknown>) {
  const { NativeConnection } = await import('@temporalio/worker');
  const { createWorker } = await import('../src/worker/create-worker.js');
  const [{ createGuardedDispatcher }, { parseEgressAllowList }] = await Promise.all([import('../src/egress/guarded-dispatcher.js'), import('../src/egress/allow-list.js')]);
  const { pino } = await import('pino');
  const connection = await NativeConnection.connect({ address: env.server.address });
  const worker = await createWorker({
    connection,
    namespace: 'default',
    taskQueue,
    deps: {
      store,
      box: createSecretBox(env.boxKey),
      starter: { temporal: env.client, taskQueue, searchAttributes: true },
      dispatcher: createGuardedDispatcher({ allow: parseEgressAllowList('127.0.0.1') }),
      clock: Date.now,
      random: Math.random,
      logger: pino({ level: 'silent' }),
      userAgent: 'Herald/bench',
    },
    overrides: { shutdownGraceTime: '5 seconds', ...overrides },
  });
  return { shutdown: () => worker.shutdown(), run: worker.run(), close: () => connection.close() };
}

async function closedPort(): Promise<number> {
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
async function historyProfile(client: Client, workflowId: string): Promise<Record<string, unknown> | undefined> {
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

// --- ObjectStack ------------------------------------------------------------------------------------------

async function runOutbox(env: Env, name: string, kind: 'memory' | 'sql', webhooks: number, count: number): Promise<PhaseResult> {
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

// ---------------------------------------------------------------------------------------------------------
// Report

interface Target {
  target: string;
  measured: string;
  met: boolean | null;
  detail: string;
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b !== undefined && b > 0 ? round(a / b, 2) : undefined;
}

function evaluate(results: PhaseResult[], opts: Options): { ratios: Record<string, number | undefined>; targets: Target[] } {
  const get = (n: string) => results.find((r) => r.name === n && !r.error && r.delivered > 0);
  const herald = get('herald');
  const herald1 = get('herald-1');
  const raw = get('raw');
  const bare = get('bare');
  const osSql50 = get('os-sql-50');
  const osSql1 = get('os-sql-1');
  const osMem50 = get('os-mem-50');
  const osMem1 = get('os-mem-1');
  const steadyBare = results.find((r) => r.name.startsWith('bare-rate-') && r.delivered > 0);
  const steadyHerald = steadyBare ? get(steadyBare.name.replace(/^bare-/, '')) : undefined;
  const iso = get('isolation');
  const isoControl = get('isolation-control');
  const ratios: Record<string, number | undefined> = {
    'herald / raw undici': ratio(herald?.throughput, raw?.throughput),
    'herald / bare workflow': ratio(herald?.throughput, bare?.throughput),
    'herald / objectstack memory outbox (50 webhooks)': ratio(herald?.throughput, osMem50?.throughput),
    'herald / objectstack SQL outbox (50 webhooks)': ratio(herald?.throughput, osSql50?.throughput),
    'herald-1 / objectstack memory outbox (1 webhook)': ratio(herald1?.throughput, osMem1?.throughput),
    'herald-1 / objectstack SQL outbox (1 webhook)': ratio(herald1?.throughput, osSql1?.throughput),
    'herald-1 / herald (1 webhook vs 50)': ratio(herald1?.throughput, herald?.throughput),
    'herald p99 / bare p99 (both flat out)': ratio(herald?.latency?.p99, bare?.latency?.p99),
    'herald p99 / bare p99 (same steady rate)': ratio(steadyHerald?.latency?.p99, steadyBare?.latency?.p99),
    'isolation healthy throughput / control': ratio(iso?.throughput, isoControl?.throughput),
  };
  const targets: Target[] = [];
  const pct = (v: number) => `${v >= 0 ? '+' : ''}${round(v * 100, 0)} %`;
  const add = (target: string, value: number | undefined, ok: (v: number) => boolean, measured: (v: number) => string, miss: (v: number) => string, missingWhy: string) => {
    if (value === undefined) targets.push({ target, measured: 'not measured', met: null, detail: missingWhy });
    else targets.push({ target, measured: measured(value), met: ok(value), detail: ok(value) ? 'met' : miss(value) });
  };
  add('Herald ≥ 0.8× the bare-workflow ceiling', ratios['herald / bare workflow'], (v) => v >= 0.8, (v) => `${v}×`, (v) => `missed: ${round(0.8 - v, 2)}× short (needs ${round(0.8 / v, 2)}× faster)`, 'needs phases herald and bare');
  add('Herald ≥ the ObjectStack SQL outbox on SQLite (50 webhooks)', ratios['herald / objectstack SQL outbox (50 webhooks)'], (v) => v >= 1, (v) => `${v}×`, (v) => `missed by ${pct(v - 1)}`, 'needs phases herald and os-sql-50');
  add('Herald (1 webhook) ≥ the ObjectStack SQL outbox on SQLite (1 webhook)', ratios['herald-1 / objectstack SQL outbox (1 webhook)'], (v) => v >= 1, (v) => `${v}×`, (v) => `missed by ${pct(v - 1)}`, 'needs phases herald-1 and os-sql-1');
  add('one webhook alone gets the throughput of fifty (±10 %)', ratios['herald-1 / herald (1 webhook vs 50)'], (v) => v >= 0.9, (v) => `${v}×`, (v) => `missed: one webhook gets ${pct(v - 1)}`, 'needs phases herald and herald-1');
  add(
    `p99 publish→receipt ≤ 3× the bare workflow p99 (${steadyBare ? `steady ${steadyBare.name.replace('bare-rate-', '')}/s: ${steadyHerald?.latency?.p99} vs ${steadyBare.latency?.p99} ms` : 'flat out'})`,
    steadyBare ? ratios['herald p99 / bare p99 (same steady rate)'] : ratios['herald p99 / bare p99 (both flat out)'],
    (v) => v <= 3,
    (v) => `${v}×`,
    (v) => `missed by ${round(v - 3, 2)}× (${pct(v / 3 - 1)} over)`,
    'needs phases herald and bare (or rate)',
  );
  if (steadyBare && ratios['herald p99 / bare p99 (both flat out)'] !== undefined) targets[targets.length - 1]!.detail += `; flat out: ${ratios['herald p99 / bare p99 (both flat out)']}× (queueing, not a latency figure)`;
  const cost = ratios['isolation healthy throughput / control'] !== undefined ? 1 - ratios['isolation healthy throughput / control']! : undefined;
  add(`isolation costs the healthy endpoint ≤ 10 % (${opts.downDeliveries} down deliveries, ${opts.downMode})`, cost, (v) => v <= 0.1, (v) => `${round(v * 100, 1)} % slower`, (v) => `missed by ${round((v - 0.1) * 100, 1)} points`, 'needs phase isolation');
  const isoRss = iso?.extra?.['workerRssWithOpenDeliveriesMiB'] as number | undefined;
  const openCount = (iso?.extra?.['down'] as { openWhenMeasured?: number } | undefined)?.openWhenMeasured;
  const peak = iso?.usage.workers?.peakRssMiB;
  const rssValue = isoRss !== undefined && peak !== undefined ? Math.max(isoRss, peak) : isoRss ?? peak;
  add(
    `worker RSS ≤ 512 MB with 10,000 open deliveries (measured with ${openCount ?? '?'} open)`,
    rssValue,
    (v) => v <= 512 * 1e6 / 2 ** 20,
    (v) => `${v} MiB`,
    (v) => `missed by ${round(v - 488, 0)} MiB`,
    'needs phase isolation',
  );
  if (rssValue !== undefined && (openCount ?? 0) < 10_000) targets[targets.length - 1]!.detail += ` (only ${openCount ?? 0} open: run --phases isolation --down-deliveries 10000 for the target's load)`;
  return { ratios, targets };
}

function fmt(v: number | undefined | null, digits = 1): string {
  return v === undefined || v === null || Number.isNaN(v) ? '–' : String(round(v, digits));
}

function markdown(report: Report): string {
  const lines: string[] = [];
  lines.push(`# Herald benchmark — ${report.date}`, '');
  lines.push(`Machine: ${report.machine.cpus}× ${report.machine.cpuModel}, ${report.machine.memGiB} GiB, ${report.machine.os}; Node ${report.machine.node}; Temporal CLI ${report.machine.temporal}; commit ${report.machine.commit}.`);
  lines.push(`Command: \`${report.command}\` (total ${report.totalSeconds} s).`, '');
  lines.push('| phase | what | sent | delivered | deliveries/s | p50 ms | p95 ms | p99 ms | server cores | worker cores | worker peak RSS MiB | server peak RSS MiB | CPU ms/delivery (server / worker) | bad sigs | dups | other procs cores |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|');
  for (const r of report.results) {
    const worker = r.usage.workers ?? r.usage.outbox ?? (r.extra?.['note'] ? r.usage.bench : undefined);
    lines.push(
      `| ${r.name}${r.timedOut ? ' ⏱' : ''}${r.error ? ' ✗' : ''} | ${r.description} | ${r.attempted} | ${r.delivered} | **${fmt(r.throughput)}** | ${fmt(r.latency?.p50)} | ${fmt(r.latency?.p95)} | ${fmt(r.latency?.p99)} | ${fmt(r.usage.server?.cores, 2)} | ${fmt(worker?.cores, 2)} | ${fmt(worker?.maxRssMiB ?? worker?.peakRssMiB, 0)} | ${fmt(r.usage.server?.peakRssMiB, 0)} | ${fmt(r.cpuMsPerDelivery?.server, 2)} / ${fmt(r.cpuMsPerDelivery?.workers, 2)} | ${r.invalidSignatures} | ${r.duplicates} | ${fmt(r.usage.others?.cores, 2)} |`,
    );
  }
  lines.push('', "other procs cores = CPU used during the phase by processes that are not the bench's (a shared machine): high values mean the absolute figures are depressed; compare ratios.");
  lines.push('', '⏱ = hit the phase deadline before every delivery arrived; ✗ = failed (see the JSON). Worker columns for os-* are the ObjectStack dispatcher process; for inproc runs, the bench process.', '');
  lines.push('## Ratios (same run, same machine)', '');
  for (const [k, v] of Object.entries(report.ratios)) lines.push(`- ${k}: **${v ?? 'not measured'}${v !== undefined ? '×' : ''}**`);
  lines.push('', '## Targets', '', '| target | measured | met? |', '|---|---|---|');
  for (const t of report.targets) lines.push(`| ${t.target} | ${t.measured} | ${t.met === null ? 'n/a' : t.met ? 'yes' : 'no'} — ${t.detail} |`);
  if (report.profile.length > 0) {
    lines.push('', '## Profile', '');
    for (const p of report.profile) lines.push(`- ${p}`);
  }
  if (report.notes.length > 0) {
    lines.push('', '## Notes', '');
    for (const n of report.notes) lines.push(`- ${n}`);
  }
  return lines.join('\n') + '\n';
}

interface Report {
  date: string;
  command: string;
  totalSeconds: number;
  options: Options;
  machine: Record<string, string | number>;
  results: PhaseResult[];
  ratios: Record<string, number | undefined>;
  targets: Target[];
  profile: string[];
  notes: string[];
}

function profileLines(results: PhaseResult[]): string[] {
  const out: string[] = [];
  const get = (n: string) => results.find((r) => r.name === n && r.delivered > 0);
  const h = get('herald');
  const b = get('bare');
  type Hist = { events?: number; bytes?: number; workflowTasks?: number; activities?: number; markers?: number };
  const hd = (h?.extra?.['history'] as { delivery?: Hist; fanOut?: Hist } | undefined) ?? {};
  const bh = b?.extra?.['history'] as Hist | undefined;
  if (hd.delivery && bh) {
    const perDelivery = (hd.delivery.workflowTasks ?? 0) + (hd.fanOut?.workflowTasks ?? 0);
    out.push(
      `History per delivery (publish path): delivery workflow ${hd.delivery.events} events / ${hd.delivery.bytes} B, ${hd.delivery.workflowTasks} workflow tasks, ${hd.delivery.activities} activity, ${hd.delivery.markers} local-activity markers; ` +
        `fan-out workflow ${hd.fanOut?.events ?? '?'} events / ${hd.fanOut?.bytes ?? '?'} B, ${hd.fanOut?.workflowTasks ?? '?'} workflow tasks, ${hd.fanOut?.activities ?? '?'} activities. ` +
        `Total ${perDelivery} workflow tasks and 2 workflow starts per delivery vs the bare workflow's ${bh.workflowTasks} tasks / ${bh.events} events / 1 start.`,
    );
  }
  if (h?.cpuMsPerDelivery && b?.cpuMsPerDelivery) {
    out.push(
      `CPU per delivery: Temporal server ${h.cpuMsPerDelivery.server} ms (bare: ${b.cpuMsPerDelivery.server} ms, ${ratio(h.cpuMsPerDelivery.server, b.cpuMsPerDelivery.server)}×); worker ${h.cpuMsPerDelivery.workers} ms (bare: ${b.cpuMsPerDelivery.workers} ms). ` +
        `Server ${h.usage.server?.cores} cores + worker ${h.usage.workers?.cores} + receiver ${h.usage.receiver?.cores} + bench/publisher ${h.usage.bench?.cores} of 2.`,
    );
  }
  const d = get('direct');
  if (d && h) out.push(`Fan-out cost: deliveries.deliver (no fan-out workflow) ${d.throughput}/s vs events.publish ${h.throughput}/s on ${h.attempted === d.attempted ? 'the same' : 'a different'} event count (${ratio(d.throughput, h.throughput)}×).`);
  const is = get('inproc-sqlite');
  const im = get('inproc-memory');
  if (is && im) out.push(`Mirror/store cost (client + worker in one process): SQLite delivery table ${is.throughput}/s vs memory ${im.throughput}/s (${ratio(im.throughput, is.throughput)}×); server cores ${is.usage.server?.cores} vs ${im.usage.server?.cores}.`);
  const pg = get('postgres');
  const ref = results.find((r) => r.name === 'herald-w1-ref') ?? get('herald-1');
  if (pg && ref) out.push(`Postgres delivery table: ${pg.throughput}/s (p99 ${pg.latency?.p99} ms) vs SQLite ${ref.throughput}/s (${ref.name}).`);
  for (const r of results.filter((x) => x.name.startsWith('tuning'))) out.push(`Tuning ${r.name}: ${r.throughput}/s, p99 ${r.latency?.p99} ms — ${r.description}`);
  return out;
}

// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const began = nowMs();
  const date = new Date().toISOString().replace(/:/g, '-').replace(/\..*$/, '');
  mkdirSync(opts.out, { recursive: true });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'herald-bench-'));
  const cleanups: (() => Promise<void>)[] = [];
  const results: PhaseResult[] = [];
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`bench: ${signal}, stopping`);
      void (async () => {
        for (const c of cleanups.reverse()) await c().catch(() => undefined);
        rmSync(tmp, { recursive: true, force: true });
        process.exit(130);
      })();
    });
  }
  const notes: string[] = [];
  let temporalCommand = 'temporal';
  console.log(`bench: phases ${opts.phases.join(', ')}; ${opts.events} events, concurrency ${opts.concurrency}; scratch ${tmp}`);

  try {
    const binary = await resolveTemporalBinary('cli', { allowSdkDownload: false });
    if (binary.route === 'sdk-download') throw new Error('the bench needs a local Temporal CLI (npm run temporal:install)');
    temporalCommand = binary.command;
    const server = await startDevServer({ binary, dbFile: path.join(tmp, 'temporal.db'), logFile: path.join(tmp, 'temporal.log') });
    cleanups.push(() => server.stop());
    console.log(`bench: Temporal dev server ${server.address} (pid ${server.process.pid}, SQLite ${path.join(tmp, 'temporal.db')}, WAL)`);
    const connection = await Connection.connect({ address: server.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection });

    const receiver = new Child<ToReceiver, FromReceiver>('bench-receiver.js', 'receiver');
    cleanups.push(() => receiver.stop({ type: 'stop' }, 5_000));
    const { port } = await receiver.next('ready', 30_000);
    console.log(`bench: receiver http://127.0.0.1:${port} (pid ${receiver.pid})`);

    const bareBundlePath = path.join(tmp, 'bare-workflow-bundle.js');
    if (opts.phases.some((p) => p === 'bare' || p === 'rate' || p === 'shape')) {
      const { code } = await bundleWorkflowCode({ workflowsPath: path.join(ROOT, 'bench', 'bare-workflow.ts'), logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m: string) => console.error(m) } });
      writeFileSync(bareBundlePath, code);
    }
    const env: Env = { opts, server, connection, client, receiver, receiverPort: port, tmp, boxKey: randomBytes(32), bareBundlePath };

    const phase = async (name: string, fn: () => Promise<PhaseResult>) => {
      const t = nowMs();
      console.log(`\n▶ ${name}`);
      let r: PhaseResult;
      try {
        r = await fn();
      } catch (err) {
        const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
        console.error(`  ${name} failed: ${message}`);
        r = { name, kind: 'herald', description: 'failed', attempted: 0, delivered: 0, wallSeconds: 0, throughput: 0, publishRate: 0, latency: null, invalidSignatures: 0, duplicates: 0, timedOut: false, usage: {}, error: message };
      }
      results.push(r);
      console.log(
        `  ${r.name}: ${r.delivered}/${r.attempted} in ${r.wallSeconds} s → ${r.throughput}/s; p50/p95/p99 ${fmt(r.latency?.p50)}/${fmt(r.latency?.p95)}/${fmt(r.latency?.p99)} ms; ` +
          `server ${fmt(r.usage.server?.cores, 2)} cores, workers ${fmt((r.usage.workers ?? r.usage.outbox)?.cores, 2)} cores, bad sigs ${r.invalidSignatures}, dups ${r.duplicates}${r.timedOut ? ' (TIMED OUT)' : ''} [${round((nowMs() - t) / 1000, 0)} s]`,
      );
      writeFileSync(path.join(opts.out, `${date}.partial.json.tmp`), JSON.stringify(results, null, 1));
    };
    const has = (p: PhaseName) => opts.phases.includes(p);
    const many = opts.webhooks;

    if (has('raw')) await phase('raw', () => runRaw(env, 'raw', opts.rawEvents));
    if (has('bare')) await phase('bare', () => runBare(env, { name: 'bare', count: opts.events }));
    if (has('herald')) await phase('herald', () => runHerald(env, { name: 'herald', description: `events.publish → fan-out → delivery, ${many} webhooks, 1 worker, SQLite table`, events: opts.events, webhooks: many, workers: 1 }));
    if (has('herald-1')) await phase('herald-1', () => runHerald(env, { name: 'herald-1', description: 'events.publish, 1 webhook, 1 worker, SQLite table', events: opts.variantEvents, webhooks: 1, workers: 1 }));
    if (has('os-mem-50')) await phase('os-mem-50', () => runOutbox(env, 'os-mem-50', 'memory', many, opts.outboxEvents));
    if (has('os-mem-1')) await phase('os-mem-1', () => runOutbox(env, 'os-mem-1', 'memory', 1, opts.outboxSingleEvents));
    if (has('os-sql-50')) await phase('os-sql-50', () => runOutbox(env, 'os-sql-50', 'sql', many, opts.outboxEvents));
    if (has('os-sql-1')) await phase('os-sql-1', () => runOutbox(env, 'os-sql-1', 'sql', 1, opts.outboxSingleEvents));
    if (has('workers')) {
      // A 1-worker reference at the variant size, so the 2/4-worker runs compare like with like.
      for (const w of opts.workers) {
        const name = w === 1 ? 'herald-w1-ref' : `herald-w${w}`;
        await phase(name, () => runHerald(env, { name, description: `events.publish, ${many} webhooks, ${w} worker process(es)`, events: opts.variantEvents, webhooks: many, workers: w }));
      }
    }
    if (has('rate')) {
      // Default: half and 90 % of the throughput Herald just reached (or 5 and 10/s without a herald run); the
      // bare workflow runs at the lower rate too, so p99s compare at the same steady load.
      const measured = results.find((r) => r.name === 'herald' && r.delivered > 0)?.throughput;
      const rates = opts.rates.length > 0 ? opts.rates : measured ? [Math.max(1, Math.round(measured * 0.5)), Math.max(2, Math.round(measured * 0.9))] : [5, 10];
      if (opts.rates.length === 0) notes.push(`rate: rates ${rates.join(' and ')}/s = 50 % and 90 % of the herald run's ${measured ?? '(not run)'}/s (--rates to choose).`);
      for (const rate of rates) {
        await phase(`rate-${rate}`, () => runHerald(env, { name: `rate-${rate}`, description: `steady ${rate} events/s for ${opts.rateSeconds} s, ${many} webhooks`, events: Math.round(rate * opts.rateSeconds), webhooks: many, workers: 1, rate }));
      }
      const low = rates[0]!;
      await phase(`bare-rate-${low}`, () => runBare(env, { name: `bare-rate-${low}`, count: Math.round(low * opts.rateSeconds), rate: low }));
    }
    if (has('isolation')) {
      await phase('isolation-control', () => runHerald(env, { name: 'isolation-control', description: 'healthy endpoint alone (control for isolation)', events: opts.variantEvents, webhooks: 1, workers: 1 }));
      await phase('isolation', () =>
        runHerald(env, {
          name: 'isolation',
          description: `healthy endpoint while ${opts.downDeliveries} deliveries retry against a down one (${opts.downMode})`,
          events: opts.variantEvents,
          webhooks: 1,
          workers: 1,
          down: { deliveries: opts.downDeliveries, mode: opts.downMode, schedule: opts.downSchedule },
        }),
      );
    }
    if (has('postgres')) {
      await phase('postgres', async () => {
        const { startPostgres } = await import('../test/support/postgres.js');
        const pg = await startPostgres();
        const pid = findPostgresPid();
        env.postgres = { ...pg, ...(pid ? { pid } : {}) };
        try {
          return await runHerald(env, { name: 'postgres', description: 'events.publish, 50 webhooks, delivery table on Postgres (embedded, fsync off)', events: opts.variantEvents, webhooks: many, workers: 1, database: 'postgres' });
        } finally {
          await pg.stop().catch(() => undefined);
          delete env.postgres;
        }
      });
      notes.push('postgres: the embedded test Postgres runs with fsync=off and synchronous_commit=off (test/support/postgres.ts); the Temporal server stays on SQLite.');
    }
    if (has('direct')) await phase('direct', () => runHerald(env, { name: 'direct', description: `deliveries.deliver (no fan-out workflow), ${many} webhooks`, events: opts.variantEvents, webhooks: many, workers: 1, path: 'direct' }));
    if (has('inproc')) {
      await phase('inproc-sqlite', () => runHerald(env, { name: 'inproc-sqlite', description: 'client + worker in one process, SQLite table', events: opts.variantEvents, webhooks: many, workers: 1, inproc: 'sqlite' }));
      await phase('inproc-memory', () => runHerald(env, { name: 'inproc-memory', description: 'client + worker in one process, memory table (no SQLite writes)', events: opts.variantEvents, webhooks: many, workers: 1, inproc: 'memory' }));
    }
    if (has('shape')) {
      await phase('bare-sa', () => runBare(env, { name: 'bare-sa', count: opts.variantEvents, workflowType: 'bareWithSearchAttributes', searchAttributes: true, description: "bare + Herald's 5 search attributes at start and 2 status upserts" }));
      await phase('bare-la', () => runBare(env, { name: 'bare-la', count: opts.variantEvents, workflowType: 'bareWithLocalActivities', description: "bare + Herald's 2 mirror local activities (writing nothing)" }));
      await phase('bare-ref', () => runBare(env, { name: 'bare-ref', count: opts.variantEvents, description: 'bare, at the shape phase size (reference for bare-sa, bare-la)' }));
    }
    if (has('tuning')) {
      let i = 0;
      for (const set of opts.tuning) {
        const name = `tuning-${++i}`;
        await phase(name, () => runHerald(env, { name, description: `worker options ${JSON.stringify(set)}`, events: opts.variantEvents, webhooks: many, workers: 1, overrides: set }));
      }
    }
  } finally {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => console.error(`cleanup: ${String(err)}`));
    rmSync(tmp, { recursive: true, force: true });
  }

  const { ratios, targets } = evaluate(results, opts);
  const report: Report = {
    date,
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    totalSeconds: round((nowMs() - began) / 1000, 0),
    options: opts,
    machine: machineInfo(temporalCommand),
    results,
    ratios,
    targets,
    profile: profileLines(results),
    notes,
  };
  const base = path.join(opts.out, date);
  writeFileSync(`${base}.json`, JSON.stringify(report, null, 1) + '\n');
  writeFileSync(`${base}.md`, markdown(report));
  rmSync(path.join(opts.out, `${date}.partial.json.tmp`), { force: true });
  let chart = 'not rendered';
  try {
    chart = await renderChart(report, `${base}.png`, `${base}.svg`);
    if (opts.docs) {
      mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
      copyFileSync(`${base}.png`, path.join(ROOT, 'docs', 'bench.png'));
      chart += ' (copied to docs/bench.png)';
    }
  } catch (err) {
    chart = `chart failed: ${(err as Error).message}`;
  }
  console.log(`\n${markdown(report)}`);
  console.log(`bench: wrote ${path.relative(ROOT, base)}.json, .md; chart: ${chart}`);
}

/** The postmaster just started: the youngest `postgres` process whose parent is not a `postgres`. */
function findPostgresPid(): number | undefined {
  let best: { pid: number; start: number } | undefined;
  const all = listProcesses();
  for (const p of all) {
    if (p.comm !== 'postgres') continue;
    const parent = all.find((q) => q.pid === p.ppid);
    if (parent?.comm === 'postgres') continue;
    if (!best || p.start > best.start) best = { pid: p.pid, start: p.start };
  }
  return best?.pid;
}

function machineInfo(temporalCommand: string): Record<string, string | number> {
  const git = (args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return '?';
    }
  };
  let temporalVersion = '?';
  try {
    temporalVersion = execFileSync(temporalCommand, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // reported as '?'
  }
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '?',
    memGiB: round(os.totalmem() / 2 ** 30, 0),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    temporal: temporalVersion,
    commit: `${git(['rev-parse', '--short', 'HEAD'])}${git(['status', '--porcelain', '--untracked-files=no']) ? ' (+ uncommitted changes)' : ''}`,
  };
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
