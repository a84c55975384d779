import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { findOnPath, isExecutable } from './executables.js';
import { promisify } from 'node:util';
import { projectRoot } from './project-root.js';

const run = promisify(execFile);

/**
 * The real (production) Temporal server, pinned in this one place. Built with `go install` from the Go module
 * proxy: there is no registry package with the server binary, and v1.32.1 is the newest tag the machine's Go
 * (1.26.8) accepts (v1.32.2 asks for Go 1.26.10). The tests and the cluster bench run exactly this version, and
 * a test checks docker-compose.yml pins the same image tag.
 */
export const TEMPORAL_SERVER_GO = {
  module: 'go.temporal.io/server',
  version: 'v1.32.1',
  /** The server itself, and temporal-sql-tool (schema setup on Postgres), from the same module version. */
  packages: { server: 'cmd/server', sqlTool: 'cmd/tools/sql' },
} as const;

/** `1.32.1`: the tag docker images use. */
export const TEMPORAL_SERVER_VERSION = TEMPORAL_SERVER_GO.version.slice(1);

/** A cold build is ~5 minutes on 2 cores; leave room for a busy machine and a cold module download. */
const BUILD_TIMEOUT_MS = 40 * 60_000;

export interface TemporalServerBinaries {
  version: string;
  /** `temporal-server`: `server start`, the frontend/history/matching/worker services in one process. */
  server: string;
  /** `temporal-sql-tool`: create, setup-schema, update-schema. */
  sqlTool: string;
  /** The bundled PostgreSQL v12 schemas: `<dir>/temporal/versioned` and `<dir>/visibility/versioned`. */
  postgresSchemaDir: string;
  /** The server's environment-variable config template (what the docker image runs with). */
  embeddedConfigTemplate: string;
  /** What happened: found in .tools, or built now (and how long it took). */
  detail: string;
}

export class TemporalServerBuildError extends Error {
  override name = 'TemporalServerBuildError';
}

/** The git-ignored folders: the binaries per version, and one Go module + build cache shared by versions. */
export function serverToolsPaths(root = projectRoot()) {
  const tools = path.join(root, '.tools');
  const installDir = path.join(tools, `temporal-server-${TEMPORAL_SERVER_VERSION}`);
  return {
    installDir,
    bin: path.join(installDir, 'bin'),
    goModCache: path.join(tools, 'go', 'mod'),
    goBuildCache: path.join(tools, 'go', 'cache'),
    moduleSource: path.join(tools, 'go', 'mod', `${TEMPORAL_SERVER_GO.module}@${TEMPORAL_SERVER_GO.version}`),
  };
}

/** Go's official tarball installs here without touching PATH, so look there too unless told not to. */
const DEFAULT_GO = '/usr/local/go/bin/go';

function findGo(env: NodeJS.ProcessEnv, lookInDefaultLocation: boolean): string | undefined {
  return findOnPath('go', env) ?? (lookInDefaultLocation && isExecutable(DEFAULT_GO) ? DEFAULT_GO : undefined);
}

function describe(paths: ReturnType<typeof serverToolsPaths>, detail: string): TemporalServerBinaries {
  return {
    version: TEMPORAL_SERVER_VERSION,
    server: path.join(paths.bin, 'temporal-server'),
    sqlTool: path.join(paths.bin, 'temporal-sql-tool'),
    postgresSchemaDir: path.join(paths.moduleSource, 'schema', 'postgresql', 'v12'),
    embeddedConfigTemplate: path.join(paths.moduleSource, 'common', 'config', 'config_template_embedded.yaml'),
    detail,
  };
}

function complete(b: TemporalServerBinaries): boolean {
  return isExecutable(b.server) && isExecutable(b.sqlTool) && existsSync(path.join(b.postgresSchemaDir, 'temporal', 'versioned')) && existsSync(b.embeddedConfigTemplate);
}

/**
 * The pinned server and temporal-sql-tool, building them into `.tools/` first if they are not there. The Go
 * module and build caches live in `.tools/go/` too, so a rebuild (after `rm -rf .tools/temporal-server-*`)
 * takes seconds, and the schemas the tool applies come from the very module source the server was built from.
 */
