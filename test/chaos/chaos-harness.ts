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
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { HeraldClient } from '../../src/client/herald-client.js';
import { deliveryId as deliveryIdOf, deliveryWorkflowId } from '../../src/delivery/ids.js';
import { fanOutWorkflowId } from '../../src/delivery/ids.js';
import { RESPONSE_BODY_LIMIT_BYTES } from '../../src/activities/http-attempt.js';
import { freePort } from '../../src/embedded/child-process.js';
import { projectRoot } from '../../src/embedded/project-root.js';
import { resolveTemporalBinary } from '../../src/embedded/temporal-binaries.js';
import { startDevServer, type RunningDevServer } from '../../src/embedded/temporal-dev-server.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { TERMINAL_STATUSES } from '../../src/store/deliveries.js';
import { openEngine } from '../../src/store/open-engine.js';
import type { deliverWebhookV2 } from '../../src/workflows/deliver-webhook.js';
import type { fanOutEvent } from '../../src/workflows/fan-out-event.js';
import type { DeliverWebhookResult } from '../../src/workflows/messages.js';
import { TEST_BOX, uniqueId } from '../support/deps.js';
import {
  startForbiddenReceiver,
  startHugeBodyReceiver,
  startMainReceiver,
  startRedirectReceiver,
  startSilentReceiver,
  type ChaosRequest,
  type HugeBodyReceiver,
  type MainReceiver,
  type ProbeReceiver,
} from './chaos-receivers.js';
import { startRestartablePostgres, type RestartablePostgres } from './restartable-postgres.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./chaos-worker.ts', import.meta.url));

/**
 * How to start a worker process. Under tsx every start transpiles Herald's sources again (seconds on a busy
 * 2-core machine, and the chaos run starts many workers), so the worker script is bundled once with esbuild
 * (a tsx dependency) into node_modules/.cache, with every package left external: it then runs as compiled
 * JavaScript, as production does. Falls back to tsx if esbuild is not there.
 */
export async function workerCommand(): Promise<{ args: string[]; how: string; remove: () => void }> {
  // Per test process, so concurrent runs never start each other's build.
  const outfile = path.join(projectRoot(), 'node_modules', '.cache', 'herald-chaos', `chaos-worker-${process.pid}.mjs`);
  try {
    const esbuild = await import('esbuild');
    await esbuild.build({ entryPoints: [WORKER_SCRIPT], outfile, bundle: true, packages: 'external', platform: 'node', format: 'esm', target: 'node20', logLevel: 'error', sourcemap: 'inline' });
    return { args: ['--enable-source-maps', outfile], how: `compiled once with esbuild (${path.relative(projectRoot(), outfile)})`, remove: () => rmSync(outfile, { force: true }) };
  } catch (err) {
    return { args: ['--import', 'tsx', WORKER_SCRIPT], how: `tsx (esbuild unavailable: ${(err as Error).message.split('\n')[0]})`, remove: () => undefined };
  }
}
const HUGE_BODY_BYTES = 50 * 1024 * 1024;
/** The only address the workers' egress guard allows; the forbidden receiver lives on another loopback address. */
const FORBIDDEN_HOST = '127.0.0.2';

export interface FaultWindow {
  /** The fault starts at a seeded random moment in [from, to] ms after the first publish. */
  from: number;
  to: number;
  /** How long the thing stays down. */
  downMs: number;
}

export interface ChaosOptions {
  label: string;
  /** Main deliveries wanted: `webhooks` × round(deliveries / webhooks) events. */
  deliveries: number;
  /** Main webhooks, all subscribed to `order.*`: each published event fans out to every one of them. */
  webhooks: number;
  /** Events are published evenly over this window, so faults land on deliveries at every stage. */
  publishWindowMs: number;
  workerKills: number;
  /**
   * Kill moments are drawn from [from, to] ms, at least `minGapMs` apart; a kill due while the previous
   * restart is still under way waits until the new worker has run `minUptimeMs`.
   */
  killWindow: { from: number; to: number; minGapMs: number; minUptimeMs: number };
  serverRestart: FaultWindow | null;
  receiverOutage: FaultWindow | null;
  databaseOutage: FaultWindow | null;
  database: 'postgres' | 'sqlite';
  /** Probe deliveries per probe webhook. */
  probes: { silent: number; huge: number; redirect: number; refused: number };
  mainSchedule: number[];
  probeSchedule: number[];
  timeoutMs: number;
  /** Share of first attempts the main receiver answers with 503. */
  failFirstAttemptShare: number;
  /** After the last publish and fault, how long every delivery may take to finish. */
  drainTimeoutMs: number;
  /**
   * A sanity ceiling on any worker process's peak RSS, for gross blow-ups only (memory figures belong in
   * benchmarks). The 50 MB probe's real check is how many bytes its receiver managed to write.
   */
  maxWorkerRssMb: number;
  seed: number;
  log: (line: string) => void;
}

export interface ChaosReport {
  summary: string;
  violations: string[];
  /** Observations that are not failures (latencies, attempt-log gaps, worker memory). */
  notes: string[];
  stats: {
    mainDeliveries: number;
    requests: number;
    distinctReceived: number;
    duplicates: number;
    lost: number;
    invalidSignatures: number;
    statusCounts: Record<string, number>;
    workerPeakRssMb: number;
    hugeBytesWrittenMax: number;
    totalMs: number;
  };
}

// ── small utilities ──────────────────────────────────────────────────────────────────────────────────────

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** Deterministic PRNG (mulberry32), so a run's fault plan can be replayed with HERALD_CHAOS_SEED. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        await fn(item);
      }
    }),
  );
}

/** Retries `fn` (bounded: `tries` times, `delayMs` apart) through outages; counts the retries. */
async function retrying<T>(label: string, fn: () => Promise<T>, counter: { retries: number; lastError?: string }, tries = 120, delayMs = 500): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= tries) throw new Error(`${label}: still failing after ${tries} tries: ${(err as Error).message}`, { cause: err });
      counter.retries += 1;
      counter.lastError = `${label}: ${(err as Error).message.split('\n')[0]}`;
      await sleep(delayMs);
    }
  }
}

