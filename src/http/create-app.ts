import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { matchedRoutes } from 'hono/route';
import type { HeraldClient } from '../client/herald-client.js';
import type { ApiToken } from '../config/api-tokens.js';
import { heraldVersion } from '../embedded/project-root.js';
import type { HeraldMetrics } from '../metrics/metrics.js';
import { bearerAuth } from './auth.js';
import { errorRenderer, HttpError, notFoundRenderer, validationError, type ErrorLogger } from './errors.js';
import type { HealthReport } from './health.js';
import { idempotency, type IdempotencyStore } from './idempotency.js';
import { registerDocsRoutes, type OpenApiDocument } from './openapi.js';
import type { AppEnv } from './routes/common.js';
import { registerDeliveryRoutes } from './routes/deliveries.js';
import { registerEventRoutes } from './routes/events.js';
import { registerOperationRoutes } from './routes/operations.js';
import { registerRecoveryRoutes } from './routes/recoveries.js';
import { registerTenantRoutes } from './routes/tenants.js';
import { registerWebhookRoutes } from './routes/webhooks.js';
import { registerOperatorPage } from './ui/operator-page.js';
import { continueIncomingTrace } from '../telemetry/incoming-trace.js';
import type { TemporalWebUi } from './ui/temporal-link.js';

/** Largest request body accepted (413 above it), unless the payload limit needs more. */
const MAX_BODY_BYTES = 1024 * 1024;
/** Room for the rest of a publish body around a payload of the maximum size. */
const ENVELOPE_ALLOWANCE_BYTES = 64 * 1024;

export interface HttpConfig {
  /** Largest event payload (UTF-8 JSON bytes): HERALD_MAX_PAYLOAD_BYTES. 413 naming `payload` above it. */
  maxPayloadBytes: number;
  /** Largest request body; default 1 MiB (raised to fit `maxPayloadBytes` if that is larger). */
  maxBodyBytes?: number;
  /** The API version in the OpenAPI document; default Herald's package version. */
  version?: string;
  /** The Temporal Web UI the operator page (`/ui`) links each delivery to; none: no link. */
  temporalUi?: TemporalWebUi;
}

export interface AppDeps {
  /** The admin (unscoped) client; tenant tokens get `herald.forTenant(tenant)`. */
  herald: HeraldClient;
  /** `GET /healthz`: asks Temporal and the database. */
  health: () => Promise<HealthReport>;
  /** `config.apiTokens` (parsed HERALD_API_TOKENS). No tokens: every `/v1` request is a 401. */
  tokens: readonly ApiToken[];
  /** `createIdempotencyStore({ engine, box })`: where `Idempotency-Key`s are kept. */
  idempotency: IdempotencyStore;
  /** The process's metrics (give the same instance to the worker's activities). */
  metrics: HeraldMetrics;
  config: HttpConfig;
  /** Unexpected errors (500s) are logged here, never sent to the caller. */
  logger?: ErrorLogger;
}

export type HeraldApp = OpenAPIHono<AppEnv> & { openApiDocument(): OpenApiDocument };

const TARGET_NAMES: Record<string, string> = { json: 'body', query: 'query', param: 'path', header: 'header' };

/**
 * The HTTP API: `/v1` (bearer token; webhooks, events, deliveries, recoveries), `/healthz`, `/metrics`,
 * `/openapi.json` and `/docs` (no token). Every request body is validated at the edge (400 naming the
 * field) before the client sees it, and every error leaves through one renderer.
 */
export function createApp(deps: AppDeps): HeraldApp {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, TARGET_NAMES[result.target] ?? result.target);
    },
  });
  app.onError(errorRenderer(deps.logger));
  app.notFound(notFoundRenderer);

  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    // The route pattern (not the path) keeps the label set small; unmatched paths share one label.
    const last = matchedRoutes(c).at(-1);
    const route = last && last.method !== 'ALL' ? last.path : 'unmatched';
    deps.metrics.recordHttpRequest({ method: c.req.method, route, status: c.res.status, durationMs: performance.now() - started });
  });

  const maxBodyBytes = Math.max(deps.config.maxBodyBytes ?? MAX_BODY_BYTES, deps.config.maxPayloadBytes + ENVELOPE_ALLOWANCE_BYTES);
  app.use(
    '*',
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: () => {
        throw new HttpError(413, 'payload_too_large', `body: the request body is larger than ${maxBodyBytes} bytes`, 'body');
      },
    }),
  );
  app.use('/v1/*', continueIncomingTrace());
  app.use('/v1/*', bearerAuth(deps.tokens, deps.herald));
  app.use('/v1/*', idempotency(deps.idempotency));

  registerWebhookRoutes(app);
  registerRecoveryRoutes(app);
  registerEventRoutes(app);
  registerDeliveryRoutes(app);
  registerTenantRoutes(app);
  registerOperationRoutes(app, { health: deps.health, metrics: deps.metrics });
  registerOperatorPage(app, deps);
  const openApiDocument = registerDocsRoutes(app, { version: deps.config.version ?? heraldVersion() });

  return Object.assign(app, { openApiDocument });
}
