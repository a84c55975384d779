/**
 * The embedded default's Temporal (the dev server: one process, SQLite, one history shard) behind the same
 * interface as the real cluster, so the cluster bench can run the very same Herald processes against both and
 * put the numbers side by side.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { resolveTemporalBinary } from '../../src/embedded/temporal-binaries.js';
import { startDevServer, type RunningDevServer } from '../../src/embedded/temporal-dev-server.js';
import type { TemporalCluster } from './temporal-cluster.js';

const run = promisify(execFile);

export async function startDevServerTarget(opts: { port: number; dir: string; namespace: string }): Promise<TemporalCluster> {
  const binary = await resolveTemporalBinary('cli', { allowSdkDownload: false });
  if (binary.route === 'sdk-download') throw new Error('no temporal CLI: ' + binary.detail);
  const logFile = path.join(opts.dir, 'temporal-dev-server.log');
  const dbFile = path.join(opts.dir, 'temporal-dev.sqlite');
  const start = () => startDevServer({ binary, port: opts.port, dbFile, logFile, namespace: opts.namespace, startTimeoutMs: 120_000 });
  let server: RunningDevServer = await start();
  return {
    address: server.address,
    namespace: opts.namespace,
    env: {},
    logFile,
    process: () => server.process,
    async restart() {
      const down = Date.now();
      await server.stop();
      server = await start();
      return { downMs: Date.now() - down };
    },
    stop: () => server.stop(),
    async cli(args) {
      const { stdout } = await run(binary.command, [...binary.argsPrefix, ...args, '--address', server.address, '--namespace', opts.namespace], { timeout: 60_000, maxBuffer: 64 << 20 });
      return stdout;
    },
  };
}