function timestampMs(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  if (!ts) return Number.NaN;
  const seconds = ts.seconds as { toNumber?: () => number } | number | string | null | undefined;
  const secs = typeof seconds === 'object' && seconds?.toNumber ? seconds.toNumber() : Number(seconds ?? 0);
  return secs * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

function procStatusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

// ── the worker supervisor ────────────────────────────────────────────────────────────────────────────────

interface Incarnation {
  n: number;
  pid: number;
  child: ChildProcess;
  startedAt: number;
  readyAt?: number;
  endedAt?: number;
  end?: 'killed' | 'stopped' | 'failed-to-start' | 'died';
  exit?: string;
  stderr: string;
  /** The worker's own `start-up: …` line (where its start-up time went). */
  startup?: string;
  peakRssKb: number;
  exited: Promise<void>;
}

class WorkerSupervisor {
  readonly incarnations: Incarnation[] = [];
  readonly unexpectedExits: { pid: number; at: number; exit: string; stderrTail: string }[] = [];
  startRetries = 0;
  private current: Incarnation | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private stopping = false;
  private sampler: NodeJS.Timeout;

  constructor(
    private readonly command: string[],
    private readonly config: { address: string; taskQueue: string; database: string },
    private readonly t0: () => number,
    private readonly log: (line: string) => void,
  ) {
    // Peak RSS (VmHWM) of every incarnation, sampled from /proc: the worker is never asked.
    this.sampler = setInterval(() => {
      const c = this.current;
      if (!c || c.endedAt !== undefined) return;
      const hwm = procStatusKb(c.pid, 'VmHWM');
      if (hwm !== undefined && hwm > c.peakRssKb) c.peakRssKb = hwm;
    }, 200);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private spawnOnce(): Incarnation {
    const child = spawn(process.execPath, [...this.command, JSON.stringify(this.config)], {
      cwd: projectRoot(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const inc: Incarnation = {
      n: this.incarnations.length + 1,
      pid: child.pid ?? -1,
      child,
      startedAt: Date.now(),
      stderr: '',
      peakRssKb: 0,
      exited: new Promise<void>((resolve) =>
        child.once('exit', (code, signal) => {
          inc.endedAt = Date.now();
          inc.exit = signal ?? `code ${code}`;
          resolve();
        }),
      ),
    };
    child.stderr?.on('data', (chunk: Buffer) => {
      inc.stderr = (inc.stderr + chunk.toString()).slice(-6000);
      inc.startup ??= /start-up: ([^\n]*)/.exec(inc.stderr)?.[1];
    });
    this.incarnations.push(inc);
    void inc.exited.then(() => {
      if (inc.end === undefined && inc.readyAt !== undefined) {
        inc.end = 'died';
        const tail = inc.stderr.trim().split('\n').slice(-15).join('\n');
        this.unexpectedExits.push({ pid: inc.pid, at: this.t0(), exit: inc.exit ?? '?', stderrTail: tail });
        this.log(`[t+${(this.t0() / 1000).toFixed(1)}s] worker ${inc.pid} exited by itself (${inc.exit}); restarting. stderr tail:\n${tail}`);
        if (!this.stopping) void this.serial(() => this.startLoop()).catch((err: unknown) => this.log(`worker restart failed: ${(err as Error).message}`));
      }
    });
    return inc;
  }

  private async waitReady(inc: Incarnation, timeoutMs: number): Promise<boolean> {
    return await new Promise<boolean>((resolve) => {
      let out = '';
      const timer = setTimeout(() => resolve(false), timeoutMs);
      inc.child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('ready')) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      void inc.exited.then(() => {
        clearTimeout(timer);
        resolve(false);
      });
    });
  }

  /** Starts a worker and waits until it polls; retries (bounded) while Temporal or the database is down. */
  private async startLoop(): Promise<void> {
    for (let tries = 1; tries <= 60; tries++) {
      if (this.stopping) return;
      const inc = this.spawnOnce();
      this.current = inc;
      if (await this.waitReady(inc, 60_000)) {
        inc.readyAt = Date.now();
        return;
      }
      inc.end = 'failed-to-start';
      if (inc.endedAt === undefined) {
        inc.child.kill('SIGKILL');
        await inc.exited;
      }
      this.startRetries += 1;
      await sleep(1_000);
    }
    throw new Error('the worker did not start in 60 tries');
  }

  start(): Promise<void> {
    return this.serial(() => this.startLoop());
  }

  /** When the current worker became ready (undefined while none is). */
  readyAt(): number | undefined {
    return this.current?.endedAt === undefined ? this.current?.readyAt : undefined;
  }

  /** kill -9 the running worker, then start a new one. Returns the killed pid and how long the restart took. */
  kill9AndRestart(minUptimeMs = 0): Promise<{ pid: number; restartMs: number; uptimeMs: number }> {
    return this.serial(async () => {
      const readyAt = this.readyAt();
      if (readyAt !== undefined) await sleep(readyAt + minUptimeMs - Date.now());
      const inc = this.current;
      const uptimeMs = readyAt === undefined ? 0 : Date.now() - readyAt;
      let pid = -1;
      if (inc && inc.endedAt === undefined) {
        pid = inc.pid;
        inc.end = 'killed';
        const hwm = procStatusKb(inc.pid, 'VmHWM');
        if (hwm !== undefined && hwm > inc.peakRssKb) inc.peakRssKb = hwm;
        inc.child.kill('SIGKILL');
        await inc.exited;
      }
      const restartedAt = Date.now();
      await this.startLoop();
      return { pid, restartMs: Date.now() - restartedAt, uptimeMs };
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.sampler);
    await this.chain.catch(() => undefined);
    for (const inc of this.incarnations) {
      if (inc.endedAt !== undefined) continue;
      inc.end ??= 'stopped';
      const hwm = procStatusKb(inc.pid, 'VmHWM');
      if (hwm !== undefined && hwm > inc.peakRssKb) inc.peakRssKb = hwm;
      inc.child.kill('SIGTERM');
      const timer = setTimeout(() => inc.child.kill('SIGKILL'), 20_000);
      await inc.exited;
      clearTimeout(timer);
    }
  }
}

// ── the run ──────────────────────────────────────────────────────────────────────────────────────────────

type Kind = 'main' | 'silent' | 'huge' | 'redirect' | 'refused';

interface Expected {
  kind: Kind;
  deliveryId: string;
  workflowId: string;
  webhookId: string;
  eventId: string;
  path: string;
  payload: unknown;
}

interface FaultRecord {
  what: string;
  at: number;
  tookMs: number;
  detail?: string;
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log;
  const random = seededRandom(opts.seed);
  const violations: string[] = [];
  const notes: string[] = [];
  const started = Date.now();
  let t0 = Date.now();
  const since = () => Date.now() - t0;
  const stamp = () => `[t+${(since() / 1000).toFixed(1)}s]`;

  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-chaos-'));
  const temporalDb = path.join(dir, 'temporal.db');
  const temporalLog = path.join(dir, 'temporal.log');
  const cleanup: (() => Promise<unknown>)[] = [];
  let supervisor: WorkerSupervisor | undefined;
  let server: RunningDevServer | undefined;

  try {
    // ── infrastructure ──
    const binary = await resolveTemporalBinary('cli', { allowSdkDownload: false });
    const temporalPort = await freePort();
    server = await startDevServer({ binary, dbFile: temporalDb, port: temporalPort, logFile: temporalLog });
    const address = server.address;
    cleanup.push(() => server?.stop() ?? Promise.resolve());

    let postgres: RestartablePostgres | undefined;
    let database: string;
    if (opts.database === 'postgres') {
      postgres = await startRestartablePostgres();
      cleanup.push(() => postgres!.destroy());
      database = postgres.url;
    } else {
      database = `sqlite:${path.join(dir, 'herald.db')}`;
    }
    const store: DataEngine = await openEngine(database);
    cleanup.push(() => store.close());
    const connection = await Connection.connect({ address });
    cleanup.push(() => connection.close());
    const temporal = new Client({ connection, namespace: 'default' });
    const taskQueue = uniqueId('chaos-tq-');
    const tenantId = uniqueId('chaos-');
    const herald = new HeraldClient({ temporal, store, box: TEST_BOX, taskQueue });

    const main: MainReceiver = await startMainReceiver({ failFirstAttemptShare: opts.failFirstAttemptShare, maxDelayMs: 150 });
    const silent: ProbeReceiver = await startSilentReceiver();
    const huge: HugeBodyReceiver = await startHugeBodyReceiver(HUGE_BODY_BYTES);
    const forbidden: ProbeReceiver = await startForbiddenReceiver(FORBIDDEN_HOST);
    const redirect: ProbeReceiver = await startRedirectReceiver(`${forbidden.origin}/redirected`);
    for (const r of [main, silent, huge, forbidden, redirect]) cleanup.push(() => r.close());

    // ── webhooks ──
    const webhooks = Math.max(1, Math.min(opts.webhooks, opts.deliveries));
    const events = Math.max(1, Math.round(opts.deliveries / webhooks));
    const mainWebhooks: { id: string; path: string }[] = [];
    for (let i = 0; i < webhooks; i++) {
      const hookPath = `/hook/${i}`;
      const { webhook, secret } = await herald.webhooks.create({
        tenantId,
        url: `${main.origin}${hookPath}`,
        eventTypes: ['order.*'],
        retrySchedule: opts.mainSchedule,
        timeoutMs: opts.timeoutMs,
      });
      main.secrets.set(hookPath, secret);
      mainWebhooks.push({ id: webhook.id, path: hookPath });
    }
    const probe = async (kind: Exclude<Kind, 'main'>, url: string, schedule: number[]) =>
      (await herald.webhooks.create({ tenantId, url, eventTypes: [`probe.${kind}`], retrySchedule: schedule, timeoutMs: opts.timeoutMs })).webhook;
    const probeWebhooks = {
      silent: await probe('silent', `${silent.origin}/hook`, opts.probeSchedule),
      huge: await probe('huge', `${huge.origin}/hook`, opts.mainSchedule),
      redirect: await probe('redirect', `${redirect.origin}/hook`, opts.probeSchedule),
      refused: await probe('refused', `${forbidden.origin}/direct`, opts.probeSchedule),
    };

    const expected = new Map<string, Expected>();
    const runId = uniqueId('');
    const eventIds: string[] = [];
    const payloads = new Map<string, unknown>();
    for (let e = 0; e < events; e++) {
      const eventId = `evt_chaos_${runId}_${e}`;
      const payload = { order: e, marker: `chaos-${runId}-${e}`, lines: [{ sku: `sku-${e % 7}`, qty: 1 + (e % 3) }] };
      eventIds.push(eventId);
      payloads.set(eventId, payload);
      for (const w of mainWebhooks) {
        const id = deliveryIdOf(w.id, eventId);
        expected.set(id, { kind: 'main', deliveryId: id, workflowId: deliveryWorkflowId(w.id, eventId), webhookId: w.id, eventId, path: w.path, payload });
      }
    }
    const probeEvents: { kind: Exclude<Kind, 'main'>; eventId: string }[] = [];
    for (const kind of ['silent', 'huge', 'redirect', 'refused'] as const) {
      for (let i = 0; i < opts.probes[kind]; i++) {
        const eventId = `evt_probe_${kind}_${runId}_${i}`;
        const webhookId = probeWebhooks[kind].id;
        const id = deliveryIdOf(webhookId, eventId);
        probeEvents.push({ kind, eventId });
        expected.set(id, { kind, deliveryId: id, workflowId: deliveryWorkflowId(webhookId, eventId), webhookId, eventId, path: '/hook', payload: { probe: kind, i } });
      }
    }
    const mainCount = events * webhooks;

    // ── the fault plan (seeded) ──
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
    const plan = [
      `seed ${opts.seed}`,
      `${mainCount} main deliveries (${events} events × ${webhooks} webhooks, published over ${opts.publishWindowMs / 1000}s), probes ${JSON.stringify(opts.probes)}`,
      `main schedule [${opts.mainSchedule.join(',')}], probe schedule [${opts.probeSchedule.join(',')}], timeout ${opts.timeoutMs}ms, delivery DB ${opts.database}`,
      `worker kill -9 at ${killTimes.map((t) => `${(t / 1000).toFixed(1)}s`).join(', ') || 'never'}`,
      `Temporal restart at ${serverAt === undefined ? 'never' : `${(serverAt / 1000).toFixed(1)}s for ${opts.serverRestart!.downMs / 1000}s`}`,
      `receiver down at ${receiverAt === undefined ? 'never' : `${(receiverAt / 1000).toFixed(1)}s for ${opts.receiverOutage!.downMs / 1000}s`}`,
      `delivery DB unavailable at ${databaseAt === undefined ? 'never' : `${(databaseAt / 1000).toFixed(1)}s for ${opts.databaseOutage!.downMs / 1000}s (${opts.database === 'postgres' ? 'Postgres stopped' : 'SQLite BEGIN EXCLUSIVE held by another process'})`}`,
    ];
    log(`chaos ${opts.label}: plan\n  ${plan.join('\n  ')}`);

    const command = await workerCommand();
    cleanup.push(async () => command.remove());
    log(`worker processes run as: ${command.how}`);
    supervisor = new WorkerSupervisor(command.args, { address, taskQueue, database }, since, log);
    const sup = supervisor;
    cleanup.push(() => sup.stop()); // runs first: cleanup runs in reverse
    await sup.start();
    const setupMs = Date.now() - started;

    // ── the run ──
    t0 = Date.now();
    const faults: FaultRecord[] = [];
    const publishedAt = new Map<string, number>();
    const publishRetries = { retries: 0, lastError: undefined as string | undefined };
    const record = async (what: string, at: number, fn: () => Promise<string | undefined>) => {
      await sleep(at - since());
      const begin = since();
      log(`${stamp()} fault: ${what}`);
      const detail = await fn();
      faults.push({ what, at: begin, tookMs: since() - begin, ...(detail ? { detail } : {}) });
      log(`${stamp()} fault done: ${what}${detail ? ` (${detail})` : ''}`);
    };

    const publisher = (async () => {
      // Probes first, so they live through the faults too. deliver() starts them directly (no fan-out).
      for (const p of probeEvents) {
        const webhookId = probeWebhooks[p.kind].id;
        const exp = expected.get(deliveryIdOf(webhookId, p.eventId))!;
        await retrying(`deliver ${p.eventId}`, () => herald.deliveries.deliver({ tenantId, webhookId, eventId: p.eventId, eventType: `probe.${p.kind}`, payload: exp.payload }), publishRetries);
      }
      for (let e = 0; e < events; e++) {
        await sleep((e * opts.publishWindowMs) / events - since());
        const eventId = eventIds[e]!;
        publishedAt.set(eventId, Date.now());
        await retrying(`publish ${eventId}`, () => herald.events.publish({ id: eventId, tenantId, type: 'order.created', payload: payloads.get(eventId) }), publishRetries);
      }
      log(`${stamp()} all ${events} events published (${publishRetries.retries} publish retries through faults)`);
    })();

    const killTrack = (async () => {
      for (const [i, at] of killTimes.entries()) {
        await record(`kill -9 worker (${i + 1}/${killTimes.length})`, at, async () => {
          const { pid, restartMs, uptimeMs } = await sup.kill9AndRestart(opts.killWindow.minUptimeMs);
          return `killed pid ${pid} after ${(uptimeMs / 1000).toFixed(1)}s up, new worker ready after ${restartMs}ms`;
        });
      }
    })();

    const serverTrack = (async () => {
      if (serverAt === undefined || !opts.serverRestart) return;
      await record('restart the Temporal dev server (SQLite file)', serverAt, async () => {
        await server!.stop();
        const downAt = Date.now();
        await sleep(opts.serverRestart!.downMs);
        server = await startDevServer({ binary, dbFile: temporalDb, port: temporalPort, logFile: temporalLog });
        return `down ${Date.now() - downAt}ms including start-up`;
      });
    })();

    const receiverTrack = (async () => {
      if (receiverAt === undefined || !opts.receiverOutage) return;
      await record('take the main receiver down', receiverAt, async () => {
        await main.down();
        await sleep(opts.receiverOutage!.downMs);
        await main.up();
        return undefined;
      });
    })();

    const databaseTrack = (async () => {
      if (databaseAt === undefined || !opts.databaseOutage) return;
      const downMs = opts.databaseOutage.downMs;
      if (postgres) {
        const pg = postgres;
        await record('stop Postgres (the delivery DB), start it again', databaseAt, async () => {
          const { downAt, upAt } = await pg.outage(downMs);
          return `unavailable ${upAt - downAt}ms`;
        });
      } else {
        await record('hold an exclusive lock on the SQLite delivery DB', databaseAt, async () => {
          const file = database.slice('sqlite:'.length);
          return await holdSqliteLock(file, downMs);
        });
      }
    })();

    const results = await Promise.allSettled([publisher, killTrack, serverTrack, receiverTrack, databaseTrack]);
    for (const r of results) if (r.status === 'rejected') violations.push(`the run itself failed: ${(r.reason as Error)?.stack ?? String(r.reason)}`);
    const faultsDoneMs = since();
    log(`${stamp()} publishing and faults done; draining`);

    // ── drain: every expected row terminal, no workflow of this task queue running ──
    const terminal = new Set<string>(TERMINAL_STATUSES);
    const expectedIds = [...expected.keys()];
    const drainDeadline = Date.now() + opts.drainTimeoutMs;
    let lastProgress = 0;
    let drained = false;
    let rowsById = new Map<string, Record<string, unknown>>();
    let running = -1;
    const readRows = async () => {
      const rows: Record<string, unknown>[] = [];
      for (let from = 0; from < expectedIds.length; from += 500) {
        rows.push(...(await store.find('herald_deliveries', { where: { id: { $in: expectedIds.slice(from, from + 500) } } })));
      }
      return new Map(rows.map((r) => [String(r.id), r]));
    };
    while (Date.now() < drainDeadline) {
      try {
        rowsById = await readRows();
        const done = expectedIds.filter((id) => terminal.has(String(rowsById.get(id)?.status))).length;
        running = Number((await temporal.workflow.count(`TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"`)).count);
        if (Date.now() - lastProgress > 5_000) {
          lastProgress = Date.now();
          log(`${stamp()} drain: ${done}/${expectedIds.length} rows terminal, ${running} workflows running, ${main.requests.length} requests received`);
        }
        if (done === expectedIds.length && running === 0) {
          drained = true;
          break;
        }
      } catch (err) {
        log(`${stamp()} drain: read failed (${(err as Error).message.split('\n')[0]})`);
      }
      await sleep(1_000);
    }
    const drainMs = since() - faultsDoneMs;
    log(`${stamp()} ${drained ? 'drained' : `NOT drained after ${opts.drainTimeoutMs / 1000}s`}; auditing`);
    if (!drained) {
      const open = expectedIds.filter((id) => !terminal.has(String(rowsById.get(id)?.status)));
      violations.push(
        `stuck: ${open.length} deliveries not terminal and ${running} workflows still running after a ${opts.drainTimeoutMs / 1000}s drain; e.g. ${open
          .slice(0, 5)
          .map((id) => `${expected.get(id)!.workflowId} (row: ${String(rowsById.get(id)?.status ?? 'missing')})`)
          .join(', ')}`,
      );
    }

    // ── audit 1: the table agrees with Temporal, for every delivery ──
    const statusCounts: Record<string, number> = {};
    const outcomeByDelivery = new Map<string, { row: Record<string, unknown>; result: DeliverWebhookResult | undefined }>();
    const attemptRows = new Map<string, Record<string, unknown>[]>();
    for (let from = 0; from < expectedIds.length; from += 500) {
      const rows = await store.find('herald_delivery_attempts', { where: { delivery_id: { $in: expectedIds.slice(from, from + 500) } } });
      for (const r of rows) attemptRows.set(String(r.delivery_id), [...(attemptRows.get(String(r.delivery_id)) ?? []), r]);
    }
    const mismatches: string[] = [];
    const attemptLogNotes: string[] = [];
    await forEachLimited(expectedIds, 16, async (id) => {
      const exp = expected.get(id)!;
      const row = rowsById.get(id);
      if (!row) {
        mismatches.push(`${exp.workflowId}: no row in the delivery table`);
        return;
      }
      statusCounts[`${exp.kind}:${String(row.status)}`] = (statusCounts[`${exp.kind}:${String(row.status)}`] ?? 0) + 1;
      const handle = temporal.workflow.getHandle<typeof deliverWebhookV2>(exp.workflowId);
      let description;
      try {
        description = await handle.describe();
      } catch (err) {
        mismatches.push(`${exp.workflowId}: describe failed: ${(err as Error).message}`);
        return;
      }
      if (description.status.name !== 'COMPLETED') {
        mismatches.push(`${exp.workflowId}: workflow is ${description.status.name}, not COMPLETED`);
        outcomeByDelivery.set(id, { row, result: undefined });
        return;
      }
      const result = await handle.result();
      outcomeByDelivery.set(id, { row, result });
      if (row.run_id !== description.runId) mismatches.push(`${exp.workflowId}: row run ${String(row.run_id)} ≠ workflow run ${description.runId}`);
      const tableSays = { status: row.status, attempts: Number(row.attempts), responseCode: (row.response_code as number | null) ?? null };
      const temporalSays = { status: result.status, attempts: result.attempts, responseCode: result.responseCode };
      if (JSON.stringify(tableSays) !== JSON.stringify(temporalSays)) {
        mismatches.push(`${exp.workflowId} (${exp.kind}): table ${JSON.stringify(tableSays)} ≠ Temporal ${JSON.stringify(temporalSays)}; Temporal error: ${result.error ?? '-'}; row error: ${String(row.error ?? '-')}`);
      }
      // The attempt log: one row per attempt that reached the send (an attempt whose worker died before it
      // recorded its start leaves a gap, which is not an error).
      const logged = (attemptRows.get(id) ?? []).filter((a) => a.run_id === description.runId).map((a) => Number(a.attempt)).sort((a, b) => a - b);
      const n = Number(row.attempts);
      if (logged.some((a) => a > n)) attemptLogNotes.push(`${exp.workflowId}: attempt log has attempts beyond the row's ${n}: [${logged.join(',')}]`);
      else if (logged.length !== n) attemptLogNotes.push(`${exp.workflowId}: ${n} attempts, attempt log [${logged.join(',')}]`);
    });
    for (const m of mismatches) violations.push(`table ≠ Temporal: ${m}`);

    // Temporal's own count of send attempts (the attempt number of the last ActivityTaskStarted in history) vs
    // the row's: attempts that failed before recording their start (worker killed early, delivery DB down) are
    // not in the row, nor in the workflow result, which takes its count from the row.
    const uncounted: string[] = [];
    await forEachLimited(expectedIds, 16, async (id) => {
      const exp = expected.get(id)!;
      const row = rowsById.get(id);
      try {
        const history = await temporal.workflow.getHandle(exp.workflowId).fetchHistory();
        const started = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
        // The fast path's first attempt is a local activity: its marker's result says which attempt it made,
        // and the retry activity's attempts come after it.
        const fastPath = firstAttemptOf(history.events ?? []);
        const activityAttempt = Number(started[started.length - 1]?.activityTaskStartedEventAttributes?.attempt ?? 0);
        const lastAttempt = activityAttempt > 0 ? activityAttempt + fastPath : fastPath;
        if (row && lastAttempt !== Number(row.attempts)) uncounted.push(`${exp.workflowId} (${exp.kind}): Temporal ran ${lastAttempt} send attempts, the row counts ${String(row.attempts)} (${String(row.status)})`);
      } catch (err) {
        uncounted.push(`${exp.workflowId}: history unavailable: ${(err as Error).message}`);
      }
    });
    if (uncounted.length) notes.push(`send attempts Temporal ran but the table/result do not count (${uncounted.length} deliveries): ${uncounted.slice(0, 5).join('; ')}${uncounted.length > 5 ? '; …' : ''}`);
    if (attemptLogNotes.length) notes.push(`attempt-log gaps (${attemptLogNotes.length}): ${attemptLogNotes.slice(0, 5).join('; ')}${attemptLogNotes.length > 5 ? '; …' : ''}`);

    // Fan-outs: each closed, each started every main webhook.
    const fanOutProblems: string[] = [];
    await forEachLimited(eventIds, 16, async (eventId) => {
      const handle = temporal.workflow.getHandle<typeof fanOutEvent>(fanOutWorkflowId(tenantId, eventId));
      try {
        const event = await store.findOne('herald_events', { where: { tenant_id: tenantId, event_id: eventId } });
        if (event?.status === 'fanned_out' && !(await hasWorkflow(temporal, fanOutWorkflowId(tenantId, eventId)))) {
          // A direct fan-out (publish started the deliveries itself): the event row is its record.
          const rows = await store.count('herald_deliveries', { where: { event_id: eventId } });
          if (Number(event.matched_count) !== webhooks || rows !== webhooks) fanOutProblems.push(`${eventId}: direct fan-out matched ${String(event.matched_count)}, ${rows} rows`);
          return;
        }
        const d = await handle.describe();
        if (d.status.name !== 'COMPLETED') {
          fanOutProblems.push(`${eventId}: fan-out ${d.status.name}`);
          return;
        }
        const r = await handle.result();
        if (r.started !== webhooks || r.skipped !== 0) fanOutProblems.push(`${eventId}: fan-out started ${r.started}, skipped ${r.skipped}`);
      } catch (err) {
        fanOutProblems.push(`${eventId}: ${(err as Error).message}`);
      }
    });
    for (const p of fanOutProblems) violations.push(`fan-out: ${p}`);
    // Fan-out batches that were retried (a worker died under them): how long their deliveries waited.
    const fanOutRetries: { eventId: string; attempt: number; spanMs: number }[] = [];
    await forEachLimited(eventIds, 16, async (eventId) => {
      try {
        if (!(await hasWorkflow(temporal, fanOutWorkflowId(tenantId, eventId)))) return;
        const history = await temporal.workflow.getHandle(fanOutWorkflowId(tenantId, eventId)).fetchHistory();
        const events = history.events ?? [];
        for (const e of events) {
          const attempt = Number(e.activityTaskStartedEventAttributes?.attempt ?? 1);
          if (attempt <= 1) continue;
          const scheduledId = Number(e.activityTaskStartedEventAttributes?.scheduledEventId ?? 0);
          const scheduled = events.find((x) => Number(x.eventId) === scheduledId);
          fanOutRetries.push({ eventId, attempt, spanMs: timestampMs(e.eventTime) - timestampMs(scheduled?.eventTime) });
        }
      } catch {
        // reported above
      }
    });
    if (fanOutRetries.length) {
      const worst = fanOutRetries.reduce((a, b) => (b.spanMs > a.spanMs ? b : a));
      notes.push(`fan-out batches retried after a worker died under them: ${fanOutRetries.length}; the last attempt of the worst started ${(worst.spanMs / 1000).toFixed(1)}s after the batch was scheduled (attempt ${worst.attempt}, event ${worst.eventId})`);
    }
    const stillRunning = Number((await temporal.workflow.count(`TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"`)).count);
    if (stillRunning !== 0) violations.push(`${stillRunning} workflows of the task queue are still running`);

    // ── audit 2: what the main receiver saw ──
    const byDeliveryPath = new Map<string, Expected>();
    for (const exp of expected.values()) if (exp.kind === 'main') byDeliveryPath.set(`${exp.path} ${exp.deliveryId}`, exp);
    const receivedValid = new Set<string>();
    const distinct = new Set<string>();
    let invalidSignatures = 0;
    const requestProblems: string[] = [];
    for (const req of main.requests as ChaosRequest[]) {
      const exp = byDeliveryPath.get(`${req.path} ${req.deliveryId}`);
      if (!exp) {
        requestProblems.push(`a request nobody expected: ${req.path} delivery ${req.deliveryId} webhook-id ${req.webhookId}`);
        continue;
      }
      distinct.add(exp.deliveryId);
      if (!req.valid) {
        invalidSignatures += 1;
        requestProblems.push(`${exp.deliveryId} attempt ${req.attempt}: signature invalid (${req.verifyError})`);
        continue;
      }
      if (req.webhookId !== exp.eventId) requestProblems.push(`${exp.deliveryId} attempt ${req.attempt}: webhook-id ${req.webhookId}, expected ${exp.eventId} (a duplicate under another id)`);
      else if (JSON.stringify(req.data) !== JSON.stringify(exp.payload)) requestProblems.push(`${exp.deliveryId}: payload differs from the event's`);
      else receivedValid.add(exp.deliveryId);
    }
    for (const p of requestProblems.slice(0, 20)) violations.push(`receiver: ${p}`);
    if (requestProblems.length > 20) violations.push(`receiver: … and ${requestProblems.length - 20} more`);
    const mainExpected = [...expected.values()].filter((e) => e.kind === 'main');
    const lost = mainExpected.filter((e) => !receivedValid.has(e.deliveryId));
    if (lost.length) violations.push(`lost: ${lost.length} deliveries never received with a valid signature, e.g. ${lost.slice(0, 5).map((e) => `${e.workflowId} (row ${String(rowsById.get(e.deliveryId)?.status)})`).join(', ')}`);
    const notSuccess = mainExpected.filter((e) => rowsById.get(e.deliveryId)?.status !== 'success');
    if (notSuccess.length) {
      violations.push(
        `main deliveries not 'success': ${notSuccess.length}, e.g. ${notSuccess
          .slice(0, 5)
          .map((e) => {
            const o = outcomeByDelivery.get(e.deliveryId);
            const received = main.requests.filter((r) => r.deliveryId === e.deliveryId).map((r) => `#${r.attempt}→${r.status}`);
            return `${e.workflowId}: row ${String(o?.row.status)} attempts ${String(o?.row.attempts)} error "${String(o?.row.error ?? '')}", Temporal ${o?.result ? `${o.result.status}/${o.result.attempts}` : '?'}, receiver saw [${received.join(' ')}]`;
          })
          .join('; ')}`,
      );
    }
    // A duplicate is a request the receiver accepted (2xx) for a delivery it had already accepted; retries after a
    // 503 or a dropped connection are not duplicates from the receiver's point of view.
    const accepted = new Map<string, number>();
    for (const req of main.requests) if (req.status >= 200 && req.status < 300 && req.deliveryId) accepted.set(req.deliveryId, (accepted.get(req.deliveryId) ?? 0) + 1);
    const duplicates = [...accepted.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0);
    const redundant = main.requests.length - distinct.size;
    // Latency under chaos: from an event's publish to the first accepted request of each of its deliveries.
    const firstAccepted = new Map<string, number>();
    for (const req of main.requests) if (req.status >= 200 && req.status < 300 && req.deliveryId && !firstAccepted.has(req.deliveryId)) firstAccepted.set(req.deliveryId, req.at);
    const latencies = mainExpected
      .map((e) => ({ e, ms: (firstAccepted.get(e.deliveryId) ?? Number.NaN) - (publishedAt.get(e.eventId) ?? Number.NaN) }))
      .filter((l) => Number.isFinite(l.ms))
      .sort((a, b) => a.ms - b.ms);
    const pct = (q: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.ms : 0);
    const slowest = latencies[latencies.length - 1];

    // ── audit 3: the probes ──
    const probeLines: string[] = [];
    const probeOutcomes = (kind: Kind) => [...expected.values()].filter((e) => e.kind === kind).map((e) => ({ exp: e, ...outcomeByDelivery.get(e.deliveryId) }));
    for (const o of probeOutcomes('silent')) {
      const row = o.row;
      const arrivals = silent.arrivals.filter((d) => d === o.exp.deliveryId).length;
      probeLines.push(`never-answering: ${String(row?.status)} after ${String(row?.attempts)} recorded attempts (${arrivals} requests arrived), error "${String(row?.error)}"`);
      if (row?.status !== 'dead') violations.push(`never-answering probe ${o.exp.workflowId}: status ${String(row?.status)}, expected dead`);
      else {
        // Its last attempt either timed out on the wire ("timeout after 1000ms … retries exhausted") or, when a
        // worker kill took it, in Temporal ("Activity task timed out"): both are the timeout path.
        if (!/timeout after \d+ms|timed out/i.test(String(row.error))) violations.push(`never-answering probe ${o.exp.workflowId}: error "${String(row.error)}" does not say timeout`);
        if (!(Number(row.attempts) >= 1 && Number(row.attempts) <= opts.probeSchedule.length)) violations.push(`never-answering probe ${o.exp.workflowId}: ${String(row.attempts)} attempts, expected 1–${opts.probeSchedule.length}`);
        if (row.response_code !== null) violations.push(`never-answering probe ${o.exp.workflowId}: response code ${String(row.response_code)}`);
        if (arrivals < 1) violations.push(`never-answering probe ${o.exp.workflowId}: no request ever arrived`);
        if (/retries exhausted/.test(String(row.error)) && Number(row.attempts) !== opts.probeSchedule.length) violations.push(`never-answering probe ${o.exp.workflowId}: retries exhausted after ${String(row.attempts)} of ${opts.probeSchedule.length} attempts`);
      }
    }
    for (const o of probeOutcomes('huge')) {
      const row = o.row;
      const bodyBytes = Buffer.byteLength(String(row?.response_body ?? ''), 'utf8');
      const logBodies = (attemptRows.get(o.exp.deliveryId) ?? []).map((a) => Buffer.byteLength(String(a.response_body ?? ''), 'utf8'));
      probeLines.push(`50 MB body: ${String(row?.status)} / HTTP ${String(row?.response_code)} after ${String(row?.attempts)} attempts; stored ${bodyBytes} bytes (attempt log: ${logBodies.join(', ')})`);
      if (row?.status !== 'success' || row.response_code !== 200) violations.push(`50 MB probe ${o.exp.workflowId}: ${String(row?.status)} / ${String(row?.response_code)}, expected success / 200 (error "${String(row?.error)}")`);
      if (bodyBytes > RESPONSE_BODY_LIMIT_BYTES || logBodies.some((b) => b > RESPONSE_BODY_LIMIT_BYTES)) violations.push(`50 MB probe ${o.exp.workflowId}: stored ${bodyBytes} bytes, more than ${RESPONSE_BODY_LIMIT_BYTES}`);
      if (row?.status === 'success' && bodyBytes !== RESPONSE_BODY_LIMIT_BYTES) violations.push(`50 MB probe ${o.exp.workflowId}: stored ${bodyBytes} bytes, expected exactly the first ${RESPONSE_BODY_LIMIT_BYTES}`);
    }
    const hugeBytesWrittenMax = Math.max(0, ...huge.bytesWritten);
    if (huge.bytesWritten.some((b) => b >= HUGE_BODY_BYTES / 2)) {
      violations.push(`50 MB probe: the worker read ${huge.bytesWritten.map((b) => `${(b / 1e6).toFixed(1)} MB`).join(', ')} of a 50 MB body (it should stop after 16 KiB)`);
    }
    for (const o of probeOutcomes('redirect')) {
      const row = o.row;
      probeLines.push(`redirect to ${FORBIDDEN_HOST}: ${String(row?.status)} / HTTP ${String(row?.response_code)} after ${String(row?.attempts)} attempts, error "${String(row?.error)}"`);
      if (row?.status !== 'dead' || row.response_code !== 302) violations.push(`redirect probe ${o.exp.workflowId}: ${String(row?.status)} / ${String(row?.response_code)}, expected dead / 302`);
      else if (!/redirect/i.test(String(row.error))) violations.push(`redirect probe ${o.exp.workflowId}: error "${String(row.error)}" does not say redirect`);
    }
    for (const o of probeOutcomes('refused')) {
      const row = o.row;
      probeLines.push(`direct to ${FORBIDDEN_HOST}: ${String(row?.status)} after ${String(row?.attempts)} attempts, error "${String(row?.error)}"`);
      if (row?.status !== 'dead') violations.push(`refused probe ${o.exp.workflowId}: ${String(row?.status)}, expected dead`);
      else if (!/127\.0\.0\.2/.test(String(row.error))) violations.push(`refused probe ${o.exp.workflowId}: error "${String(row.error)}" does not name the refused address`);
    }
    if (forbidden.arrivals.length !== 0) violations.push(`the ${FORBIDDEN_HOST} receiver saw ${forbidden.arrivals.length} requests; it must see none`);

    // ── audit 4: the worker processes ──
    for (const u of supervisor.unexpectedExits) violations.push(`worker ${u.pid} exited by itself at t+${(u.at / 1000).toFixed(1)}s (${u.exit}):\n${u.stderrTail}`);
    const workerPeakRssMb = Math.max(0, ...supervisor.incarnations.map((i) => i.peakRssKb)) / 1024;
    if (workerPeakRssMb > opts.maxWorkerRssMb) violations.push(`a worker process peaked at ${workerPeakRssMb.toFixed(0)} MB RSS, above the ${opts.maxWorkerRssMb} MB ceiling`);

    const totalMs = Date.now() - started;
    const counts = Object.entries(statusCounts)
      .sort()
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const summary = [
      `── chaos summary: ${opts.label} (seed ${opts.seed}) ──`,
      `sent (deliveries published):  ${mainCount} main (${events} events × ${webhooks} webhooks) + ${probeEvents.length} probes`,
      `requests received (main):     ${main.requests.length}`,
      `received (distinct, valid):   ${receivedValid.size}`,
      `duplicates (same webhook-id): ${duplicates} (2xx twice or more; ${redundant} requests beyond one per delivery, incl. retries after 503s and drops)`,
      `lost:                         ${lost.length}`,
      `invalid signatures:           ${invalidSignatures}`,
      `final statuses:               ${counts}`,
      `table vs Temporal mismatches: ${mismatches.length}`,
      `faults:`,
      ...[...faults].sort((a, b) => a.at - b.at).map((f) => `  t+${(f.at / 1000).toFixed(1)}s ${f.what}${f.detail ? ` — ${f.detail}` : ''}`),
      `  worker start-ups: ${supervisor.incarnations.map((i) => (i.readyAt ? `${((i.readyAt - i.startedAt) / 1000).toFixed(1)}s` : (i.end ?? '?'))).join(', ')} (last: ${supervisor.incarnations.at(-1)?.startup ?? '?'})`,
      `  worker starts that failed and were retried: ${supervisor.startRetries}; unexpected worker exits: ${supervisor.unexpectedExits.length}`,
      `  publish/deliver calls retried through faults: ${publishRetries.retries}${publishRetries.lastError ? ` (last: ${publishRetries.lastError.slice(0, 160)})` : ''}`,
      `probes:`,
      ...probeLines.map((l) => `  ${l}`),
      `  ${FORBIDDEN_HOST} receiver saw ${forbidden.arrivals.length} requests; 50 MB receiver wrote at most ${(hugeBytesWrittenMax / 1e6).toFixed(2)} MB per response before the worker hung up`,
      `publish → first 2xx: p50 ${(pct(0.5) / 1000).toFixed(1)}s, p99 ${(pct(0.99) / 1000).toFixed(1)}s, max ${(pct(1) / 1000).toFixed(1)}s${slowest ? ` (${slowest.e.workflowId})` : ''}`,
      `worker peak RSS (VmHWM): ${workerPeakRssMb.toFixed(0)} MB max over ${supervisor.incarnations.length} processes (${supervisor.incarnations.map((i) => `${(i.peakRssKb / 1024).toFixed(0)}`).join('/')} MB)`,
      `timings: setup ${(setupMs / 1000).toFixed(1)}s, publish+faults ${(faultsDoneMs / 1000).toFixed(1)}s, drain ${(drainMs / 1000).toFixed(1)}s, total ${(totalMs / 1000).toFixed(1)}s`,
      `violations: ${violations.length}`,
    ].join('\n');
    return {
      summary,
      violations,
      notes,
      stats: {
        mainDeliveries: mainCount,
        requests: main.requests.length,
        distinctReceived: receivedValid.size,
        duplicates,
        lost: lost.length,
        invalidSignatures,
        statusCounts,
        workerPeakRssMb,
        hugeBytesWrittenMax,
        totalMs,
      },
    };
  } finally {
    for (const fn of cleanup.reverse()) await fn().catch((err: unknown) => log(`cleanup: ${(err as Error).message}`));
    if (process.env['HERALD_CHAOS_KEEP_DIR']) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
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

async function hasWorkflow(temporal: Client, workflowId: string): Promise<boolean> {
  try {
    await temporal.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** The attempt the fast path's local activity (deliverFirstAttempt) reported in its marker, 0 when none did. */
function firstAttemptOf(events: readonly { markerRecordedEventAttributes?: { details?: Record<string, { payloads?: { data?: Uint8Array | null }[] | null }> | null } | null }[]): number {
  for (const e of events) {
    const data = e.markerRecordedEventAttributes?.details?.['result']?.payloads?.[0]?.data;
    if (!data) continue;
    try {
      const result = JSON.parse(Buffer.from(data).toString('utf8')) as { outcome?: string; attempt?: number };
      if (result.outcome && typeof result.attempt === 'number') return result.attempt;
    } catch {
      // not a JSON result: another marker
    }
  }
  return 0;
}
