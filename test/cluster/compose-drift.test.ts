/**
 * docker-compose.yml and `npm run test:cluster` cannot drift apart. The cluster test starts every process with
 * the environment compose gives its service, rewritten by named rules (scripts/cluster/compose-env.ts); this
 * file (part of `npm test`, no server needed) proves the rules still fit the compose file: every variable is
 * either passed through verbatim or rewritten by a rule that names it, nothing compose-network-specific is
 * left after the rewrite, the operator variables the README names are all there, and compose pins the Temporal
 * server version the cluster test builds.
 */
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../../src/config/config.js';
import { TEMPORAL_SERVER_VERSION } from '../../src/embedded/temporal-server-binary.js';
import {
  COMPOSE_HOSTS,
  COMPOSE_SERVICES,
  composeEnvironment,
  composeVariables,
  imageTag,
  localEnvironment,
  LOOPBACK,
  readCompose,
  REWRITES,
  TEST_ONLY_VARIABLES,
  type LocalStack,
} from '../../scripts/cluster/compose-env.js';

const compose = readCompose();
const local: LocalStack = {
  postgres: { host: LOOPBACK, port: 54321, user: 'pg-user', password: 'pg-password' },
  temporal: { host: LOOPBACK, port: 17233 },
  api: { host: LOOPBACK, port: 13000 },
  postgresSchemaDir: '/built/server/schema/postgresql/v12',
  encryptionKey: Buffer.alloc(32, 1).toString('base64'),
  apiTokens: 'admin-token',
};
const RUN_AS_PROCESSES = [COMPOSE_SERVICES.schemaJob, COMPOSE_SERVICES.temporal, COMPOSE_SERVICES.worker, COMPOSE_SERVICES.api];
/** What README's "Existing Temporal cluster" section tells an operator to set, per role. */
const OPERATOR_VARIABLES = {
  [COMPOSE_SERVICES.worker]: ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'HERALD_DATABASE_URL', 'HERALD_ENCRYPTION_KEY'],
  [COMPOSE_SERVICES.api]: ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'HERALD_DATABASE_URL', 'HERALD_ENCRYPTION_KEY', 'HERALD_API_TOKENS'],
};

describe('docker-compose.yml vs the cluster test', () => {
  it('pins the Temporal server (and the admin-tools schema tool) to the version the cluster test builds', () => {
    expect(imageTag(compose, COMPOSE_SERVICES.temporal)).toBe(TEMPORAL_SERVER_VERSION);
    expect(imageTag(compose, COMPOSE_SERVICES.schemaJob).split('-')[0]).toBe(TEMPORAL_SERVER_VERSION);
    expect(imageTag(compose, COMPOSE_SERVICES.namespaceJob).split('-')[0]).toBe(TEMPORAL_SERVER_VERSION);
  });

  for (const svc of RUN_AS_PROCESSES) {
    it(`${svc}: every variable passes through verbatim or is rewritten by a rule that names it`, () => {
      const original = composeEnvironment(compose, svc, composeVariables(local));
      const rewritten = localEnvironment(compose, svc, local);
      expect(Object.keys(rewritten).sort()).toEqual(Object.keys(original).sort());
      for (const [name, value] of Object.entries(original)) {
        const rule = REWRITES.find((r) => r.variables.includes(name));
        if (rewritten[name] !== value) expect(rule, `${svc}.${name} changed without a rule`).toBeDefined();
        // Nothing that only resolves on the compose network survives.
        for (const composeOnly of [COMPOSE_HOSTS.temporal, `@${COMPOSE_HOSTS.postgres}`, '0.0.0.0', '/etc/temporal/']) {
          expect(rewritten[name], `${svc}.${name}=${rewritten[name]}`).not.toContain(composeOnly);
        }
        if (name === 'POSTGRES_SEEDS') expect(rewritten[name]).toBe(LOOPBACK);
      }
    });
  }

  it("gives Herald's roles only Herald settings, including everything the README tells an operator to set", () => {
    for (const [svc, required] of Object.entries(OPERATOR_VARIABLES)) {
      const env = localEnvironment(compose, svc, local);
      for (const name of Object.keys(env)) expect(CONFIG_VARIABLES, `${svc}.${name} is not a Herald setting`).toContain(name);
      for (const name of required) expect(env[name], `${svc} sets no ${name}`).toBeTruthy();
      expect(env.TEMPORAL_ADDRESS).toBe(`${LOOPBACK}:${local.temporal.port}`);
      expect(env.HERALD_DATABASE_URL).toBe(`postgres://pg-user:pg-password@${LOOPBACK}:${local.postgres.port}/herald`);
    }
    expect(localEnvironment(compose, COMPOSE_SERVICES.api, local)).toMatchObject({ HERALD_API_HOST: LOOPBACK, HERALD_API_PORT: String(local.api.port) });
  });

  it('names a reason for every variable the test adds, and adds none compose already sets', () => {
    for (const svc of RUN_AS_PROCESSES) {
      const env = composeEnvironment(compose, svc, composeVariables(local));
      for (const name of Object.keys(TEST_ONLY_VARIABLES)) expect(env, `${svc} sets ${name}: drop it from TEST_ONLY_VARIABLES and take compose's value`).not.toHaveProperty(name);
    }
    for (const reason of Object.values(TEST_ONLY_VARIABLES)) expect(reason.length).toBeGreaterThan(3);
  });
});
