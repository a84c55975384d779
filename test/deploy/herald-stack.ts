/**
 * What the production-shaped stack must hold: its service names, the Herald roles, the two secrets and the
 * search attributes. The docker-compose, setup-script and Dockerfile tests all check against these.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(new URL('../../', import.meta.url)));
export const composePath = join(repoRoot, 'docker-compose.yml');

export const SERVICES = {
  postgres: 'postgresql',
  schemaJob: 'temporal-admin-tools',
  temporal: 'temporal',
  namespaceJob: 'temporal-create-namespace',
  ui: 'temporal-ui',
  heraldWorker: 'herald-worker',
  heraldApi: 'herald-api',
} as const;
export const ONE_SHOT_JOBS = new Set<string>([SERVICES.schemaJob, SERVICES.namespaceJob]);

/** Herald's services and the `herald` CLI role each one runs (src/cli/herald.ts). */
export const HERALD_ROLES: Record<string, 'worker' | 'api'> = { [SERVICES.heraldWorker]: 'worker', [SERVICES.heraldApi]: 'api' };
export const HERALD_SERVICES = Object.keys(HERALD_ROLES);

/**
 * The secrets compose must refuse to start without (`${NAME:?message}`: unset or empty is an error), with
 * stand-in values for interpolating the file here. Nothing else may be required: the rest has defaults.
 */
export const REQUIRED_SECRETS: Record<string, string> = {
  HERALD_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  HERALD_API_TOKENS: 'test-admin-token,test-tenant-token:tenant-a',
};
/** Which secret each Herald role reads (src/config/config.ts): the worker has no use for the API's tokens. */
export const SECRETS_BY_ROLE: Record<'worker' | 'api', string[]> = {
  worker: ['HERALD_ENCRYPTION_KEY'],
  api: ['HERALD_ENCRYPTION_KEY', 'HERALD_API_TOKENS'],
};

export const HERALD_SEARCH_ATTRIBUTES: Record<string, string> = {
  HeraldWebhookId: 'Keyword',
  HeraldEventId: 'Keyword',
  HeraldEventType: 'Keyword',
  HeraldTenantId: 'Keyword',
  HeraldDeliveryStatus: 'Keyword',
};
