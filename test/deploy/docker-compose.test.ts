/**
 * Wiring checks for the production-shaped stack: docker-compose.yml, the Dockerfile, .dockerignore and the
 * files they reference. Docker itself cannot run on the development machines, so these tests read the parsed
 * files and cross-check values between services (hosts, ports, credentials, database names, dependencies),
 * and run deploy/temporal-setup.sh — the one-shot jobs' command — against fake `temporal` and
 * `temporal-sql-tool` executables to check what it would ask Temporal to do.
 *
 * Herald runs as two services from the one image: herald-worker (`herald worker`) and herald-api (`herald api`).
 * Their two secrets (HERALD_ENCRYPTION_KEY, HERALD_API_TOKENS) are the only variables without a default: compose
 * must refuse to start without them, so the file interpolates against an environment holding just those two.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TEMPORAL_SERVER_VERSION } from '../../src/embedded/temporal-server-binary.js';

const repoRoot = resolve(fileURLToPath(new URL('../../', import.meta.url)));
const composePath = join(repoRoot, 'docker-compose.yml');

// ---------------------------------------------------------------------------------------------------------
// Compose model and helpers

type EnvValue = string | number | boolean | null;
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string; [option: string]: unknown };
  environment?: Record<string, EnvValue> | string[];
  ports?: Array<string | number | { target: number; published?: string | number; protocol?: string }>;
  depends_on?: string[] | Record<string, { condition?: string; required?: boolean } | null>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  expose?: Array<string | number>;
  volumes?: Array<string | { type: string; source?: string; target: string; read_only?: boolean }>;
  entrypoint?: string | string[];
  command?: string | string[];
  networks?: string[] | Record<string, unknown>;
  restart?: string;
  stop_grace_period?: string;
  init?: boolean;
}
interface ComposeFile {
  services: Record<string, Service>;
  networks?: Record<string, unknown>;
  volumes?: Record<string, unknown>;
}

const SERVICES = {
  postgres: 'postgresql',
  schemaJob: 'temporal-admin-tools',
  temporal: 'temporal',
  namespaceJob: 'temporal-create-namespace',
  ui: 'temporal-ui',
  heraldWorker: 'herald-worker',
  heraldApi: 'herald-api',
} as const;
const ONE_SHOT_JOBS = new Set<string>([SERVICES.schemaJob, SERVICES.namespaceJob]);

/** Herald's services and the `herald` CLI role each one runs (src/cli/herald.ts). */
const HERALD_ROLES: Record<string, 'worker' | 'api'> = { [SERVICES.heraldWorker]: 'worker', [SERVICES.heraldApi]: 'api' };
const HERALD_SERVICES = Object.keys(HERALD_ROLES);

/**
 * The secrets compose must refuse to start without (`${NAME:?message}`: unset or empty is an error), with
 * stand-in values for interpolating the file here. Nothing else may be required: the rest has defaults.
 */
const REQUIRED_SECRETS: Record<string, string> = {
  HERALD_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  HERALD_API_TOKENS: 'test-admin-token,test-tenant-token:tenant-a',
};
/** Which secret each Herald role reads (src/config/config.ts): the worker has no use for the API's tokens. */
const SECRETS_BY_ROLE: Record<'worker' | 'api', string[]> = {
  worker: ['HERALD_ENCRYPTION_KEY'],
  api: ['HERALD_ENCRYPTION_KEY', 'HERALD_API_TOKENS'],
};

const HERALD_SEARCH_ATTRIBUTES: Record<string, string> = {
  HeraldWebhookId: 'Keyword',
  HeraldEventId: 'Keyword',
  HeraldEventType: 'Keyword',
  HeraldTenantId: 'Keyword',
  HeraldDeliveryStatus: 'Keyword',
};

const VARIABLE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * Compose variable interpolation against `vars` alone (never the caller's environment, so the result is
 * deterministic). By default `vars` holds only the required secrets: everything else must resolve to the file's
 * own defaults. `${NAME:?msg}` / `${NAME?msg}` throw like compose when NAME is unset (or, with `:`, empty);
 * `${VAR}` / `$VAR` without a default throws too, where compose would only warn and substitute "".
 */
function interpolate(value: string, where: string, vars: Record<string, string> = REQUIRED_SECRETS): string {
  return value.replace(
    VARIABLE,
    (match, braced: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
      if (match === '$$') return '$';
      const name = braced ?? bare ?? '';
      const set = Object.hasOwn(vars, name) ? vars[name] : undefined;
      switch (op) {
        case ':-':
          return set ? set : (arg ?? '');
        case '-':
          return set ?? arg ?? '';
        case ':?':
        case '?':
          if (set === undefined || (op === ':?' && set === '')) {
            throw new Error(`${where}: required variable ${name} is missing a value: ${arg ?? ''}`);
          }
          return set;
        case undefined:
          if (set !== undefined) return set;
          throw new Error(`${where}: variable ${name} has no default (${match})`);
        default:
          throw new Error(`${where}: unsupported interpolation ${match}`);
      }
    },
  );
}

function deepInterpolate(node: unknown, where: string, vars: Record<string, string> = REQUIRED_SECRETS): void {
  if (typeof node === 'string') interpolate(node, where, vars);
  else if (Array.isArray(node)) node.forEach((item, i) => deepInterpolate(item, `${where}[${i}]`, vars));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) deepInterpolate(value, `${where}.${key}`, vars);
  }
}

interface VariableRef {
  where: string;
  name: string;
  /** '', ':-', '-', ':?', '?', …; '' for `${NAME}` and `$NAME`. */
  op: string;
  arg: string;
  text: string;
}
/** Every variable reference in every string of the file (keys included), with where it is. */
function variableRefs(node: unknown, where = 'compose'): VariableRef[] {
  if (typeof node === 'string') {
    return [...node.matchAll(VARIABLE)]
      .filter((m) => m[0] !== '$$')
      .map((m) => ({ where, name: m[1] ?? m[4] ?? '', op: m[2] ?? '', arg: m[3] ?? '', text: m[0] }));
  }
  if (Array.isArray(node)) return node.flatMap((item, i) => variableRefs(item, `${where}[${i}]`));
  if (node && typeof node === 'object') {
    return Object.entries(node).flatMap(([key, value]) => [...variableRefs(key, `${where}(key)`), ...variableRefs(value, `${where}.${key}`)]);
  }
  return [];
}

function without(vars: Record<string, string>, name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(vars).filter(([key]) => key !== name));
}

