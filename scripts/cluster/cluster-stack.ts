/**
 * The production-shaped stack of docker-compose.yml, on this machine without Docker: one Postgres (Temporal's
 * `temporal` and `temporal_visibility` databases and Herald's `herald` database side by side, as in compose),
 * the compose schema job, the real multi-shard Temporal server with its namespace, and then as many `herald
 * api` / `herald worker` processes as the caller asks for, each with the compose service's environment.
 * Used by `npm run test:cluster` and the cluster bench.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRestartablePostgres, type RestartablePostgres } from '../../test/chaos/restartable-postgres.js';
import { freePort } from '../../src/embedded/child-process.js';
import { ensureTemporalServer, type TemporalServerBinaries } from '../../src/embedded/temporal-server-binary.js';
import { startDevServerTarget } from './dev-server-target.js';
import { COMPOSE_SERVICES, composeEnvironment, composeVariables, localEnvironment, LOOPBACK, readCompose, type ComposeFile, type LocalStack } from './compose-env.js';
import { startHeraldRole, type HeraldRoleProcess } from './herald-processes.js';
import { freeServerPort, setupSchemas, startTemporalCluster, type TemporalCluster } from './temporal-cluster.js';

export interface ClusterStack {
  dir: string;
  compose: ComposeFile;
  local: LocalStack;
  binaries: TemporalServerBinaries;
  postgres: RestartablePostgres;
  temporal: TemporalCluster;
  /** Herald's delivery database (the compose `herald` database), for the test's own reads. */
  heraldDatabaseUrl: string;
  /** The environment a Herald role gets: compose's for that service, rewritten for this machine, plus `extra`. */
  roleEnv(role: 'worker' | 'api'): Record<string, string>;
  startRole(role: 'worker' | 'api', label: string): Promise<HeraldRoleProcess>;
  stop(): Promise<void>;
}

/** Test-only additions to the Herald roles' compose environment (see TEST_ONLY_VARIABLES for the reasons). */
function roleExtras(dir: string): Record<string, string> {
  return { HERALD_EGRESS_ALLOW: LOOPBACK, HERALD_DATA_DIR: path.join(dir, 'herald-data'), HERALD_LOG_LEVEL: 'warn', PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
}

export async function startClusterStack(opts: {
  historyShards: number;
  log: (line: string) => void;
  /** 'real' (default): temporal-server on Postgres. 'dev': the embedded default's dev server (SQLite, 1 shard), for comparison. */
  temporal?: 'real' | 'dev';
}): Promise<ClusterStack> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-cluster-'));
  const cleanup: (() => Promise<unknown>)[] = [];
  const roles: HeraldRoleProcess[] = [];
  try {
    const binaries = await ensureTemporalServer({ log: opts.log });
    opts.log(`Temporal server ${binaries.version}: ${binaries.detail}`);
    const compose = readCompose();

    const postgres = await startRestartablePostgres();
    cleanup.push(() => postgres.destroy());
    const pgUrl = new URL(postgres.url);
    const local: LocalStack = {
      postgres: { host: pgUrl.hostname, port: Number(pgUrl.port), user: decodeURIComponent(pgUrl.username), password: decodeURIComponent(pgUrl.password) },
      temporal: { host: LOOPBACK, port: await freeServerPort() },
      api: { host: LOOPBACK, port: await freePort(LOOPBACK) },
      postgresSchemaDir: binaries.postgresSchemaDir,
      encryptionKey: randomBytes(32).toString('base64'),
      apiTokens: `cluster-admin-${randomBytes(12).toString('hex')}`,
    };

    const t = Date.now();
    await setupSchemas({ compose, local, binaries });
    opts.log(`schemas: compose job ${COMPOSE_SERVICES.schemaJob} (deploy/temporal-setup.sh schema) on Postgres ${local.postgres.host}:${local.postgres.port} in ${((Date.now() - t) / 1000).toFixed(1)} s`);

    const temporal =
      opts.temporal === 'dev'
        ? await startDevServerTarget({ port: local.temporal.port, dir, namespace: composeEnvironment(compose, COMPOSE_SERVICES.namespaceJob, composeVariables(local)).TEMPORAL_NAMESPACE ?? 'default' })
        : await startTemporalCluster({ compose, local, binaries, historyShards: opts.historyShards, dir, log: opts.log });
    cleanup.push(() => temporal.stop());

    const heraldDatabaseUrl = localEnvironment(compose, COMPOSE_SERVICES.worker, local).HERALD_DATABASE_URL;
    if (!heraldDatabaseUrl) throw new Error(`${COMPOSE_SERVICES.worker} sets no HERALD_DATABASE_URL`);
    const roleEnv = (role: 'worker' | 'api') => ({ ...localEnvironment(compose, role === 'worker' ? COMPOSE_SERVICES.worker : COMPOSE_SERVICES.api, local), ...roleExtras(dir) });

    return {
      dir,
      compose,
      local,
      binaries,
      postgres,
      temporal,
      heraldDatabaseUrl,
      roleEnv,
      async startRole(role, label) {
        const p = await startHeraldRole({ role, label, env: roleEnv(role), dir });
        roles.push(p);
        return p;
      },
      async stop() {
        // Herald first (it drains against a live server), then the server, then Postgres.
        await Promise.all(roles.map((r) => r.stop().catch(() => undefined)));
        for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
        if (!process.env.HERALD_CLUSTER_KEEP) rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await Promise.all(roles.map((r) => r.stop().catch(() => undefined)));
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
