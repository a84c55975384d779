/**
 * Runs Herald's roles in this process: `start` (embedded Temporal unless TEMPORAL_ADDRESS, worker, API),
 * `worker` or `api` alone (distributed setup). Validates config before starting anything, prints where
 * everything is, and stops it all on SIGINT/SIGTERM within 15 s.
 */
import { mkdirSync } from 'node:fs';
import { serve, type ServerType } from '@hono/node-server';
import { Client } from '@temporalio/client';
import { Runtime, type Worker } from '@temporalio/worker';
import { pino, type Logger } from 'pino';
import { HeraldClient } from '../client/herald-client.js';
import { hashApiToken } from '../config/api-tokens.js';
import { describeConfig, loadConfig, type Config } from '../config/config.js';
import { loadEncryptionKey } from '../config/encryption-key.js';
import { parseEgressAllowList } from '../egress/allow-list.js';
import { createGuardedDispatcher } from '../egress/guarded-dispatcher.js';
import { heraldVersion } from '../embedded/project-root.js';
import { ConfigError, SetupError } from '../errors.js';
import { createApp } from '../http/create-app.js';
import { checkHealth } from '../http/health.js';
import { createIdempotencyStore } from '../http/idempotency.js';
import { HeraldMetrics } from '../metrics/metrics.js';
import type { DataEngine } from '../store/data-engine.js';
import { openEngine } from '../store/open-engine.js';
import { createSecretBox } from '../store/secret-box.js';
import { backfillSubscriptions } from '../store/subscriptions.js';
import { convertLegacyWebhooks } from '../store/webhooks.js';
import type { Tracing } from '../telemetry/active-tracing.js';
import { traceContextFields } from '../telemetry/log-trace-context.js';
import { createWorker } from '../worker/create-worker.js';
import { ensureRefanSchedule } from '../worker/refan-schedule.js';
import { ensureRetentionSchedule } from '../worker/retention-schedule.js';
import { ensureLocalAdminToken } from './api-tokens-file.js';
import { temporalLogLevel } from './temporal-log-level.js';
import { connectTemporal, type TemporalConnections } from './temporal-connection.js';

/** A line for the person at the terminal. */
function say(line: string): void {
  process.stdout.write(line + '\n');
}

/**
 * Ctrl-C must stop everything within the worker's shutdown grace plus this, whatever hangs: time for the API
 * and the Temporal server to close after the worker has drained (15 s in all with the default grace).
 */
const HARD_STOP_MARGIN_MS = 5_000;

export interface RunOptions {
  role: 'start' | 'worker' | 'api';
  /** Runs once everything is ready (the demo publishes sample events here). */
  afterReady?: (ctx: { herald: HeraldClient; config: Config; logger: Logger; say: (line: string) => void }) => Promise<void>;
  /** Lets the demo's local receiver through the SSRF guard (HERALD_EGRESS_ALLOW syntax). */
  extraEgressAllow?: string[];
}

interface Running {
  tracing?: Tracing;
  temporal?: TemporalConnections;
  store?: DataEngine;
  worker?: Worker;
  workerRun?: Promise<void>;
  http?: ServerType;
}

