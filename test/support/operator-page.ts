import type { Client } from '@temporalio/client';
import { expect } from 'vitest';
import { HeraldClient } from '../../src/client/herald-client.js';
import { parseApiTokens } from '../../src/config/api-tokens.js';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../../src/config/defaults.js';
import { createApp, type HeraldApp } from '../../src/http/create-app.js';
import { createIdempotencyStore } from '../../src/http/idempotency.js';
import { SESSION_COOKIE } from '../../src/http/ui/session.js';
import type { TemporalWebUi } from '../../src/http/ui/temporal-link.js';
import { HeraldMetrics } from '../../src/metrics/metrics.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { TEST_BOX } from './deps.js';
import { TEST_API_TOKENS } from './http.js';

/** The real app (as `npm start` builds it) with the operator page linking to `temporalUi`. */
export function operatorApp(opts: { temporal: Client; store: DataEngine; taskQueue: string; temporalUi?: TemporalWebUi }): { app: HeraldApp; herald: HeraldClient } {
  const herald = new HeraldClient({ temporal: opts.temporal, store: opts.store, box: TEST_BOX, taskQueue: opts.taskQueue });
  const app = createApp({
    herald,
    health: async () => ({ ok: true, checks: { temporal: { ok: true }, database: { ok: true } } }),
    tokens: parseApiTokens(TEST_API_TOKENS),
    idempotency: createIdempotencyStore({ engine: opts.store, box: TEST_BOX }),
    metrics: new HeraldMetrics({ store: opts.store }),
    config: { maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES, ...(opts.temporalUi ? { temporalUi: opts.temporalUi } : {}) },
  });
  return { app, herald };
}

export interface PageResponse {
  status: number;
  html: string;
  headers: Headers;
  location: string | null;
}

/** A browser-like caller of the page without a browser: a cookie jar of one session cookie, form posts. */
export function pageCaller(app: HeraldApp, cookie?: string) {
  async function send(method: string, path: string, form?: Record<string, string>, headers: Record<string, string> = {}): Promise<PageResponse> {
    const res = await app.request(path, {
      method,
      redirect: 'manual',
      headers: {
        ...(cookie ? { cookie: `${SESSION_COOKIE}=${cookie}` } : {}),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...headers,
      },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    return { status: res.status, html: await res.text(), headers: res.headers, location: res.headers.get('location') };
  }
  return {
    get: (path: string, headers?: Record<string, string>) => send('GET', path, undefined, headers),
    post: (path: string, form: Record<string, string>, headers?: Record<string, string>) => send('POST', path, form, headers),
  };
}

/** The session cookie's value in a Set-Cookie response, and the whole header (for its attributes). */
export function sessionCookieOf(res: PageResponse): { value: string; header: string } {
  const header = res.headers.getSetCookie().find((h) => h.startsWith(`${SESSION_COOKIE}=`));
  expect(header, 'a session cookie is set').toBeDefined();
  return { value: decodeURIComponent(header!.slice(SESSION_COOKIE.length + 1).split(';')[0]!), header: header! };
}

/** Logs in with `token` through the form; returns the session cookie's value. */
export async function login(app: HeraldApp, token: string): Promise<string> {
  const res = await pageCaller(app).post('/ui/login', { token, next: '/ui/webhooks' });
  expect(res.status, res.html).toBe(303);
  return sessionCookieOf(res).value;
}

/** The CSRF token a page's forms carry. */
export function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  expect(match, 'the page has a form with a CSRF token').not.toBeNull();
  return match![1]!;
}
