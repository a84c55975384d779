/**
 * Shared pieces of `npm run bench` (scripts/bench.ts): the clock every process uses, percentiles, /proc
 * readings for processes we did not write (the Temporal server, Postgres), and the IPC messages between the
 * bench and its child processes (receiver, workers, the ObjectStack outbox runner).
 */
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Wall-clock milliseconds with sub-millisecond resolution, comparable across processes on one machine
 * (timeOrigin is the process start on the system clock).
 */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles of a list of milliseconds (rounded to 0.1 ms). */
export function summarize(values: number[]): LatencySummary | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  const round = (v: number) => Math.round(v * 10) / 10;
  let sum = 0;
  for (const v of sorted) sum += v;
  return { count: sorted.length, p50: round(at(50)), p95: round(at(95)), p99: round(at(99)), max: round(sorted[sorted.length - 1]!), mean: round(sum / sorted.length) };
}

const CLK_TCK = 100; // USER_HZ on Linux

export interface ProcSample {
  /** user + system CPU seconds of every process in the group so far. */
  cpuSeconds: number;
  /** Resident set of the whole group now, in MiB. */
  rssMiB: number;
  /** Peak resident set (VmHWM) summed over the group, in MiB: since each process started. */
  hwmMiB: number;
  processes: number;
}

interface Stat {
  pid: number;
  comm: string;
  ppid: number;
  pgrp: number;
  cpuTicks: number;
  /** Start time after boot, in clock ticks. */
  start: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: split after the last ')'.
    const comm = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); ppid is field 4, pgrp 5, utime 14, stime 15, starttime 22.
    return { pid, comm, ppid: Number(rest[1]), pgrp: Number(rest[2]), cpuTicks: Number(rest[11]) + Number(rest[12]), start: Number(rest[19]) };
  } catch {
    return undefined;
  }
}

/** Every process's /proc/<pid>/stat. */
export function listProcesses(): Stat[] {
  const out: Stat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

function readStatusKiB(pid: number, key: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * CPU and memory of a process and everything in its process group (or its direct children) (the Temporal server runs in its own group,
 * see spawnOwned), read from /proc/<pid>/stat and /proc/<pid>/status.
 */
export function sampleGroup(pid: number, group: boolean | 'children' = true): ProcSample {
  const pids: number[] = [];
  if (group) {
    // true: the process group `pid` leads; 'children': `pid` and its direct children (Postgres' backends).
    for (const stat of listProcesses()) if (group === 'children' ? stat.ppid === pid : stat.pgrp === pid) pids.push(stat.pid);
  }
  if (!pids.includes(pid)) pids.push(pid);
  let ticks = 0;
  let rss = 0;
  let hwm = 0;
  for (const p of pids) {
    ticks += readStat(p)?.cpuTicks ?? 0;
    rss += readStatusKiB(p, 'VmRSS');
    hwm += readStatusKiB(p, 'VmHWM');
  }
  return { cpuSeconds: ticks / CLK_TCK, rssMiB: rss / 1024, hwmMiB: hwm / 1024, processes: pids.length };
}

/** What a child process reports about itself (process.resourceUsage / memoryUsage). */
export interface SelfUsage {
  pid: number;
  /** user + system CPU seconds since the process started. */
  cpuSeconds: number;
  /** resourceUsage().maxRSS: the peak resident set since start, MiB. */
  maxRssMiB: number;
  rssMiB: number;
  heapUsedMiB: number;
}

export function selfUsage(): SelfUsage {
  const ru = process.resourceUsage();
  const mu = process.memoryUsage();
  return {
    pid: process.pid,
    cpuSeconds: (ru.userCPUTime + ru.systemCPUTime) / 1e6,
    maxRssMiB: ru.maxRSS / 1024,
    rssMiB: mu.rss / 2 ** 20,
    heapUsedMiB: mu.heapUsed / 2 ** 20,
  };
}

// ---------------------------------------------------------------------------------------------------------
// IPC

/** How the receiver checks a path's requests. */
export interface ReceiverRoute {
  /** 'standard': Standard Webhooks (webhook-id/-timestamp/-signature); 'objectstack': X-Objectstack-Signature. */
  scheme: 'standard' | 'objectstack';
  secret: string;
  /** Answer 503 to the first request of each webhook-id (a delivery that needs one retry). */
  failFirst?: boolean;
}

export type ToReceiver =
  | { type: 'routes'; routes: Record<string, ReceiverRoute> }
  /** Forget what was received (a new phase starts). */
  | { type: 'reset' }
  | { type: 'usage' }
  | { type: 'stop' };

/** One verified-or-not request: [key, receivedAtMs, signatureValid]. */
export type Receipt = [string, number, boolean];

export interface ReceiverCounts {
  requests: number;
  valid: number;
  invalid: number;
  /** Requests whose key had been received before (retries or duplicates). */
  duplicates: number;
  unknownRoute: number;
  down503: number;
  hung: number;
  /** Of the requests also checked with the `standardwebhooks` package: how many it rejected while we accepted, or the reverse. */
  crossChecked: number;
  crossCheckDisagreements: number;
}

export type FromReceiver =
  | { type: 'ready'; port: number }
  | { type: 'receipts'; items: Receipt[] }
  | { type: 'counts'; counts: ReceiverCounts }
  | { type: 'usage'; usage: SelfUsage };

export interface WorkerConfig {
  mode: 'herald' | 'bare';
  address: string;
  taskQueue: string;
  /** herald: the delivery table's URL; bare: unused. */
  database?: string;
  /** herald: hex of the 32-byte key that seals webhook secrets (same as the bench's client). */
  boxKeyHex?: string;
  /** bare: where the baseline's activity POSTs (the receiver's `/bare`). */
  postUrl?: string;
  /** bare: the prebuilt bundle of bench/bare-workflow.ts. */
  bundlePath?: string;
  /** Worker options merged over Herald's (maxCachedWorkflows, maxConcurrentActivityTaskExecutions…). */
  overrides?: Record<string, unknown>;
}

export type ToWorker = { type: 'start'; config: WorkerConfig } | { type: 'usage' } | { type: 'stop' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'usage'; usage: SelfUsage }
  /** bare mode: [workflowId, postAnsweredAtMs] of each baseline activity's POST. */
  | { type: 'done'; items: [string, number][] }
  | { type: 'error'; message: string };

export interface OutboxConfig {
  kind: 'memory' | 'sql';
  /** sql: the SQLite file. */
  dbFile?: string;
  /** The receiver routes to deliver to (one per webhook) and their ObjectStack signing secrets. */
  targets: { url: string; secret: string; refId: string }[];
  /** Keys, one per delivery, in enqueue order; delivery i goes to targets[i % targets.length]. */
  keys: string[];
  concurrency: number;
}

export type ToOutbox = { type: 'start'; config: OutboxConfig } | { type: 'usage' } | { type: 'stop' };

export type FromOutbox =
  | { type: 'ready' }
  | { type: 'enqueued'; items: [string, number][] }
  | { type: 'usage'; usage: SelfUsage }
  | { type: 'error'; message: string };

/** Busy CPU seconds of the whole machine so far (all cores, from /proc/stat): user+nice+system+irq+softirq+steal. */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line;
    return (user + nice + system + irq + softirq + steal) / CLK_TCK;
  } catch {
    return 0;
  }
}
