/** The bench's moving parts: phase results, child processes (receiver, workers, outbox) and the CPU/memory meter. */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineBusySeconds, nowMs, sampleGroup, type FromReceiver, type FromWorker, type LatencySummary, type ToReceiver, type ToWorker } from './bench-lib.js';

export interface Usage {
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

export const HERE = path.dirname(fileURLToPath(import.meta.url));

export class Child<To, From extends { type: string }> {
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

export type ReceiverChild = Child<ToReceiver, FromReceiver>;
export type WorkerChild = Child<ToWorker, FromWorker>;

// ---------------------------------------------------------------------------------------------------------
// Sampling CPU and memory over a phase

export class Meter {
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

export function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

