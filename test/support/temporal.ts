import { TestWorkflowEnvironment } from '@temporalio/testing';
import { resolveTemporalBinary } from '../../src/embedded/temporal-binaries.js';
import { startDevServer, type RunningDevServer } from '../../src/embedded/temporal-dev-server.js';
import { startTimeSkippingServer, type RunningTestServer } from '../../src/embedded/temporal-test-server.js';

/**
 * Real Temporal servers for tests, started by Herald's own lifecycle helpers (never the SDK's download): the
 * dev server in memory, or the time-skipping test server. One per test file.
 */
export interface TemporalForTests {
  env: TestWorkflowEnvironment;
  address: string;
  teardown(): Promise<void>;
}

/** Wraps a started server in the SDK's environment; a server whose environment cannot be made is stopped. */
async function withEnvironment<S extends { address: string; stop(): Promise<void> }>(
  server: S,
  createEnv: (address: string) => Promise<TestWorkflowEnvironment>,
): Promise<TemporalForTests & { server: S }> {
  try {
    const env = await createEnv(server.address);
    return {
      env,
      address: server.address,
      server,
      async teardown() {
        await env.teardown();
        await server.stop();
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

export async function startDevTemporal(opts: { uiPort?: number } = {}): Promise<TemporalForTests & { server: RunningDevServer }> {
  const binary = await resolveTemporalBinary('cli', { allowSdkDownload: false });
  const server = await startDevServer({ binary, ...(opts.uiPort ? { uiPort: opts.uiPort } : {}) });
  return await withEnvironment(server, (address) => TestWorkflowEnvironment.createFromExistingServer({ address, namespace: 'default' }));
}

/**
 * The time-skipping server, started by us and then wrapped by the SDK's environment with time skipping on.
 * The public `createTimeSkipping` would start the server itself within a fixed 5 s window, too short on a
 * loaded 2-core machine; the SDK's internal `create` (pinned SDK version) accepts an existing server.
 * This server cannot register custom search attributes: give HeraldClient `searchAttributes: false`.
 */
export async function startTimeSkippingTemporal(): Promise<TemporalForTests & { server: RunningTestServer }> {
  const binary = await resolveTemporalBinary('test-server', { allowSdkDownload: false });
  const server = await startTimeSkippingServer({ binary });
  return await withEnvironment(server, async (address) => {
    const create = (TestWorkflowEnvironment as unknown as { create(opts: object): Promise<TestWorkflowEnvironment> }).create.bind(TestWorkflowEnvironment);
    const env = await create({ server: { type: 'existing' }, address, namespace: 'default', supportsTimeSkipping: true });
    if (!env.supportsTimeSkipping) {
      await env.teardown();
      throw new Error('the environment does not skip time');
    }
    return env;
  });
}