function loadCompose(): ComposeFile {
  const doc: unknown = parse(readFileSync(composePath, 'utf8'));
  if (!doc || typeof doc !== 'object' || !('services' in doc)) throw new Error('docker-compose.yml has no services');
  return doc as ComposeFile;
}

function service(compose: ComposeFile, name: string): Service {
  const svc = compose.services[name];
  if (!svc) throw new Error(`service ${name} is not defined`);
  return svc;
}

/** The environment as written, before interpolation; `- NAME` (pass the host's value through) maps to null. */
function rawEnvOf(svc: Service): Record<string, EnvValue> {
  const raw = svc.environment ?? {};
  if (!Array.isArray(raw)) return { ...raw };
  return Object.fromEntries(
    raw.map((line) => {
      const eq = line.indexOf('=');
      return eq < 0 ? [line, null] : [line.slice(0, eq), line.slice(eq + 1)];
    }),
  );
}

function envOf(svc: Service, name = '?'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(rawEnvOf(svc))) {
    if (value === null) continue; // `- NAME` passes the host's value through; not part of the file's wiring
    out[key] = interpolate(String(value), `${name}.environment.${key}`);
  }
  return out;
}

interface PortMapping {
  published: number;
  target: number;
}
function portsOf(svc: Service): PortMapping[] {
  return (svc.ports ?? []).map((port) => {
    if (typeof port === 'object') {
      if (port.published === undefined) throw new Error(`port ${port.target} is not published`);
      return { published: Number(port.published), target: Number(port.target) };
    }
    // [ip:]published:target[/protocol]; a bare number publishes on a random host port
    const parts = String(port).replace(/\/(tcp|udp)$/, '').split(':');
    if (parts.length < 2) throw new Error(`port "${port}" has no fixed host port`);
    return { published: Number(parts[parts.length - 2]), target: Number(parts[parts.length - 1]) };
  });
}

interface Dependency {
  name: string;
  condition: string;
}
function dependsOn(svc: Service): Dependency[] {
  const raw = svc.depends_on ?? [];
  if (Array.isArray(raw)) return raw.map((name) => ({ name, condition: 'service_started' }));
  return Object.entries(raw).map(([name, spec]) => ({ name, condition: spec?.condition ?? 'service_started' }));
}

interface Mount {
  kind: 'bind' | 'volume';
  source: string; // absolute host path for binds, volume name otherwise
  target: string;
}
function mountsOf(svc: Service): Mount[] {
  return (svc.volumes ?? []).map((volume): Mount => {
    if (typeof volume === 'object') {
      const source = volume.source ?? '';
      return volume.type === 'bind'
        ? { kind: 'bind', source: resolve(repoRoot, interpolate(source, 'volume')), target: volume.target }
        : { kind: 'volume', source, target: volume.target };
    }
    const parts = interpolate(volume, 'volume').split(':');
    if (parts.length === 1) return { kind: 'volume', source: '', target: parts[0] ?? '' }; // anonymous
    const [source = '', target = ''] = parts;
    return /^[./~]/.test(source)
      ? { kind: 'bind', source: resolve(repoRoot, source), target }
      : { kind: 'volume', source, target };
  });
}

/** The host file a container path comes from, through the service's bind mounts (longest target wins). */
function hostPathFor(svc: Service, containerPath: string): string | undefined {
  const candidates = mountsOf(svc)
    .filter((m) => m.kind === 'bind')
    .filter((m) => containerPath === m.target || containerPath.startsWith(`${m.target.replace(/\/$/, '')}/`))
    .sort((a, b) => b.target.length - a.target.length);
  const mount = candidates[0];
  if (!mount) return undefined;
  return join(mount.source, posix.relative(mount.target, containerPath));
}

function toArgv(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value.map(String) : value.trim().split(/\s+/);
}
function argvOf(svc: Service): string[] {
  return [...toArgv(svc.entrypoint), ...toArgv(svc.command)];
}

function hasHealthcheck(svc: Service): boolean {
  const test = svc.healthcheck?.test;
  if (!test || svc.healthcheck?.disable) return false;
  return !(Array.isArray(test) && test[0] === 'NONE');
}

function healthcheckArgv(svc: Service): string[] {
  const test = svc.healthcheck?.test;
  if (!test) return [];
  if (typeof test === 'string') return ['CMD-SHELL', test];
  return test.map(String);
}

/** name[:tag][@digest] → parts; a registry host:port is not mistaken for a tag. */
function splitImage(image: string): { repository: string; tag?: string; digest?: string } {
  const [ref = '', digest] = image.split('@');
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1), ...(digest ? { digest } : {}) };
  return { repository: ref, ...(digest ? { digest } : {}) };
}

/** Exact: a digest, or a tag that starts with a dotted version (`16.10`, `1.29.1-tctl-…`, `20.20-bookworm-slim`). */
function isExactlyPinned(image: string): boolean {
  if (/\$/.test(image)) return false; // a variable tag is whatever the environment says
  const { tag, digest } = splitImage(image);
  if (digest && /^sha256:[0-9a-f]{64}$/.test(digest)) return true;
  if (!tag || tag === 'latest') return false;
  return /^v?\d+\.\d+(\.\d+)?([-.+][A-Za-z0-9.+-]*)?$/.test(tag);
}

/** Where `tsc -p tsconfig.build.json` emits a source file, relative to the repository (`src/x.ts` → `dist/src/x.js`). */
function emittedJs(source: string): string {
  const configPath = join(repoRoot, existsSync(join(repoRoot, 'tsconfig.build.json')) ? 'tsconfig.build.json' : 'tsconfig.json');
  const read = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(configPath));
  const { outDir, rootDir } = parsed.options;
  if (!outDir) throw new Error(`${relative(repoRoot, configPath)} has no outDir`);
  const absolute = join(repoRoot, source);
  if (!parsed.fileNames.map((f) => resolve(f)).includes(absolute)) throw new Error(`${source} is not part of the build`);
  const emitted = join(outDir, relative(rootDir ?? repoRoot, absolute)).replace(/\.ts$/, '.js');
  return relative(repoRoot, emitted).split('\\').join('/');
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Dockerfile model

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  image: string;
  alias?: string;
  instructions: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line) && current === '') continue;
    if (/^\s*#/.test(line)) continue; // comment inside a continuation
    if (/\\\s*$/.test(line)) {
      current += `${line.replace(/\\\s*$/, '')} `;
      continue;
    }
    current += line;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  if (current.trim()) logical.push(current.trim());

  const stages: Stage[] = [];
  for (const line of logical) {
    const match = /^([A-Za-z]+)\s+([\s\S]*)$/.exec(line);
    if (!match) throw new Error(`unparseable Dockerfile line: ${line}`);
    const keyword = (match[1] ?? '').toUpperCase();
    const args = (match[2] ?? '').trim();
    if (keyword === 'FROM') {
      const words = args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const [image = '', as, alias] = words;
      stages.push({ image, ...(as?.toUpperCase() === 'AS' && alias ? { alias } : {}), instructions: [] });
    } else if (keyword === 'ARG' && stages.length === 0) {
      continue; // global ARGs before the first FROM
    } else {
      const stage = stages[stages.length - 1];
      if (!stage) throw new Error(`${keyword} before FROM`);
      stage.instructions.push({ keyword, args });
    }
  }
  return stages;
}

