/**
 * `npm start`: the whole of Herald on one machine. Starts (or connects to) Temporal, opens the delivery
 * table, runs the worker and the HTTP API, prints where everything is, and stops all of it on SIGINT/SIGTERM.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { pino, type Logger } from 'pino';
import { HeraldClient } from './client/herald-client.js';
import { ConfigError, describeConfig, loadConfig, type Config } from './config/config.js';
import { portAcceptsConnections } from './embedded/child-process.js';
import { heraldVersion } from './embedded/project-root.js';
import { registerSearchAttributes } from './embedded/register-search-attributes.js';
import { describeResolution, resolveTemporalBinary, TemporalBinaryNotFoundError } from './embedded/temporal-binaries.js';
import { startDevServer, type RunningDevServer } from './embedded/temporal-dev-server.js';
import { createApp } from './http/create-app.js';
import { checkHealth } from './http/health.js';
import { createGuardedDispatcher, EgressAllowListError, parseEgressAllowList } from './activities/egress-guard.js';
import type { DataEngine } from './store/data-engine.js';
import { DatabaseUrlError, openEngine } from './store/open-engine.js';
import { createSecretBox } from './store/secret-box.js';
import { loadEncryptionKey } from './config/encryption-key.js';
import { ensureRetentionSchedule } from './worker/retention-schedule.js';
import { createWorker } from './worker/create-worker.js';

/** Ctrl-C must stop everything within this, whatever hangs. */
const HARD_STOP_MS = 15_000;

interface Running {
  devServer?: RunningDevServer;
  store?: DataEngine;
  connection?: Connection;
  nativeConnection?: NativeConnection;
  worker?: Worker;
  workerRun?: Promise<void>;
  http?: ServerType;
}

async function start(config: Config, logger: Logger, running: Running): Promise<void> {
  mkdirSync(config.dataDir, { recursive: true });
  logger.debug({ config: describeConfig(config) }, 'configuration');
  // Validate everything cheap before starting anything.
  const egressAllow = parseEgressAllowList(config.egressAllow);
  const box = createSecretBox(loadEncryptionKey(config, (line) => logger.info(line)));

  const store = await openEngine(config.databaseUrl);
  running.store = store;

  let address: string;
  let connectionOptions: Parameters<typeof Connection.connect>[0] = {};
  let uiUrl: string | undefined;
  if (config.temporalAddress) {
    const envConfig = loadClientConnectConfig();
    connectionOptions = { ...envConfig.connectionOptions } as typeof connectionOptions;
    address = config.temporalAddress;
    logger.info(`Using the Temporal cluster at ${address} (namespace ${config.temporalNamespace}); no embedded server.`);
  } else {
    for (const [variable, port] of [['HERALD_TEMPORAL_PORT', config.temporalPort], ['HERALD_UI_PORT', config.uiPort]] as const) {
      if (await portAcceptsConnections('127.0.0.1', port)) {
        throw new ConfigError(variable, `port ${port} is already in use on 127.0.0.1 (another Temporal or Herald?): choose another port, or set TEMPORAL_ADDRESS to use that server`);
      }
    }
    const binary = await resolveTemporalBinary('cli', { allowSdkDownload: false, log: (line) => logger.info(line) });
    logger.info(describeResolution(binary));
    running.devServer = await startDevServer({
      binary,
      dbFile: path.join(config.dataDir, 'temporal.sqlite'),
      port: config.temporalPort,
      uiPort: config.uiPort,
      logFile: path.join(config.dataDir, 'temporal-server.log'),
      namespace: config.temporalNamespace,
    });
    address = running.devServer.address;
    uiUrl = running.devServer.uiUrl;
  }

  running.connection = await Connection.connect({ ...connectionOptions, address });
  running.nativeConnection = await NativeConnection.connect({ ...(connectionOptions as object), address });
  if (config.temporalAddress) {
    const added = await registerSearchAttributes(running.connection, config.temporalNamespace);
    if (added.length) logger.info(`Registered search attributes: ${added.join(', ')}`);
  }
  const temporal = new Client({ connection: running.connection, namespace: config.temporalNamespace });
  const herald = new HeraldClient({ temporal, store, box, taskQueue: config.taskQueue, maxPayloadBytes: config.maxPayloadBytes, httpsOnly: config.httpsOnly });
  void herald; // the REST API will be built on it
  await ensureRetentionSchedule(temporal, config);

  running.worker = await createWorker({
    connection: running.nativeConnection,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    deps: {
      store,
      box,
      starter: { temporal, taskQueue: config.taskQueue, searchAttributes: true },
      dispatcher: createGuardedDispatcher({ allow: egressAllow }),
      clock: Date.now,
      random: Math.random,
      logger: logger.child({ component: 'activities' }),
      userAgent: `Herald/${heraldVersion()}`,
    },
  });
  running.workerRun = running.worker.run();
  running.workerRun.catch((err: unknown) => {
    logger.error({ err }, 'the worker stopped with an error');
    process.kill(process.pid, 'SIGTERM');
  });

  const connection = running.connection;
  const app = createApp({ health: () => checkHealth({ connection, namespace: config.temporalNamespace, store }) });
  running.http = await new Promise<ServerType>((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: config.apiHost, port: config.apiPort }, () => resolve(server));
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new ConfigError('HERALD_API_PORT', `port ${config.apiPort} is already in use on ${config.apiHost}`) : err),
    );
  });

  const lines = [
    `Temporal:     ${address} (namespace ${config.temporalNamespace}, task queue ${config.taskQueue})`,
    ...(uiUrl ? [`Temporal UI:  ${uiUrl}`] : []),
    `Herald API:   http://${config.apiHost}:${config.apiPort} (GET /healthz)`,
    `Data:         ${config.dataDir}`,
  ];
  for (const line of lines) logger.info(line);
  logger.info('Herald is ready. Press Ctrl-C to stop.');
}

