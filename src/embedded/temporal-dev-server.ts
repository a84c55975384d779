import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, type OwnedProcess } from './child-process.js';
import { searchAttributeServerArgs } from './register-search-attributes.js';
import type { ResolvedBinary } from './temporal-binaries.js';
import { spawnTemporalServer } from './wait-for-temporal.js';

export interface DevServerOptions {
  /** From `resolveTemporalBinary('cli')`. */
  binary: ResolvedBinary;
  /** SQLite file for durable state; omitted = in memory (tests). */
  dbFile?: string;
  ip?: string;
  port?: number;
  /** Web UI port; `false` runs headless. */
  uiPort?: number | false;
  namespace?: string;
  /** Where the server's own output goes. */
  logFile?: string;
  startTimeoutMs?: number;
}

export interface RunningDevServer {
  readonly address: string;
  readonly uiUrl: string | undefined;
  readonly process: OwnedProcess;
  stop(): Promise<void>;
}

/**
 * Starts `temporal server start-dev` as a process Herald owns: SQLite persistence when `dbFile` is given,
 * Herald's search attributes registered, and the Web UI on `uiPort`. Resolves once the frontend answers.
 */
export async function startDevServer(opts: DevServerOptions): Promise<RunningDevServer> {
  if (opts.binary.route === 'sdk-download') {
    throw new Error("startDevServer needs a local binary; the SDK-download route is handled by startDevServerViaSdk");
  }
  const ip = opts.ip ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(ip));
  const namespace = opts.namespace ?? 'default';
  const args = [
    ...opts.binary.argsPrefix,
    'server', 'start-dev',
    '--ip', ip,
    '--port', String(port),
    '--namespace', namespace,
    '--log-level', 'warn',
    ...searchAttributeServerArgs(),
    // Dev-server speedups the SDK's own CI uses; durability across a clean stop is kept by SQLite's WAL.
    '--sqlite-pragma', 'journal_mode=wal',
    '--sqlite-pragma', 'synchronous=normal',
    '--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value', 'frontend.workerVersioningWorkflowAPIs=true',
  ];
  if (opts.dbFile) {
    mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  let uiUrl: string | undefined;
  if (opts.uiPort === false || opts.uiPort === undefined) {
    args.push('--headless');
  } else {
    args.push('--ui-ip', ip, '--ui-port', String(opts.uiPort), '--ui-disable-news-fetch');
    uiUrl = `http://${ip}:${opts.uiPort}`;
  }
  const logFile = opts.logFile ?? path.join(os.tmpdir(), `herald-temporal-dev-${process.pid}-${port}.log`);
  mkdirSync(path.dirname(logFile), { recursive: true });
  const address = `${ip}:${port}`;
  const proc = await spawnTemporalServer(opts.binary.command, args, { address, logFile, startTimeoutMs: opts.startTimeoutMs });
  if (uiUrl) {
    try {
      await waitForWebUi(uiUrl, UI_READY_TIMEOUT_MS);
    } catch (err) {
      await proc.stop();
      throw err;
    }
  }
  return { address, uiUrl, process: proc, stop: () => proc.stop() };
}

/** The Web UI's backend connects to the frontend a moment after the frontend serves. */
const UI_READY_TIMEOUT_MS = 30_000;

/**
 * Waits until the Web UI answers its own API (it says 503 until its backend has connected), so "ready" means the
 * printed UI address works.
 */
async function waitForWebUi(uiUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${uiUrl}/api/v1/namespaces/default/workflows`, { signal: AbortSignal.timeout(2_000) });
      await response.body?.cancel();
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the Temporal Web UI at ${uiUrl} did not answer within ${timeoutMs} ms (last: ${last})`);
}
