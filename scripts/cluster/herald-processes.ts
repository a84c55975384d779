/**
 * Herald's two roles as separate OS processes, started as an operator (or the compose file's `command`) starts
 * them: `node dist/src/cli/herald.js worker|api` with nothing but environment variables. Each runs in its own
 * process group (spawnOwned), so a SIGKILL takes the whole role down at once, as a crashed container would.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnOwned, type OwnedProcess } from '../../src/embedded/child-process.js';
import { projectRoot } from '../../src/embedded/project-root.js';

const READY_LINE = 'Herald is ready';
const READY_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 20_000;

export const HERALD_CLI = path.join(projectRoot(), 'dist', 'src', 'cli', 'herald.js');

export interface HeraldRoleProcess {
  readonly role: 'worker' | 'api';
  readonly label: string;
  /** Every pid this role has had, in order (a restart adds one). */
  readonly pids: number[];
  /** The Temporal worker identity of each incarnation (the SDK default `<pid>@<hostname>`). */
  identities(): string[];
  current(): OwnedProcess;
  /** SIGKILL the process group: no shutdown hooks, in-flight work abandoned. */
  kill9(): Promise<void>;
  /** Start it again with the same environment; resolves when it prints that it is ready. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function waitUntilReady(proc: OwnedProcess, label: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited: number | null | undefined;
  void proc.exited.then((code) => (exited = code));
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`herald ${label} exited (code ${exited}) before it was ready:\n${proc.tail(40)}`);
    if (existsSync(proc.logFile) && readFileSync(proc.logFile, 'utf8').includes(READY_LINE)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`herald ${label} did not print "${READY_LINE}" within ${READY_TIMEOUT_MS} ms:\n${proc.tail(40)}`);
}

export async function startHeraldRole(opts: { role: 'worker' | 'api'; label: string; env: Record<string, string>; dir: string }): Promise<HeraldRoleProcess> {
  if (!existsSync(HERALD_CLI)) throw new Error(`${HERALD_CLI} is missing: run \`npm run build\` first (npm run test:cluster does)`);
  const pids: number[] = [];
  let incarnation = 0;
  const spawnRole = () => {
    incarnation += 1;
    const logFile = path.join(opts.dir, `${opts.label}.${incarnation}.log`);
    const proc = spawnOwned(process.execPath, [HERALD_CLI, opts.role], { logFile, env: opts.env, cwd: opts.dir });
    pids.push(proc.pid);
    return proc;
  };
  let proc = spawnRole();
  try {
    await waitUntilReady(proc, opts.label);
  } catch (err) {
    await proc.stop(2_000);
    throw err;
  }
  return {
    role: opts.role,
    label: opts.label,
    pids,
    identities: () => pids.map((pid) => `${pid}@${os.hostname()}`),
    current: () => proc,
    async kill9() {
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await proc.exited;
      await proc.stop(0); // releases the watchdog and the log stream
    },
    async restart() {
      proc = spawnRole();
      await waitUntilReady(proc, opts.label);
    },
    stop: () => proc.stop(STOP_GRACE_MS),
  };
}