async function startRoles(options: RunOptions, config: Config, logger: Logger, running: Running): Promise<void> {
  const withWorker = options.role !== 'api';
  const withApi = options.role !== 'worker';
  mkdirSync(config.dataDir, { recursive: true });
  logger.debug({ config: describeConfig(config) }, 'configuration');
  // Validate everything cheap before starting anything.
  const egressAllow = config.egressAllow.including(parseEgressAllowList((options.extraEgressAllow ?? []).join(',')));
  const box = createSecretBox(loadEncryptionKey(config, (line) => logger.info(line)));
  const adminToken = withApi && !config.apiTokens ? ensureLocalAdminToken(config.dataDir) : undefined;
  // The generated admin token is Herald's own, not configuration: it only needs hashing like a configured one.
  const apiTokens = config.apiTokens ?? (adminToken ? [{ hash: hashApiToken(adminToken.token), tenantId: undefined }] : []);

  const store = await openEngine(config.databaseUrl);
  running.store = store;
  await convertLegacyWebhooks(store);
  const metrics = new HeraldMetrics({ store });
  running.temporal = await connectTemporal(config, logger, { embedded: options.role === 'start' });
  const { connection, nativeConnection } = running.temporal;
  // With tracing on, every client's starts carry the trace context (publish → delivery, fan-out activity → delivery).
  const interceptors = running.tracing?.clientInterceptors;
  const temporal = new Client({ connection, namespace: config.temporalNamespace, ...(interceptors ? { interceptors } : {}) });
  // Where a worker runs in this process, deliveries start over its own NativeConnection with eager start: the
  // server hands the first workflow task straight back instead of through the task queue.
  const starting = withWorker ? new Client({ connection: nativeConnection, namespace: config.temporalNamespace, ...(interceptors ? { interceptors } : {}) }) : temporal;
  const recordStart = (started: { eager: boolean }) => metrics.recordStart(started);
  const herald = new HeraldClient({
    temporal: starting,
    store,
    box,
    taskQueue: config.taskQueue,
    maxPayloadBytes: config.maxPayloadBytes,
    httpsOnly: config.httpsOnly,
    directFanOutLimit: config.directFanOutLimit,
    eagerStart: withWorker,
    onDeliveryStarted: recordStart,
  });

  if (withWorker) {
    await ensureRetentionSchedule(temporal, config);
    await ensureRefanSchedule(temporal, config);
    await backfillSubscriptions(store);
    running.worker = await createWorker({
      connection: nativeConnection,
      namespace: config.temporalNamespace,
      taskQueue: config.taskQueue,
      shutdownGraceMs: config.shutdownGraceMs,
      ...(running.tracing ? { tracing: running.tracing.worker } : {}),
      deps: {
        store,
        box,
        starter: { temporal: starting, taskQueue: config.taskQueue, searchAttributes: true, eager: true, onStarted: recordStart },
        dispatcher: createGuardedDispatcher({ allow: egressAllow }),
        clock: Date.now,
        random: Math.random,
        logger: logger.child({ component: 'activities' }),
        userAgent: `Herald/${heraldVersion()}`,
        metrics,
      },
    });
    running.workerRun = running.worker.run();
    running.workerRun.catch((err: unknown) => {
      logger.error({ err }, 'the worker stopped with an error');
      process.kill(process.pid, 'SIGTERM');
    });
  }

  // The operator page links deliveries to the Web UI: the configured one, else the embedded dev server's.
  const temporalUiUrl = config.temporalUiUrl ?? running.temporal.uiUrl;
  if (withApi) {
    const app = createApp({
      herald,
      health: () => checkHealth({ connection, namespace: config.temporalNamespace, store }),
      tokens: apiTokens,
      idempotency: createIdempotencyStore({ engine: store, box }),
      metrics,
      config: { maxPayloadBytes: config.maxPayloadBytes, ...(temporalUiUrl ? { temporalUi: { url: temporalUiUrl, namespace: config.temporalNamespace } } : {}) },
      logger: logger.child({ component: 'http' }),
    });
    running.http = await new Promise<ServerType>((resolve, reject) => {
      const server = serve({ fetch: app.fetch, hostname: config.apiHost, port: config.apiPort }, () => resolve(server));
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'EADDRINUSE' ? new ConfigError('HERALD_API_PORT', `port ${config.apiPort} is already in use on ${config.apiHost}`) : err),
      );
    });
  }

  const apiUrl = `http://${config.apiHost}:${config.apiPort}`;
  const lines = [
    `Temporal:     ${running.temporal.address} (namespace ${config.temporalNamespace}, task queue ${config.taskQueue})`,
    ...(running.temporal.uiUrl ? [`Temporal UI:  ${running.temporal.uiUrl}`] : []),
    ...(withApi ? [`Herald API:   ${apiUrl} (docs: ${apiUrl}/docs, health: ${apiUrl}/healthz)`, `Operator UI:  ${apiUrl}/ui`] : []),
    ...(adminToken ? [`Admin token:  ${adminToken.file}${adminToken.created ? ' (generated now)' : ''}`] : []),
    ...(withApi && adminToken
      ? [
          `Try it:       curl -s -X POST ${apiUrl}/v1/webhooks -H "Authorization: Bearer $(cat ${adminToken.file})" -H 'content-type: application/json' -d '{"url":"https://example.com/hook","eventTypes":["order.*"]}'`,
        ]
      : []),
    `Data:         ${config.dataDir}`,
    `Role:         ${options.role}${withWorker ? ' (worker' + (withApi ? ' + API)' : ')') : ' (API)'}`,
  ];
  // The banner is for people: plain lines on stdout, beside the structured (JSON) log.
  for (const line of lines) say(line);
  if (options.afterReady) await options.afterReady({ herald, config, logger, say });
  say('Herald is ready. Press Ctrl-C to stop.');
}