async function stop(running: Running, logger: Logger): Promise<void> {
  // Order: stop taking work, let in-flight activities finish (or hand them back), then close what they use.
  if (running.http) await new Promise<void>((resolve) => running.http!.close(() => resolve()));
  if (running.worker && running.worker.getState() === 'RUNNING') running.worker.shutdown();
  await running.workerRun?.catch(() => undefined);
  await running.nativeConnection?.close().catch(() => undefined);
  await running.connection?.close().catch(() => undefined);
  await running.store?.close().catch((err: unknown) => logger.warn({ err }, 'closing the database failed'));
  await running.devServer?.stop();
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  const logger = pino({ level: config.logLevel, base: undefined, timestamp: pino.stdTimeFunctions.isoTime });
  // Temporal's own runtime logs through the same logger, at warn and above.
  Runtime.install({
    logger: {
      log: (level, message, meta) => logger[level === 'TRACE' ? 'trace' : level === 'DEBUG' ? 'debug' : level === 'INFO' ? 'info' : level === 'WARN' ? 'warn' : 'error'](meta ?? {}, message),
      trace: (m, meta) => logger.trace(meta ?? {}, m),
      debug: (m, meta) => logger.debug(meta ?? {}, m),
      info: (m, meta) => logger.info(meta ?? {}, m),
      warn: (m, meta) => logger.warn(meta ?? {}, m),
      error: (m, meta) => logger.error(meta ?? {}, m),
    },
    shutdownSignals: [],
  });

  const running: Running = {};
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal} received: stopping Herald …`);
    const hard = setTimeout(() => {
      logger.error(`did not stop within ${HARD_STOP_MS} ms; exiting`);
      process.exit(1);
    }, HARD_STOP_MS);
    hard.unref();
    stop(running, logger).then(
      () => {
        logger.info('Herald stopped.');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  try {
    await start(config, logger, running);
  } catch (err) {
    // Errors about the user's setup are explained in one line; anything else is a bug and keeps its stack.
    const expected = [ConfigError, TemporalBinaryNotFoundError, EgressAllowListError, DatabaseUrlError].some((type) => err instanceof type);
    const message = expected ? (err as Error).message : ((err as Error).stack ?? String(err));
    logger.error(`Herald could not start: ${message}`);
    await stop(running, logger).catch(() => undefined);
    process.exit(1);
  }
}

void main();
