import type { Context } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import type { CookieOptions } from 'hono/utils/cookie';
import { errorPage } from './error-page.js';
import { safeNext } from './links.js';
import { loginPage } from './login-page.js';
import { CSRF_MESSAGE, csrfMatches, SESSION_COOKIE, SESSION_TTL_MS, type SessionKeys } from './session.js';
import type { UiApp, UiEnv } from './ui-env.js';

/** Shown for a token Herald does not know: what was wrong and where valid tokens come from, never the token. */
export const WRONG_TOKEN_MESSAGE =
  'That token is not valid: Herald does not know it. Use a token from HERALD_API_TOKENS, or the generated admin token file (.herald/api-token).';

/**
 * Over https the cookie is Secure. A TLS-terminating proxy says so in X-Forwarded-Proto; trusting that header
 * can only make the cookie stricter, never weaker.
 */
function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() === 'https';
}

function cookieOptions(c: Context): CookieOptions {
  // Path /ui: the session is never sent to the API (which takes only bearer tokens) or anywhere else.
  return { path: '/ui', httpOnly: true, sameSite: 'Strict', secure: isHttps(c) };
}

/** `GET/POST /ui/login` (public) and `POST /ui/logout` (needs the session: register it after requireSession). */
export function registerLoginRoutes(ui: UiApp, keys: SessionKeys, clock: () => number): void {
  ui.get('/login', (c) => {
    const notice = c.req.query('loggedOut') === '1' ? 'You are logged out.' : undefined;
    return c.html(loginPage({ next: safeNext(c.req.query('next')), ...(notice ? { notice } : {}) }));
  });

  ui.post('/login', async (c) => {
    const form = await c.req.parseBody();
    const next = safeNext(form['next']);
    const token = typeof form['token'] === 'string' ? form['token'].trim() : '';
    if (!token) return c.html(loginPage({ next, error: 'Enter an API token.' }), 400);
    const opened = keys.open(token, clock());
    if (!opened) return c.html(loginPage({ next, error: WRONG_TOKEN_MESSAGE }), 401);
    setCookie(c, SESSION_COOKIE, opened.cookie, { ...cookieOptions(c), maxAge: Math.floor(SESSION_TTL_MS / 1000) });
    return c.redirect(next, 303);
  });
}

/** `POST /ui/logout`: clears the session cookie (with the session's CSRF token, like every POST). */
export function registerLogoutRoute(ui: UiApp): void {
  ui.post('/logout', async (c: Context<UiEnv>) => {
    const form = await c.req.parseBody();
    if (!csrfMatches(c.get('session'), form['csrf'])) return c.html(errorPage({ status: 403, message: CSRF_MESSAGE, session: c.get('session') }), 403);
    deleteCookie(c, SESSION_COOKIE, cookieOptions(c));
    return c.redirect('/ui/login?loggedOut=1', 303);
  });
}
