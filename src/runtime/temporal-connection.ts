import path from 'node:path';
import { Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { portAcceptsConnections } from '../embedded/child-process.js';
import { registerSearchAttributes } from '../embedded/register-search-attributes.js';
import { describeResolution, resolveTemporalBinary } from '../embedded/temporal-binaries.js';
import { startDevServer, type RunningDevServer } from '../embedded/temporal-dev-server.js';
import { ConfigError } from '../errors.js';

export interface TemporalConnections {
  address: string;
  uiUrl: string | undefined;
  devServer: RunningDevServer | undefined;
  connection: Connection;
  nativeConnection: NativeConnection;
  close(): Promise<void>;
}

/**
 * Temporal for this process: the cluster at TEMPORAL_ADDRESS (TLS and API key from Temporal's envconfig
 * conventions), or — the embedded default — a dev server Herald starts with its state in the data folder.
 */
export async function connectTemporal(config: Config, logger: Logger, opts: { embedded: boolean }): Promise<TemporalConnections> {
  let devServer: RunningDevServer | undefined;
  let address: string;
  let uiUrl: string | undefined;
  let connectionOptions: Record<string, unknown> = {};
  if (config.temporalAddress) {
    connectionOptions = { ...loadClientConnectConfig().connectionOptions };
    address = config.temporalAddress;
    logger.info(`Using the Temporal cluster at ${address} (namespace ${config.temporalNamespace}); no embedded server.`);
  } else if (!opts.embedded) {
    throw new ConfigError('TEMPORAL_ADDRESS', 'must be set for this role (only `herald start` runs an embedded Temporal server)');
  } else {
    for (const [variable, port] of [['HERALD_TEMPORAL_PORT', config.temporalPort], ['HERALD_UI_PORT', config.uiPort]] as const) {
      if (await portAcceptsConnections('127.0.0.1', port)) {
        throw new ConfigError(variable, `port ${port} is already in use on 127.0.0.1 (another Temporal or Herald?): choose another port, or set TEMPORAL_ADDRESS to use that server`);
      }
    }
    const binary = await resolveTemporalBinary('cli', { allowSdkDownload: false, log: (line) => logger.info(line) });
    logger.info(describeResolution(binary));
    devServer = await startDevServer({
      binary,
      dbFile: path.join(config.dataDir, 'temporal.sqlite'),
      port: config.temporalPort,
      uiPort: config.uiPort,
      logFile: path.join(config.dataDir, 'temporal-server.log'),
      namespace: config.temporalNamespace,
    });
    address = devServer.address;
    uiUrl = devServer.uiUrl;
  }
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ ...connectionOptions, address });
    const nativeConnection = await NativeConnection.connect({ ...connectionOptions, address });
    if (config.temporalAddress) {
      const added = await registerSearchAttributes(connection, config.temporalNamespace);
      if (added.length) logger.info(`Registered search attributes: ${added.join(', ')}`);
    }
    const opened = connection;
    return {
      address,
      uiUrl,
      devServer,
      connection,
      nativeConnection,
      async close() {
        await nativeConnection.close().catch(() => undefined);
        await opened.close().catch(() => undefined);
        await devServer?.stop();
      },
    };
  } catch (err) {
    await connection?.close().catch(() => undefined);
    await devServer?.stop();
    throw err;
  }
}
