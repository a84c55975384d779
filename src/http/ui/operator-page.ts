import { Hono, type Context, type Env } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { HeraldClient } from '../../client/herald-client.js';
import type { ApiToken } from '../../config/api-tokens.js';
import { toHttpError, type ErrorLogger } from '../errors.js';
import { errorPage } from './error-page.js';
import { registerLoginRoutes, registerLogoutRoute } from './login-routes.js';
import { registerPageRoutes } from './page-routes.js';
import { requireSession } from './require-session.js';
import { sessionKeys } from './session.js';
import { STYLESHEET_CSP_SOURCE } from './styles.js';
import type { TemporalWebUi } from './temporal-link.js';
import type { UiEnv } from './ui-env.js';

/** What the operator page needs: createApp's deps fit as they are. */
export interface OperatorPageDeps {
  /** The admin client; a tenant token's session gets `herald.forTenant(tenant)`. */
  herald: HeraldClient;
  /** The API's tokens: the page accepts exactly these. */
  tokens: readonly ApiToken[];
  config: {
    /** Where the Temporal Web UI is, for a link from each delivery to its workflow run; none: no link. */
    temporalUi?: TemporalWebUi;
  };
  logger?: ErrorLogger;
  clock?: () => number;
}

/**
 * The operator page at `/ui`: server-rendered HTML over the typed client, behind the API's tokens (a login
 * form sets a signed session cookie), scoped to the token's tenant. No scripts: the CSP allows the inline
 * stylesheet by its hash and nothing else, pages are never cached, and no other site may frame them (the
 * Redeliver button is a real action).
 */
export function registerOperatorPage<E extends Env>(app: Hono<E>, deps: OperatorPageDeps): void {
  const clock = deps.clock ?? Date.now;
  const keys = sessionKeys(deps.tokens);
  const ui = new Hono<UiEnv>();

  ui.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        styleSrc: [STYLESHEET_CSP_SOURCE],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
      xFrameOptions: 'DENY',
      referrerPolicy: 'no-referrer',
      // Whether the whole host is https-only is the operator's decision, not this page's.
      strictTransportSecurity: false,
    }),
  );
  ui.use('*', async (c, next) => {
    // A form posted from another site never acts, whatever it carries (browsers say where a request came from).
    if (c.req.method === 'POST' && c.req.header('sec-fetch-site') === 'cross-site') {
      return c.html(errorPage({ status: 403, message: 'Forms from other sites are refused.' }), 403);
    }
    await next();
    c.header('Cache-Control', 'no-store');
  });

  ui.onError((err: Error, c: Context<UiEnv>) => {
    const session = c.get('session');
    const http = toHttpError(err);
    if (!http) deps.logger?.error({ err, method: c.req.method, path: c.req.path }, 'unhandled error on the operator page');
    const status = http?.status ?? 500;
    const message = http?.message ?? 'internal error: see the server log';
    return c.html(errorPage({ status, message, ...(session ? { session } : {}) }), status);
  });

  // The login form is the one public page; everything registered after requireSession needs a session.
  registerLoginRoutes(ui, keys, clock);
  ui.use('*', requireSession(keys, deps.herald, clock));
  registerLogoutRoute(ui);
  registerPageRoutes(ui, { temporalUi: deps.config.temporalUi, clock });

  app.route('/ui', ui);
}
