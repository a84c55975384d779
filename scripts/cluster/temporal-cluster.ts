/**
 * The real Temporal server on Postgres, set up the way docker-compose.yml sets it up: the compose file's schema
 * job (deploy/temporal-setup.sh schema, i.e. temporal-sql-tool create / setup-schema -v 0.0 / update-schema
 * with the server's bundled postgresql v12 schemas), then `temporal-server start` with the compose `temporal`
 * service's environment read by the server's own config template, then the namespace with the `temporal` CLI.
 * Search attributes are left to Herald (registerSearchAttributes at its start).
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { portAcceptsConnections, spawnOwned, type OwnedProcess } from '../../src/embedded/child-process.js';
import { resolveTemporalBinary } from '../../src/embedded/temporal-binaries.js';
import type { TemporalServerBinaries } from '../../src/embedded/temporal-server-binary.js';
import { bindMounts, COMPOSE_SERVICES, composeEnvironment, composeVariables, LOOPBACK, localEnvironment, type ComposeFile, type LocalStack } from './compose-env.js';

const run = promisify(execFile);

const SERVER_READY_TIMEOUT_MS = 120_000;
const SERVER_STOP_GRACE_MS = 20_000;

/** The services one `temporal-server start` runs: a whole cluster in one process. */
export const SERVER_SERVICES = ['frontend', 'history', 'matching', 'worker'] as const;

/** The template's port variables, each given a free port so this server cannot collide with another one. */
const PORT_VARIABLES = [
  'FRONTEND_HTTP_PORT',
  'FRONTEND_MEMBERSHIP_PORT',
  'HISTORY_GRPC_PORT',
  'HISTORY_MEMBERSHIP_PORT',
  'MATCHING_GRPC_PORT',
  'MATCHING_MEMBERSHIP_PORT',
  'WORKER_GRPC_PORT',
  'WORKER_MEMBERSHIP_PORT',
] as const;

/**
 * A free port below 32768. Temporal's SQL schema stores each service's RPC port in a SMALLINT
 * (cluster_membership.rpc_port), so a port from the kernel's ephemeral range (32768–60999, what binding port 0
 * gives) makes the server die at start with "value … is out of range for type smallint".
 */
export async function freeServerPort(taken: Set<number> = new Set()): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    const busy = await portAcceptsConnections(LOOPBACK, port, 200);
    if (busy) continue;
    const bindable = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, LOOPBACK, () => srv.close(() => resolve(true)));
    });
    if (bindable) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free port in 20000–31999 on 127.0.0.1 after 200 tries');
}

function baseEnv(extraPath?: string): Record<string, string> {
  return { PATH: [extraPath, process.env.PATH ?? '/usr/bin:/bin'].filter(Boolean).join(path.delimiter), HOME: process.env.HOME ?? '/tmp' };
}

/**
 * Runs the compose schema job's own script with the compose job's environment: creates `temporal`,
 * `temporal_visibility` and Herald's `herald` databases and applies the versioned schemas. Idempotent.
 */
export async function setupSchemas(opts: { compose: ComposeFile; local: LocalStack; binaries: TemporalServerBinaries }): Promise<{ env: Record<string, string>; output: string }> {
  const svc = COMPOSE_SERVICES.schemaJob;
  const command = opts.compose.services[svc]?.command;
  const argv = Array.isArray(command) ? command : [];
  const script = bindMounts(opts.compose, svc).find((m) => argv[0] === m.container);
  if (!script) throw new Error(`${svc}: its command ${JSON.stringify(argv)} does not run a script mounted from the repository`);
  const env = localEnvironment(opts.compose, svc, opts.local);
  // temporal-sql-tool comes from the built server's folder, as admin-tools has it on its PATH.
  const { stdout, stderr } = await run('/bin/sh', [script.host, ...argv.slice(1)], { env: { ...baseEnv(path.dirname(opts.binaries.sqlTool)), ...env }, timeout: 180_000, maxBuffer: 16 << 20 });
  return { env, output: stdout + stderr };
}

export interface TemporalCluster {
  readonly address: string;
  readonly namespace: string;
  /** The environment the server runs with (compose's, rewritten, plus the port and shard variables). */
  readonly env: Record<string, string>;
  readonly logFile: string;
  process(): OwnedProcess;
  /** SIGTERM the server (Temporal's graceful stop), start it again on the same ports and data; resolves when it serves. */
  restart(): Promise<{ downMs: number }>;
  stop(): Promise<void>;
  /** The project's `temporal` CLI against this server: `temporal <args> --address … --namespace …`. */
  cli(args: string[]): Promise<string>;
}

