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
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { deepInterpolate, variableRefs, without } from './compose-interpolation.js';
import { argvOf, dependsOn, envOf, hasHealthcheck, healthcheckArgv, hostPathFor, isExactlyPinned, loadCompose, mountsOf, portsOf, rawEnvOf, service, splitImage } from './compose-model.js';
import { parseDockerfile } from './dockerfile-parser.js';
import { HERALD_ROLES, HERALD_SEARCH_ATTRIBUTES, HERALD_SERVICES, ONE_SHOT_JOBS, repoRoot, REQUIRED_SECRETS, SECRETS_BY_ROLE, SERVICES } from './herald-stack.js';
import { emittedJs, isExecutable } from './repo-files.js';
import { TEMPORAL_SERVER_VERSION } from '../../src/embedded/temporal-server-binary.js';

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
