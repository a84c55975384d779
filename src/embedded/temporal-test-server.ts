import os from 'node:os';
import path from 'node:path';
import { freePort, type OwnedProcess } from './child-process.js';
import type { ResolvedBinary } from './temporal-binaries.js';
import { spawnTemporalServer } from './wait-for-temporal.js';

export interface RunningTestServer {
  readonly address: string;
  readonly process: OwnedProcess;
  stop(): Promise<void>;
}

/** Starts the time-skipping test server (`temporal-test-server <port>`) as a process Herald owns. */
export async function startTimeSkippingServer(opts: { binary: ResolvedBinary; port?: number; logFile?: string; startTimeoutMs?: number }): Promise<RunningTestServer> {
  if (opts.binary.route === 'sdk-download') {
    throw new Error('startTimeSkippingServer needs a local binary');
  }
  const port = opts.port ?? (await freePort());
  const logFile = opts.logFile ?? path.join(os.tmpdir(), `herald-temporal-test-server-${process.pid}-${port}.log`);
  // The test server listens on all interfaces; connect over loopback.
  const address = `127.0.0.1:${port}`;
  const proc = await spawnTemporalServer(opts.binary.command, [...opts.binary.argsPrefix, String(port)], { address, logFile, startTimeoutMs: opts.startTimeoutMs });
  return { address, process: proc, stop: () => proc.stop() };
}