async function stopRoles(running: Running, logger: Logger): Promise<void> {
  // Stop taking work, let in-flight activities finish (or hand them back to Temporal), then close what they use.
  if (running.http) await new Promise<void>((resolve) => running.http!.close(() => resolve()));
  if (running.worker && running.worker.getState() === 'RUNNING') running.worker.shutdown();
  await running.workerRun?.catch(() => undefined);
  await running.temporal?.close();
  await running.store?.close().catch((err: unknown) => logger.warn({ err }, 'closing the database failed'));
  // Last, so the spans of everything that drained above are exported before the process exits.
  await running.tracing?.shutdown().catch((err: unknown) => logger.warn({ err }, 'exporting the last spans failed'));
}

/** A URL as it may be logged: any user:password part dropped. */
function withoutCredentials(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

/** Errors about the user's setup are explained in one line; anything else is a bug and keeps its stack. */
function describeStartError(err: unknown): string {
  return err instanceof SetupError ? err.message : ((err as Error).stack ?? String(err));
}

export async function runHerald(options: RunOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  const logger = pino({
    level: config.logLevel,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    // Defence in depth: nothing should log these, and if something does they are masked.
    redact: { paths: ['*.secret', '*.secrets', '*.headers', '*.authorization', '*.token', 'config.encryptionKey'], censor: '***' },
    // Each line logged inside a span names its trace (only with tracing on: off, there is nothing to look up).
    ...(config.tracing ? { mixin: traceContextFields } : {}),
  });
  // Temporal's own runtime logs through the same logger; Herald handles the signals itself.
  Runtime.install({
    logger: {
      log: (given, message, meta) => {
        const level = temporalLogLevel(given, message, meta);
        logger[level === 'TRACE' ? 'trace' : level === 'DEBUG' ? 'debug' : level === 'INFO' ? 'info' : level === 'WARN' ? 'warn' : 'error'](meta ?? {}, message);
      },
      trace: (m, meta) => logger.trace(meta ?? {}, m),
      debug: (m, meta) => logger.debug(meta ?? {}, m),
      info: (m, meta) => logger.info(meta ?? {}, m),
      warn: (m, meta) => (temporalLogLevel('WARN', m, meta) === 'WARN' ? logger.warn(meta ?? {}, m) : logger.debug(meta ?? {}, m)),
      error: (m, meta) => logger.error(meta ?? {}, m),
    },
    shutdownSignals: [],
  });

  const running: Running = {};
  if (config.tracing) {
    // Loaded only when asked for: with tracing off no OpenTelemetry SDK is loaded or registered.
    const { startTracing } = await import('../telemetry/tracing.js');
    running.tracing = startTracing(config.tracing, { serviceVersion: heraldVersion() });
    logger.info(`Tracing on: ${config.tracing.exporter.kind === 'otlp' ? `OTLP to ${withoutCredentials(config.tracing.exporter.url)}` : 'spans printed to stdout'} (service ${config.tracing.serviceName})`);
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal} received: stopping Herald …`);
    const hardStopMs = config.shutdownGraceMs + HARD_STOP_MARGIN_MS;
    const hard = setTimeout(() => {
      logger.error(`did not stop within ${hardStopMs} ms; exiting`);
      process.exit(1);
    }, hardStopMs);
    hard.unref();
    stopRoles(running, logger).then(
      () => {
        say('Herald stopped.');
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
    await startRoles(options, config, logger, running);
  } catch (err) {
    logger.error(`Herald could not start: ${describeStartError(err)}`);
    await stopRoles(running, logger).catch(() => undefined);
    process.exit(1);
  }
}