/** Waits until the frontend answers GetSystemInfo; fails at once if the process died. */
async function waitForFrontend(address: string, proc: OwnedProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  let last: unknown;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`temporal-server exited during start-up:\n${proc.tail(40)}`);
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 2_000 });
      await connection.workflowService.getSystemInfo({});
      return;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await connection?.close().catch(() => undefined);
    }
  }
  throw new Error(`temporal-server at ${address} did not serve within ${timeoutMs} ms (last error: ${(last as Error)?.message}):\n${proc.tail(40)}`);
}

export async function startTemporalCluster(opts: {
  compose: ComposeFile;
  local: LocalStack;
  binaries: TemporalServerBinaries;
  historyShards: number;
  dir: string;
  log?: (line: string) => void;
}): Promise<TemporalCluster> {
  const address = `${opts.local.temporal.host}:${opts.local.temporal.port}`;
  const ports: Record<string, string> = { FRONTEND_GRPC_PORT: String(opts.local.temporal.port) };
  const taken = new Set([opts.local.temporal.port]);
  for (const name of PORT_VARIABLES) ports[name] = String(await freeServerPort(taken));
  const env = { ...localEnvironment(opts.compose, COMPOSE_SERVICES.temporal, opts.local), NUM_HISTORY_SHARDS: String(opts.historyShards), LOG_LEVEL: 'warn', ...ports };
  const logFile = path.join(opts.dir, 'temporal-server.log');
  const args = ['start', ...SERVER_SERVICES.flatMap((s) => ['--service', s])];
  const spawnServer = () => spawnOwned(opts.binaries.server, args, { logFile, env: { ...baseEnv(), ...env }, cwd: opts.dir });

  let proc = spawnServer();
  try {
    await waitForFrontend(address, proc, SERVER_READY_TIMEOUT_MS);
  } catch (err) {
    await proc.stop(2_000);
    throw err;
  }

  const cliBinary = await resolveTemporalBinary('cli', { allowSdkDownload: false, log: opts.log });
  if (cliBinary.route === 'sdk-download') throw new Error('no temporal CLI: ' + cliBinary.detail);
  const namespaceJob = composeEnvironment(opts.compose, COMPOSE_SERVICES.namespaceJob, composeVariables(opts.local));
  const namespace = namespaceJob.TEMPORAL_NAMESPACE ?? 'default';
  const cli = async (cliArgs: string[]) => {
    const { stdout } = await run(cliBinary.command, [...cliBinary.argsPrefix, ...cliArgs, '--address', address, '--namespace', namespace], { timeout: 60_000, maxBuffer: 64 << 20, env: { ...baseEnv() } });
    return stdout;
  };

  // As the compose namespace job does: create the namespace if it is missing, with the job's retention.
  const exists = await cli(['operator', 'namespace', 'describe']).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await cli(['operator', 'namespace', 'create', '--retention', namespaceJob.NAMESPACE_RETENTION ?? '72h']).catch((err: { stderr?: string }) => {
      if (!/already exists/i.test(err.stderr ?? '')) throw err;
    });
  }
  // The frontend's namespace cache refreshes on a timer: wait until a plain RPC on the namespace works.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const connection = await Connection.connect({ address });
    try {
      await connection.workflowService.describeNamespace({ namespace });
      await connection.workflowService.countWorkflowExecutions({ namespace, query: '' });
      break;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`namespace ${namespace} not usable after 60 s: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await connection.close().catch(() => undefined);
    }
  }
  opts.log?.(`temporal-server ${opts.binaries.version} serving ${address} (namespace ${namespace}, ${opts.historyShards} history shards, services ${SERVER_SERVICES.join(', ')})`);

  return {
    address,
    namespace,
    env,
    logFile,
    process: () => proc,
    async restart() {
      const down = Date.now();
      await proc.stop(SERVER_STOP_GRACE_MS);
      proc = spawnServer();
      await waitForFrontend(address, proc, SERVER_READY_TIMEOUT_MS);
      return { downMs: Date.now() - down };
    },
    stop: () => proc.stop(SERVER_STOP_GRACE_MS),
    cli,
  };
}