export async function ensureTemporalServer(
  opts: { env?: NodeJS.ProcessEnv; log?: (line: string) => void; root?: string; lookForGoIn?: 'path-and-default' | 'path-only' } = {},
): Promise<TemporalServerBinaries> {
  const env = opts.env ?? process.env;
  const paths = serverToolsPaths(opts.root);
  const existing = describe(paths, `found in ${path.relative(opts.root ?? projectRoot(), paths.installDir)}/`);
  if (complete(existing)) return existing;

  const go = findGo(env, opts.lookForGoIn !== 'path-only');
  if (!go) {
    throw new TemporalServerBuildError(
      `The real Temporal server ${TEMPORAL_SERVER_GO.version} is not built yet, and building it needs Go (go 1.25 or newer), which is not on PATH ` +
        `(nor at ${DEFAULT_GO}). Install Go, or build it elsewhere with\n` +
        `  go install ${TEMPORAL_SERVER_GO.module}/${TEMPORAL_SERVER_GO.packages.server}@${TEMPORAL_SERVER_GO.version} ${TEMPORAL_SERVER_GO.module}/${TEMPORAL_SERVER_GO.packages.sqlTool}@${TEMPORAL_SERVER_GO.version}\n` +
        `and put the two binaries at ${existing.server} and ${existing.sqlTool}.`,
    );
  }
  for (const dir of [paths.bin, paths.goModCache, paths.goBuildCache]) mkdirSync(dir, { recursive: true });
  // go install writes `server` and `sql` into GOBIN; build into a scratch GOBIN and rename, so a half-written
  // binary is never mistaken for a finished one.
  const scratch = path.join(paths.installDir, `.gobin-${process.pid}`);
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  const targets = [TEMPORAL_SERVER_GO.packages.server, TEMPORAL_SERVER_GO.packages.sqlTool].map((p) => `${TEMPORAL_SERVER_GO.module}/${p}@${TEMPORAL_SERVER_GO.version}`);
  opts.log?.(`Building the Temporal server ${TEMPORAL_SERVER_GO.version} with go install (about 5 minutes on 2 cores the first time) …`);
  const started = Date.now();
  try {
    // nice: the build is the one heavy thing on a shared machine. GOTOOLCHAIN=local: fail clearly instead of
    // silently fetching another Go toolchain when the module asks for a newer one.
    await run('nice', ['-n', '10', go, 'install', '-ldflags', '-s -w', ...targets], {
      env: { ...env, GOBIN: scratch, GOMODCACHE: paths.goModCache, GOCACHE: paths.goBuildCache, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-buildvcs=false' },
      timeout: BUILD_TIMEOUT_MS,
      maxBuffer: 64 << 20,
    });
    renameSync(path.join(scratch, 'server'), existing.server);
    renameSync(path.join(scratch, 'sql'), existing.sqlTool);
  } catch (err) {
    const e = err as { stderr?: string; message?: string };
    const lines = (e.stderr || e.message || String(err)).trim().split('\n');
    throw new TemporalServerBuildError(`go install of the Temporal server ${TEMPORAL_SERVER_GO.version} failed:\n  ${lines.slice(-8).join('\n  ')}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const built = describe(paths, `built with go install in ${((Date.now() - started) / 1000).toFixed(0)} s into ${path.relative(opts.root ?? projectRoot(), paths.installDir)}/`);
  if (!complete(built)) throw new TemporalServerBuildError(`go install finished but ${paths.installDir} is incomplete (have: ${readdirSync(paths.bin).join(', ') || 'nothing'})`);
  return built;
}

/** The version the binary itself reports (`temporal-server --version` → `temporal version 1.32.1`). */
export async function reportedServerVersion(server: string): Promise<string> {
  const { stdout } = await run(server, ['--version'], { timeout: 30_000 });
  const match = /(\d+\.\d+\.\d+)/.exec(stdout);
  if (!match) throw new Error(`${server} --version printed no version: ${stdout.trim()}`);
  return match[1]!;
}