function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`not exec form: ${args}`);
  return parsed as string[];
}

// ---------------------------------------------------------------------------------------------------------

describe('docker-compose.yml', () => {
  const compose = loadCompose();
  const names = Object.keys(compose.services);

  it('defines the expected services and nothing unexpected', () => {
    expect(names.sort()).toEqual(Object.values(SERVICES).sort());
  });

  it('gives every ${VAR} but the two secrets a default, so it comes up with nothing else set', () => {
    expect(() => deepInterpolate(compose, 'compose', REQUIRED_SECRETS)).not.toThrow();
  });

  it('refuses to start without either secret, or with it empty: ${NAME:?message}, never a default', () => {
    const refs = variableRefs(compose);
    for (const [name, value] of Object.entries(REQUIRED_SECRETS)) {
      const uses = refs.filter((r) => r.name === name);
      expect(uses.length, `${name} is referenced`).toBeGreaterThan(0);
      for (const use of uses) {
        // `:?` and not `?`: an empty value must be refused too. No `:-`/`-` default, no bare `$NAME`.
        expect(use.op, `${use.where}: ${use.text}`).toBe(':?');
        // The message compose prints names the variable (and, for the key, how to make one).
        expect(use.arg, `${use.where}: ${use.text}`).toContain(name);
        expect(use.arg, `${use.where}: ${use.text}`).not.toMatch(/[{}$]/);
      }
      const missing = () => deepInterpolate(compose, 'compose', without(REQUIRED_SECRETS, name));
      expect(missing, `${name} unset`).toThrow(new RegExp(`required variable ${name} is missing a value: \\S`));
      const empty = () => deepInterpolate(compose, 'compose', { ...REQUIRED_SECRETS, [name]: '' });
      expect(empty, `${name} empty`).toThrow(new RegExp(`required variable ${name} is missing a value`));
      expect(() => deepInterpolate(compose, 'compose', { ...REQUIRED_SECRETS, [name]: value })).not.toThrow();
    }
    for (const use of refs.filter((r) => r.name === 'HERALD_ENCRYPTION_KEY')) expect(use.arg, use.where).toContain('openssl rand -base64 32');
    // Only the secrets are required; everything else keeps a development default.
    const required = new Set(refs.filter((r) => r.op === ':?' || r.op === '?').map((r) => r.name));
    expect([...required].sort()).toEqual(Object.keys(REQUIRED_SECRETS).sort());
  });

  it('passes each secret only to the Herald roles that read it, straight from the environment', () => {
    for (const name of names) {
      const raw = rawEnvOf(service(compose, name));
      const role = HERALD_ROLES[name];
      const wanted = role ? SECRETS_BY_ROLE[role] : [];
      for (const secret of Object.keys(REQUIRED_SECRETS)) {
        if (!wanted.includes(secret)) {
          expect(Object.keys(raw), `${name} must not get ${secret}`).not.toContain(secret);
          continue;
        }
        // The whole value is the one required reference: no literal, no default, no pass-through `- NAME`.
        const value = raw[secret];
        expect(typeof value, `${name}.${secret}`).toBe('string');
        expect(String(value), `${name}.${secret}`).toMatch(new RegExp(`^\\$\\{${secret}:\\?[^}]+\\}$`));
        expect(envOf(service(compose, name), name)[secret], `${name}.${secret} resolves to the environment's value`).toBe(REQUIRED_SECRETS[secret]);
      }
    }
  });

  it('pins every image to an exact version tag', () => {
    for (const name of names) {
      const svc = service(compose, name);
      expect(svc.image !== undefined || svc.build !== undefined, `${name} has neither image nor build`).toBe(true);
      if (svc.image !== undefined) expect(isExactlyPinned(svc.image), `${name}: image ${svc.image}`).toBe(true);
    }
    for (const name of HERALD_SERVICES) expect(service(compose, name).build, `${name} is built from this repository`).toBeDefined();
  });

  it('uses the intended images: postgres 16, and admin-tools matching the server version', () => {
    const pg = splitImage(service(compose, SERVICES.postgres).image ?? '');
    expect(pg.repository).toBe('postgres');
    expect(pg.tag).toMatch(/^16\.\d+/);

    const server = splitImage(service(compose, SERVICES.temporal).image ?? '');
    expect(server.repository).toBe('temporalio/server');
    // The version npm run test:cluster builds and runs (one pin for both).
    expect(server.tag).toBe(TEMPORAL_SERVER_VERSION);
    expect(splitImage(service(compose, SERVICES.ui).image ?? '')).toMatchObject({ repository: 'temporalio/ui', tag: '2.34.0' });

    for (const job of ONE_SHOT_JOBS) {
      const tools = splitImage(service(compose, job).image ?? '');
      expect(tools.repository, job).toBe('temporalio/admin-tools');
      // admin-tools tags are <server version>-tctl-<v>-cli-<v>; the schema tool must match the server.
      expect(tools.tag?.split('-')[0], job).toBe(server.tag);
    }
  });

  it('publishes Temporal gRPC 7233, the Web UI 8080 and the Herald API 3000 from the right services', () => {
    const published = new Map<number, { service: string; target: number }>();
    for (const name of names) {
      for (const port of portsOf(service(compose, name))) {
        expect(published.has(port.published), `host port ${port.published} published twice`).toBe(false);
        published.set(port.published, { service: name, target: port.target });
      }
    }
    expect(published.get(7233)).toEqual({ service: SERVICES.temporal, target: 7233 });
    expect(published.get(8080)).toEqual({ service: SERVICES.ui, target: 8080 });
    expect(published.get(3000)).toEqual({ service: SERVICES.heraldApi, target: 3000 });
  });

  it('points Temporal at the PostgreSQL service with its credentials', () => {
    const pgEnv = envOf(service(compose, SERVICES.postgres), SERVICES.postgres);
    const env = envOf(service(compose, SERVICES.temporal), SERVICES.temporal);
    expect(env.DB).toBe('postgres12');
    const seeds = (env.POSTGRES_SEEDS ?? '').split(',');
    expect(seeds.length).toBeGreaterThan(0);
    for (const seed of seeds) {
      expect(names, `POSTGRES_SEEDS names ${seed}`).toContain(seed);
      expect(splitImage(service(compose, seed).image ?? '').repository).toBe('postgres');
    }
    expect(env.DB_PORT).toBe('5432');
    expect(env.POSTGRES_USER).toBe(pgEnv.POSTGRES_USER);
    expect(env.POSTGRES_PWD).toBe(pgEnv.POSTGRES_PASSWORD);
    expect(env.BIND_ON_IP).toBe('0.0.0.0');
  });

  it('sets up the schemas in the same databases the server then uses', () => {
    const server = envOf(service(compose, SERVICES.temporal), SERVICES.temporal);
    const job = envOf(service(compose, SERVICES.schemaJob), SERVICES.schemaJob);
    for (const key of ['DB', 'DB_PORT', 'POSTGRES_SEEDS', 'POSTGRES_USER', 'POSTGRES_PWD']) {
      expect(job[key], key).toBe(server[key]);
    }
    // The server's defaults are temporal / temporal_visibility; the job must agree either way.
    expect(job.DBNAME ?? 'temporal').toBe(server.DBNAME ?? 'temporal');
    expect(job.VISIBILITY_DBNAME ?? 'temporal_visibility').toBe(server.VISIBILITY_DBNAME ?? 'temporal_visibility');
  });

  it('mounts a valid dynamic config file where DYNAMIC_CONFIG_FILE_PATH points', () => {
    const svc = service(compose, SERVICES.temporal);
    const relativePath = envOf(svc).DYNAMIC_CONFIG_FILE_PATH ?? '';
    expect(relativePath).not.toBe('');
    // The server image resolves it against its working directory, /etc/temporal.
    const inContainer = posix.isAbsolute(relativePath) ? relativePath : posix.join('/etc/temporal', relativePath);
    const onHost = hostPathFor(svc, inContainer);
    expect(onHost, `${inContainer} is not bind-mounted`).toBeDefined();
    expect(existsSync(onHost ?? ''), `${onHost} exists`).toBe(true);

    const config: unknown = parse(readFileSync(onHost ?? '', 'utf8'));
    expect(config && typeof config === 'object' && !Array.isArray(config)).toBe(true);
    const entries = Object.entries(config as Record<string, unknown>);
    expect(entries.length).toBeGreaterThan(0);
    for (const [key, values] of entries) {
      expect(key).toMatch(/^[a-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)+$/);
      expect(Array.isArray(values) && values.length > 0, `${key} is a non-empty list`).toBe(true);
      for (const entry of values as unknown[]) {
        expect(entry && typeof entry === 'object' && 'value' in entry, `${key} entries have a value`).toBe(true);
        const constraints = (entry as { constraints?: unknown }).constraints;
        if (constraints !== undefined) expect(typeof constraints === 'object' && constraints !== null).toBe(true);
      }
    }
    expect((config as Record<string, Array<{ value: unknown }>>)['limit.maxIDLength']?.[0]?.value).toBeTypeOf('number');
  });

  it('makes every depends_on name a defined service with a condition that service can satisfy', () => {
    const valid = new Set(['service_started', 'service_healthy', 'service_completed_successfully']);
    for (const name of names) {
      for (const dep of dependsOn(service(compose, name))) {
        const where = `${name} → ${dep.name} (${dep.condition})`;
        expect(names, where).toContain(dep.name);
        expect(valid.has(dep.condition), where).toBe(true);
        const target = service(compose, dep.name);
        if (dep.condition === 'service_healthy') expect(hasHealthcheck(target), `${where}: target has no healthcheck`).toBe(true);
        if (dep.condition === 'service_completed_successfully') expect(ONE_SHOT_JOBS.has(dep.name), `${where}: not a one-shot job`).toBe(true);
        if (ONE_SHOT_JOBS.has(dep.name)) expect(dep.condition, where).toBe('service_completed_successfully');
      }
    }
  });

  it('keeps one-shot jobs one-shot and long-running services restartable', () => {
    for (const name of names) {
      const svc = service(compose, name);
      if (ONE_SHOT_JOBS.has(name)) {
        expect(svc.restart ?? 'no', name).toMatch(/^(no|on-failure(:\d+)?)$/);
        expect(svc.ports ?? [], name).toEqual([]);
        expect(hasHealthcheck(svc), name).toBe(false);
      } else {
        expect(svc.restart, name).toMatch(/^(always|unless-stopped)$/);
      }
    }
  });

  it('orders the start-up: postgres → schema job → temporal → namespace job → both Herald roles, without cycles', () => {
    const edges = (name: string) => Object.fromEntries(dependsOn(service(compose, name)).map((d) => [d.name, d.condition]));
    expect(edges(SERVICES.schemaJob)).toMatchObject({ [SERVICES.postgres]: 'service_healthy' });
    expect(edges(SERVICES.temporal)).toMatchObject({ [SERVICES.schemaJob]: 'service_completed_successfully' });
    expect(edges(SERVICES.namespaceJob)).toMatchObject({ [SERVICES.temporal]: 'service_healthy' });
    expect(edges(SERVICES.ui)).toMatchObject({ [SERVICES.temporal]: 'service_healthy' });
    for (const herald of HERALD_SERVICES) {
      expect(edges(herald), herald).toMatchObject({
        [SERVICES.temporal]: 'service_healthy',
        [SERVICES.namespaceJob]: 'service_completed_successfully',
        [SERVICES.schemaJob]: 'service_completed_successfully',
        [SERVICES.postgres]: 'service_healthy',
      });
    }

    // Depth-first cycle check.
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (name: string, path: string[]): void => {
      if (state.get(name) === 'done') return;
      if (state.get(name) === 'visiting') throw new Error(`dependency cycle: ${[...path, name].join(' → ')}`);
      state.set(name, 'visiting');
      for (const dep of dependsOn(service(compose, name))) visit(dep.name, [...path, name]);
      state.set(name, 'done');
    };
    for (const name of names) visit(name, []);
  });

  it('health-checks PostgreSQL with pg_isready and Temporal on its gRPC port', () => {
    const pg = healthcheckArgv(service(compose, SERVICES.postgres));
    expect(['CMD', 'CMD-SHELL']).toContain(pg[0]);
    expect(pg.slice(1).join(' ').split(/\s+/)[0]).toBe('pg_isready');

    const temporal = healthcheckArgv(service(compose, SERVICES.temporal));
    const grpcPort = portsOf(service(compose, SERVICES.temporal))[0]?.target;
    expect(temporal.slice(1).join(' ')).toMatch(new RegExp(`\\b${grpcPort}\\b`));
  });

  it('wires both Herald roles to the temporal and postgresql services', () => {
    for (const name of HERALD_SERVICES) {
      const herald = service(compose, name);
      const env = envOf(herald, name);

      const [temporalHost, temporalPort] = (env.TEMPORAL_ADDRESS ?? '').split(':');
      expect(temporalHost, name).toBe(SERVICES.temporal);
      expect(Number(temporalPort), name).toBe(portsOf(service(compose, SERVICES.temporal))[0]?.target);
      expect(env.TEMPORAL_NAMESPACE, name).toBe(envOf(service(compose, SERVICES.namespaceJob)).TEMPORAL_NAMESPACE);

      const db = new URL(env.HERALD_DATABASE_URL ?? 'invalid:');
      expect(['postgres:', 'postgresql:'], name).toContain(db.protocol);
      expect(names).toContain(db.hostname);
      expect(splitImage(service(compose, db.hostname).image ?? '').repository).toBe('postgres');
      expect(db.port === '' ? '5432' : db.port).toBe('5432');
      const pgEnv = envOf(service(compose, SERVICES.postgres));
      expect(decodeURIComponent(db.username), name).toBe(pgEnv.POSTGRES_USER);
      expect(decodeURIComponent(db.password), name).toBe(pgEnv.POSTGRES_PASSWORD);
      // A dedicated database, created by the schema job (not Temporal's own databases).
      const heraldDb = db.pathname.replace(/^\//, '');
      expect(heraldDb, name).toBe('herald');
      expect(envOf(service(compose, SERVICES.schemaJob)).HERALD_DBNAME).toBe(heraldDb);
      expect(dependsOn(herald).map((d) => d.name), name).toContain(SERVICES.schemaJob);
    }
  });

  it('gives the worker and the API one Temporal namespace and task queue, one database and one encryption key', () => {
    const worker = rawEnvOf(service(compose, SERVICES.heraldWorker));
    const api = rawEnvOf(service(compose, SERVICES.heraldApi));
    // Set explicitly on both (a shared database needs the key everywhere: src/config/encryption-key.ts).
    for (const key of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'HERALD_DATABASE_URL', 'HERALD_ENCRYPTION_KEY']) {
      expect(worker[key], `${SERVICES.heraldWorker}.${key}`).toBeDefined();
      expect(api[key], `${SERVICES.heraldApi}.${key}`).toBeDefined();
    }
    // Whatever either one sets that the other sets too must agree (task queue, data dir, …); unset = both default.
    for (const key of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'HERALD_TASK_QUEUE', 'HERALD_DATABASE_URL', 'HERALD_ENCRYPTION_KEY']) {
      expect(String(worker[key]), key).toBe(String(api[key]));
    }
    for (const key of Object.keys(worker).filter((k) => k in api)) expect(String(worker[key]), key).toBe(String(api[key]));
    // Built from the same context, Dockerfile and options (target, args, …): the same image.
    const buildOf = (name: string) => {
      const build = service(compose, name).build;
      const { context: rawContext = '.', dockerfile = 'Dockerfile', ...options } = typeof build === 'string' ? { context: build } : (build ?? {});
      const context = resolve(repoRoot, rawContext);
      return { context, dockerfile: resolve(context, dockerfile), options };
    };
    expect(buildOf(SERVICES.heraldWorker)).toEqual(buildOf(SERVICES.heraldApi));
    expect(buildOf(SERVICES.heraldApi)).toEqual({ context: repoRoot, dockerfile: join(repoRoot, 'Dockerfile'), options: {} });
  });

  it("runs each Herald role through the built herald CLI, as the image's own command does", () => {
    const cli = emittedJs('src/cli/herald.ts');
    expect(cli).toBe('dist/src/cli/herald.js');
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
    expect(pkg.bin?.herald?.replace(/^\.\//, ''), 'package.json bin.herald').toBe(cli);
    const cliSource = readFileSync(join(repoRoot, 'src', 'cli', 'herald.ts'), 'utf8');
    for (const [name, role] of Object.entries(HERALD_ROLES)) {
      const svc = service(compose, name);
      // The image's entrypoint stays (node's docker-entrypoint.sh hands `node …` through); only the command changes.
      expect(svc.entrypoint, `${name}: entrypoint`).toBeUndefined();
      expect(Array.isArray(svc.command), `${name}: command in exec form`).toBe(true);
      expect(argvOf(svc), name).toEqual(['node', cli, role]);
      expect(cliSource, `src/cli/herald.ts defines the ${role} command`).toMatch(new RegExp(`\\.command\\(\\s*['"]${role}['"]`));
    }
  });

  it('serves the API on 0.0.0.0:3000 and health-checks it on /healthz', () => {
    const api = service(compose, SERVICES.heraldApi);
    const env = envOf(api, SERVICES.heraldApi);
    expect(env.HERALD_API_HOST).toBe('0.0.0.0');
    const apiPort = Number(env.HERALD_API_PORT);
    expect(apiPort).toBe(3000);
    expect(portsOf(api)).toContainEqual({ published: 3000, target: apiPort });
    expect(hasHealthcheck(api), 'herald-api has a healthcheck').toBe(true);
    const healthUrl = /https?:\/\/[^'"\s)]+/.exec(healthcheckArgv(api).join(' '))?.[0];
    expect(healthUrl, 'herald-api healthcheck requests a URL').toBeDefined();
    const health = new URL(healthUrl ?? 'invalid:');
    expect(health.hostname).toBe('127.0.0.1');
    expect(Number(health.port)).toBe(apiPort);
    expect(health.pathname).toBe('/healthz');
    // The runtime image has node but no curl/wget: the probe is node's own fetch, and must exit non-zero on failure.
    expect(healthcheckArgv(api).slice(0, 2)).toEqual(['CMD', 'node']);
    expect(healthcheckArgv(api).join(' ')).toMatch(/process\.exit\(r\.ok \? 0 : 1\)/);
  });

  it("publishes no port from the worker and does not inherit the image's HTTP healthcheck", () => {
    const worker = service(compose, SERVICES.heraldWorker);
    expect(worker.ports ?? [], 'worker ports').toEqual([]);
    expect(worker.expose ?? [], 'worker expose').toEqual([]);
    expect(Object.keys(rawEnvOf(worker)).filter((k) => k.startsWith('HERALD_API_')), 'API settings on the worker').toEqual([]);
    // Without a healthcheck of its own the worker would run the Dockerfile's HEALTHCHECK, which asks the API it
    // does not serve and would mark it unhealthy forever. It must switch it off (or replace it with a non-HTTP check).
    const stages = parseDockerfile(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));
    const imageCheck = stages[stages.length - 1]?.instructions.filter((i) => i.keyword === 'HEALTHCHECK').pop()?.args ?? '';
    const effective = worker.healthcheck === undefined ? imageCheck : hasHealthcheck(worker) ? healthcheckArgv(worker).join(' ') : '';
    expect(effective, 'the worker health-checks an HTTP endpoint').not.toMatch(/https?:\/\/|\/healthz|fetch\(|\bcurl\b|\bwget\b/);
    // Nothing may wait for a worker health status that never comes.
    for (const name of names) {
      for (const dep of dependsOn(service(compose, name)).filter((d) => d.name === SERVICES.heraldWorker)) {
        expect(dep.condition, `${name} → ${SERVICES.heraldWorker}`).not.toBe('service_healthy');
      }
    }
  });

  it('runs both Herald roles under an init, restartable, with time to drain on stop', () => {
    for (const name of HERALD_SERVICES) {
      const herald = service(compose, name);
      // tini as PID 1 forwards SIGTERM to node, so the graceful shutdown runs.
      expect(herald.init, `${name}: init`).toBe(true);
      expect(herald.restart, `${name}: restart`).toBe('unless-stopped');
      expect(herald.stop_grace_period, `${name}: stop_grace_period`).toBe('20s');
    }
  });

  it('points the Web UI at the temporal service', () => {
    const env = envOf(service(compose, SERVICES.ui));
    expect(env.TEMPORAL_ADDRESS?.split(':')[0]).toBe(SERVICES.temporal);
    expect(env.TEMPORAL_CORS_ORIGINS).toBe('http://localhost:3000');
  });

  it('puts every service on the one network and keeps PostgreSQL data in a declared named volume', () => {
    const networks = Object.keys(compose.networks ?? {});
    expect(networks).toHaveLength(1);
    for (const name of names) {
      const svc = service(compose, name);
      const attached = Array.isArray(svc.networks) ? svc.networks : Object.keys(svc.networks ?? {});
      expect(attached, name).toEqual(networks);
    }
    const declared = Object.keys(compose.volumes ?? {});
    for (const name of names) {
      for (const mount of mountsOf(service(compose, name)).filter((m) => m.kind === 'volume')) {
        expect(declared, `${name}: volume ${mount.source || '(anonymous)'} for ${mount.target}`).toContain(mount.source);
      }
    }
    const pgData = mountsOf(service(compose, SERVICES.postgres)).find((m) => m.target === '/var/lib/postgresql/data');
    expect(pgData?.kind).toBe('volume');
  });

  it('references only files that exist: bind-mount sources, build context and Dockerfile', () => {
    let binds = 0;
    for (const name of names) {
      for (const mount of mountsOf(service(compose, name)).filter((m) => m.kind === 'bind')) {
        binds += 1;
        expect(mount.source.startsWith(repoRoot), `${name}: ${mount.source} is inside the repository`).toBe(true);
        expect(existsSync(mount.source), `${name}: ${relative(repoRoot, mount.source)} exists`).toBe(true);
      }
      const build = service(compose, name).build;
      if (build !== undefined) {
        const context = resolve(repoRoot, typeof build === 'string' ? build : (build.context ?? '.'));
        const dockerfile = resolve(context, typeof build === 'string' ? 'Dockerfile' : (build.dockerfile ?? 'Dockerfile'));
        expect(statSync(context).isDirectory(), `${name}: build context`).toBe(true);
        expect(existsSync(dockerfile), `${name}: ${relative(repoRoot, dockerfile)} exists`).toBe(true);
      }
    }
    expect(binds).toBeGreaterThan(0);
  });

  it('runs scripts that are mounted into the job containers and executable', () => {
    for (const job of ONE_SHOT_JOBS) {
      const svc = service(compose, job);
      const argv = argvOf(svc);
      const script = argv[0] === '/bin/sh' || argv[0] === 'sh' ? argv[1] : argv[0];
      expect(script, job).toBeDefined();
      const onHost = hostPathFor(svc, script ?? '');
      expect(onHost, `${job}: ${script} is not bind-mounted`).toBeDefined();
      expect(existsSync(onHost ?? ''), `${job}: ${onHost}`).toBe(true);
      expect(isExecutable(onHost ?? ''), `${job}: ${onHost} is executable`).toBe(true);
    }
  });

  it("registers Herald's five search attributes in the namespace job's command", () => {
    const argv = argvOf(service(compose, SERVICES.namespaceJob));
    const modeAt = argv.indexOf('namespace');
    expect(modeAt).toBeGreaterThan(0);
    const registered = Object.fromEntries(
      argv.slice(modeAt + 1).map((spec) => {
        const [name = '', type = ''] = spec.split('=');
        return [name, type];
      }),
    );
    expect(registered).toEqual(HERALD_SEARCH_ATTRIBUTES);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The setup script, run for real against fake CLIs

describe('deploy/temporal-setup.sh (the one-shot jobs, against fake CLIs)', () => {
  const compose = loadCompose();
  let dir = '';
  let bin = '';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'herald-compose-'));
    bin = join(dir, 'bin');
    // Each fake appends its argv (unit-separated) to $FAKE_LOG and answers like the real CLI would.
    const fakeTemporal = `#!/bin/sh
printf '%s\\037' temporal "$@" >> "$FAKE_LOG"; printf '\\n' >> "$FAKE_LOG"
case "$*" in
  "operator cluster health"*) echo SERVING ;;
  "operator namespace describe"*)
    [ "\${FAKE_NAMESPACE_EXISTS:-0}" = 1 ] || { echo "Error: Namespace not found." >&2; exit 1; } ;;
  "operator search-attribute create"*)
    [ -z "\${FAKE_SA_ERROR:-}" ] || { echo "Error: \${FAKE_SA_ERROR}" >&2; exit 1; }
    for existing in \${FAKE_SA_EXISTING:-}; do
      case " $* " in *" --name $existing "*) echo "Error: Search attribute $existing already exists." >&2; exit 1 ;; esac
    done ;;
esac
exit 0
`;
    const fakeSqlTool = `#!/bin/sh
printf '%s\\037' temporal-sql-tool "$@" "SQL_PASSWORD=\${SQL_PASSWORD:-}" >> "$FAKE_LOG"; printf '\\n' >> "$FAKE_LOG"
exit 0
`;
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'temporal'), fakeTemporal, { mode: 0o755 });
    writeFileSync(join(bin, 'temporal-sql-tool'), fakeSqlTool, { mode: 0o755 });
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs a job's own command (argv from compose, script resolved through its bind mount) with its env. */
  function runJob(job: string, extraEnv: Record<string, string> = {}, argvOverride?: string[]) {
    const svc = service(compose, job);
    const argv = argvOverride ?? argvOf(svc);
    const scriptAt = argv[0] === '/bin/sh' || argv[0] === 'sh' ? 1 : 0;
    const script = hostPathFor(svc, argv[scriptAt] ?? '');
    if (!script) throw new Error(`${job}: script not mounted`);
    const log = join(dir, `${job}-${Math.random().toString(36).slice(2)}.log`);
    writeFileSync(log, '');
    const result = spawnSync('/bin/sh', [script, ...argv.slice(scriptAt + 1)], {
      encoding: 'utf8',
      timeout: 30_000,
      env: {
        PATH: `${bin}${delimiter}${process.env.PATH ?? '/usr/bin:/bin'}`,
        ...envOf(svc, job),
        FAKE_LOG: log,
        SETUP_RETRY_SLEEP: '0',
        SETUP_RETRIES: '3',
        TEMPORAL_RESOLVE_IPV4: 'false', // no DNS lookups for "temporal" on the test machine
        ...extraEnv,
      },
    });
    const calls = readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('\u001f').filter((_, i, all) => i < all.length - 1));
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls };
  }

  function flag(call: string[], name: string): string | undefined {
    const at = call.indexOf(name);
    return at < 0 ? undefined : call[at + 1];
  }

  it('namespace job: creates the missing namespace and registers all five search attributes', () => {
    const { status, stderr, calls } = runJob(SERVICES.namespaceJob);
    expect(status, stderr).toBe(0);
    const namespace = envOf(service(compose, SERVICES.namespaceJob)).TEMPORAL_NAMESPACE;
    expect(namespace).toBe('default');

    expect(calls[0]?.slice(0, 4)).toEqual(['temporal', 'operator', 'cluster', 'health']);
    const create = calls.find((c) => c[2] === 'namespace' && c[3] === 'create');
    expect(create, 'namespace create').toBeDefined();
    expect(flag(create ?? [], '--namespace')).toBe(namespace);

    const registered = calls.filter((c) => c.slice(1, 4).join(' ') === 'operator search-attribute create');
    expect(Object.fromEntries(registered.map((c) => [flag(c, '--name'), flag(c, '--type')]))).toEqual(HERALD_SEARCH_ATTRIBUTES);
    for (const call of registered) {
      expect(flag(call, '--namespace')).toBe(namespace);
      expect(flag(call, '--address')).toBe('temporal:7233');
    }
  });

  it('namespace job: leaves an existing namespace alone and tolerates "already exists"', () => {
    const { status, stderr, calls } = runJob(SERVICES.namespaceJob, {
      FAKE_NAMESPACE_EXISTS: '1',
      FAKE_SA_EXISTING: 'HeraldEventId HeraldTenantId',
    });
    expect(status, stderr).toBe(0);
    expect(calls.some((c) => c[2] === 'namespace' && c[3] === 'create')).toBe(false);
    const registered = calls.filter((c) => c.slice(1, 4).join(' ') === 'operator search-attribute create');
    // Each attribute is tried once: "already exists" is success, not a retry.
    expect(registered.map((c) => flag(c, '--name')).sort()).toEqual(Object.keys(HERALD_SEARCH_ATTRIBUTES).sort());
  });

  it('namespace job: fails (after retrying) on any other registration error', () => {
    const { status, stderr, calls } = runJob(SERVICES.namespaceJob, { FAKE_NAMESPACE_EXISTS: '1', FAKE_SA_ERROR: 'permission denied' });
    expect(status).not.toBe(0);
    expect(stderr).toMatch(/permission denied/);
    const registered = calls.filter((c) => c.slice(1, 4).join(' ') === 'operator search-attribute create');
    expect(registered).toHaveLength(3); // SETUP_RETRIES, then gives up on the first attribute
  });

  it('namespace job: rejects a malformed attribute before contacting the server', () => {
    const argv = [...argvOf(service(compose, SERVICES.namespaceJob)), 'Broken=NotAType'];
    const { status, stderr, calls } = runJob(SERVICES.namespaceJob, {}, argv);
    expect(status).not.toBe(0);
    expect(stderr).toMatch(/Broken/);
    expect(calls).toEqual([]);
  });

  it('schema job: creates and migrates temporal + temporal_visibility, and creates the herald database', () => {
    // A password unlike any other argument (the default equals the user and database name).
    const password = 'pw-8c1f-not-in-argv';
    const { status, stderr, calls } = runJob(SERVICES.schemaJob, { POSTGRES_PWD: password });
    expect(status, stderr).toBe(0);
    const env = envOf(service(compose, SERVICES.schemaJob));
    for (const call of calls) {
      expect(call[0]).toBe('temporal-sql-tool');
      expect(flag(call, '--plugin')).toBe('postgres12');
      expect(flag(call, '--ep')).toBe(env.POSTGRES_SEEDS);
      expect(flag(call, '-u')).toBe(env.POSTGRES_USER);
      expect(flag(call, '-p')).toBe(env.DB_PORT);
      // The password goes through the environment, never argv.
      expect(call.slice(0, -1).join(' ')).not.toContain(password);
      expect(call[call.length - 1]).toBe(`SQL_PASSWORD=${password}`);
    }
    const steps = calls.map((c) => {
      const db = flag(c, '--db');
      const args = c.slice(c.indexOf('--db') + 2, -1);
      return `${db} ${args.join(' ')}`;
    });
    expect(steps).toEqual([
      'temporal create',
      'temporal setup-schema -v 0.0',
      'temporal update-schema -d /etc/temporal/schema/postgresql/v12/temporal/versioned',
      'temporal_visibility create',
      'temporal_visibility setup-schema -v 0.0',
      'temporal_visibility update-schema -d /etc/temporal/schema/postgresql/v12/visibility/versioned',
      'herald create',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('Dockerfile and .dockerignore', () => {
  const stages = parseDockerfile(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));
  const aliases = new Set(stages.map((s) => s.alias).filter((a): a is string => a !== undefined));
  const final = stages[stages.length - 1];
  const builder = stages.find((s) => s.alias === 'builder');
  const compose = loadCompose();
  const apiEnv = envOf(service(compose, SERVICES.heraldApi));

  it('is multi-stage, on exact-tagged bases, building and running on the same image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(builder, 'a stage named builder').toBeDefined();
    for (const stage of stages) {
      if (aliases.has(stage.image)) continue; // FROM an earlier stage
      expect(isExactlyPinned(stage.image), `FROM ${stage.image}`).toBe(true);
    }
    // Native modules (better-sqlite3, Temporal's core bridge) compiled in the builder must match the runtime.
    expect(final?.image).toBe(builder?.image);
    expect(splitImage(final?.image ?? '')).toMatchObject({ repository: 'node', tag: '20.20-bookworm-slim' });
  });

  it('installs the toolchain, installs exactly, builds and prunes dev dependencies in the builder', () => {
    const runs = (builder?.instructions ?? []).filter((i) => i.keyword === 'RUN').map((i) => i.args.split(/\s*&&\s*/));
    const commands = runs.flat().map((c) => c.replace(/\s+/g, ' ').trim());
    const apt = commands.find((c) => c.startsWith('apt-get install')) ?? '';
    for (const pkg of ['python3', 'make', 'g++']) expect(apt.split(' '), pkg).toContain(pkg);
    const ci = commands.findIndex((c) => /^npm ci\b/.test(c));
    const build = commands.findIndex((c) => /^npm run build\b/.test(c));
    const prune = commands.findIndex((c) => /^npm prune --omit=dev\b/.test(c));
    expect(ci).toBeGreaterThanOrEqual(0);
    expect(build).toBeGreaterThan(ci);
    expect(prune).toBeGreaterThan(build);
  });

  it('copies only sources that exist and are not ignored into the build', () => {
    const ignored = new Set(readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()));
    for (const stage of stages) {
      for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY' && !/--from=/.test(i.args))) {
        const words = copy.args.split(/\s+/).filter((w) => !w.startsWith('--'));
        for (const source of words.slice(0, -1)) {
          if (source === '.') continue;
          expect(existsSync(join(repoRoot, source)), `COPY ${source}`).toBe(true);
          expect(ignored.has(source), `COPY ${source} is .dockerignored`).toBe(false);
        }
      }
    }
  });

  it("runs the herald CLI's start role as a non-root user in production mode, from builder output", () => {
    const instructions = final?.instructions ?? [];
    const cmd = instructions.filter((i) => i.keyword === 'CMD').pop();
    expect(cmd, 'CMD').toBeDefined();
    const argv = execForm(cmd?.args ?? '[]');
    // `herald start` = what `npm start` (dist/src/main.js) runs: everything in one process.
    expect(argv).toEqual(['node', 'dist/src/cli/herald.js', 'start']);
    // …where the build config puts src/cli/herald.ts, the package's `herald` bin.
    expect(argv[1]).toBe(emittedJs('src/cli/herald.ts'));
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { bin?: Record<string, string>; scripts?: Record<string, string> };
    expect(pkg.bin?.herald?.replace(/^\.\//, '')).toBe(argv[1]);
    // `npm start` runs the built src/main.ts, which is the same `start` role.
    expect(pkg.scripts?.start?.split(/\s+/)).toEqual(['node', emittedJs('src/main.ts')]);
    expect(readFileSync(join(repoRoot, 'src', 'main.ts'), 'utf8')).toMatch(/runHerald\(\{\s*role:\s*'start'\s*\}\)/);
    // The compose services run the same entry point, only with another role.
    for (const name of HERALD_SERVICES) expect(argvOf(service(compose, name)).slice(0, 2), name).toEqual(argv.slice(0, 2));

    const user = instructions.filter((i) => i.keyword === 'USER').pop()?.args.split(':')[0];
    expect(user, 'USER').toBeDefined();
    expect(['root', '0']).not.toContain(user);

    const env = instructions.filter((i) => i.keyword === 'ENV').map((i) => i.args.replace(/\s+/, '=')).join(' ');
    expect(env.split(/\s+/)).toContain('NODE_ENV=production');

    const exposed = instructions.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/)).map((p) => Number(p.split('/')[0]));
    expect(exposed).toContain(Number(apiEnv.HERALD_API_PORT));

    const copied = instructions
      .filter((i) => i.keyword === 'COPY' && /--from=builder\b/.test(i.args))
      .map((i) => i.args.split(/\s+/).filter((w) => !w.startsWith('--'))[0]?.replace(/^\/app\//, ''));
    for (const path of ['dist', 'node_modules', 'package.json']) expect(copied, path).toContain(path);
  });

  it('bakes no secret into the image: the key and the API tokens come only from the environment at run time', () => {
    for (const stage of stages) {
      for (const instruction of stage.instructions.filter((i) => i.keyword === 'ENV' || i.keyword === 'ARG')) {
        for (const secret of Object.keys(REQUIRED_SECRETS)) expect(instruction.args, `${instruction.keyword} ${instruction.args}`).not.toContain(secret);
      }
    }
  });

  it('keeps local state and build output out of the build context', () => {
    const lines = readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const entry of ['node_modules', 'dist', '.tools', '.herald', '.git', 'bench/results', '.env']) expect(lines, entry).toContain(entry);
    for (const needed of ['package.json', 'package-lock.json', 'src', 'scripts', 'tsconfig.json', 'tsconfig.build.json']) {
      expect(lines, `${needed} must reach the builder`).not.toContain(needed);
    }
  });
});
