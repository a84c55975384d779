import { Connection } from '@temporalio/client';

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
