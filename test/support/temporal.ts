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

export async function startDevTemporal(opts: { uiPort?: number } = {}): Promise<TemporalForTests & { server: RunningDevServer }> {
  const binary = await resolveTemporalBinary('cli', { allowSdkDownload: false });
  const server = await startDevServer({ binary, ...(opts.uiPort ? { uiPort: opts.uiPort } : {}) });
  try {
    const env = await TestWorkflowEnvironment.createFromExistingServer({ address: server.address, namespace: 'default' });
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

/**
 * The time-skipping server, started by us and then wrapped by the SDK's environment with time skipping on.
 * The public `createTimeSkipping` would start the server itself within a fixed 5 s window, too short on a
 * loaded 2-core machine; the SDK's internal `create` (pinned SDK version) accepts an existing server.
 * This server cannot register custom search attributes: give HeraldClient `searchAttributes: false`.
 */
export async function startTimeSkippingTemporal(): Promise<TemporalForTests & { server: RunningTestServer }> {
  const binary = await resolveTemporalBinary('test-server', { allowSdkDownload: false });
  const server = await startTimeSkippingServer({ binary });
  try {
    const create = (TestWorkflowEnvironment as unknown as { create(opts: object): Promise<TestWorkflowEnvironment> }).create.bind(TestWorkflowEnvironment);
    const env = await create({ server: { type: 'existing' }, address: server.address, namespace: 'default', supportsTimeSkipping: true });
    if (!env.supportsTimeSkipping) throw new Error('the environment does not skip time');
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
