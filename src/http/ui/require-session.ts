import { getCookie } from 'hono/cookie';
import type { MiddlewareHandler } from 'hono';
import type { HeraldClient } from '../../client/herald-client.js';
import { scopedClients } from '../auth.js';
import { SESSION_COOKIE, type SessionKeys } from './session.js';
import type { UiEnv } from './ui-env.js';

/**
 * Every page but the login form needs a valid session: without one, the browser is sent to the login form,
 * which brings it back to the page it asked for. Sets `session` and the caller-scoped `herald`.
 */
export function requireSession(keys: SessionKeys, herald: HeraldClient, clock: () => number): MiddlewareHandler<UiEnv> {
  const clientFor = scopedClients(herald);
  return async (c, next) => {
    const session = keys.verify(getCookie(c, SESSION_COOKIE), clock());
    if (!session) {
      const url = new URL(c.req.url);
      // After a POST, come back to the page that held the form (`…/{id}/redeliver` → `…/{id}`), not to the action.
      const back = c.req.method === 'GET' ? `${url.pathname}${url.search}` : url.pathname.replace(/\/[^/]+$/, '');
      return c.redirect(`/ui/login?${new URLSearchParams({ next: back }).toString()}`, 303);
    }
    c.set('session', session);
    c.set('herald', clientFor(session.caller));
    await next();
  };
}
