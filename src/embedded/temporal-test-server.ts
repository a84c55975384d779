import os from 'node:os';
import path from 'node:path';
import { freePort, spawnOwned, type OwnedProcess } from './child-process.js';
import type { ResolvedBinary } from './temporal-binaries.js';
import { waitForTemporal } from './wait-for-temporal.js';

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
  const proc = spawnOwned(opts.binary.command, [...opts.binary.argsPrefix, String(port)], { logFile });
  let alive = true;
  void proc.exited.then(() => (alive = false));
  // The test server listens on all interfaces; connect over loopback.
  const address = `127.0.0.1:${port}`;
  try {
    await waitForTemporal(address, {
      timeoutMs: opts.startTimeoutMs ?? 60_000,
      isAlive: () => alive,
      describe: () => `Server log (${logFile}):\n${proc.tail()}`,
    });
  } catch (err) {
    await proc.stop(2_000);
    throw err;
  }
  return { address, process: proc, stop: () => proc.stop() };
}
