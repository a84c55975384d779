/**
 * deploy/temporal-setup.sh, the one-shot jobs' command, run for real against fake `temporal` and
 * `temporal-sql-tool` executables, to check what it would ask Temporal to do.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argvOf, envOf, hostPathFor, loadCompose, service } from './compose-model.js';
import { HERALD_SEARCH_ATTRIBUTES, SERVICES } from './herald-stack.js';

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
