import { Connection } from '@temporalio/client';
import { spawnOwned, type OwnedProcess } from './child-process.js';

/**
 * Waits until a Temporal frontend answers a real RPC. A server binds its port before it can serve, and on a
 * busy 2-core machine that gap is seconds, so the SDK's fixed 5 s start window is not enough.
 */
export async function waitForTemporal(address: string, opts: { timeoutMs: number; isAlive?: () => boolean; describe?: () => string }): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (opts.isAlive && !opts.isAlive()) {
      throw new Error(`the Temporal server exited during start-up.${opts.describe ? '\n' + opts.describe() : ''}`);
    }
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 2_000 });
      await connection.workflowService.getSystemInfo({});
      // The namespace is created shortly after the frontend comes up.
      await connection.workflowService.describeNamespace({ namespace: 'default' });
      return;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    } finally {
      await connection?.close().catch(() => undefined);
    }
  }
  throw new Error(
    `the Temporal server at ${address} did not answer within ${opts.timeoutMs} ms (last error: ${(lastError as Error)?.message ?? lastError}).` +
      (opts.describe ? '\n' + opts.describe() : ''),
  );
}

/**
 * Spawns a Temporal server binary as a process Herald owns and waits until it serves at `address`; a server
 * that exits or never answers is stopped, and the error carries the tail of its log.
 */
export async function spawnTemporalServer(
  command: string,
  args: string[],
  opts: { address: string; logFile: string; startTimeoutMs?: number | undefined },
): Promise<OwnedProcess> {
  const proc = spawnOwned(command, args, { logFile: opts.logFile });
  let alive = true;
  void proc.exited.then(() => (alive = false));
  try {
    await waitForTemporal(opts.address, {
      timeoutMs: opts.startTimeoutMs ?? 60_000,
      isAlive: () => alive,
      describe: () => `Server log (${opts.logFile}):\n${proc.tail()}`,
    });
  } catch (err) {
    await proc.stop(2_000);
    throw err;
  }
  return proc;
}
