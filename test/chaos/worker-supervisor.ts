/**
 * The chaos run's worker processes: how to start one (compiled once), and a supervisor that starts, kills -9,
 * restarts and finally stops them, recording every incarnation (start-up time, peak RSS, how it ended).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../../src/embedded/project-root.js';
import { procStatusKb, sleep } from './chaos-utils.js';

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

export class WorkerSupervisor {
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
