import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { loadConfig } from '../../src/config/config.js';
import { parseApiTokens } from '../../src/config/api-tokens.js';
import { csrfMatches, SESSION_TTL_MS, sessionKeys } from '../../src/http/ui/session.js';

// Pure logic: the operator page's signed sessions and CSRF tokens, and its one configuration variable.

const ADMIN = 'admin-token-0123456789';
const ACME = 'acme-token-0123456789';
const NOW = 1_764_590_400_000;

describe('operator page sessions', () => {
  const tokens = parseApiTokens(`${ADMIN},${ACME}:acme`);
  const keys = sessionKeys(tokens);

  it('opens a session only for a token the API accepts, for the caller that token is', () => {
    expect(keys.open(ADMIN, NOW)?.session.caller).toEqual({ kind: 'admin' });
    expect(keys.open(ACME, NOW)?.session.caller).toEqual({ kind: 'tenant', tenantId: 'acme' });
    for (const wrong of [`${ADMIN}x`, ADMIN.slice(0, -1), ADMIN.toUpperCase(), '', `${ACME}:acme`]) expect(keys.open(wrong, NOW)).toBeUndefined();
    expect(sessionKeys([]).open(ADMIN, NOW)).toBeUndefined();
  });

  it('verifies its own cookie until it expires, and holds no token', () => {
    const { cookie, session } = keys.open(ACME, NOW)!;
    expect(cookie).not.toContain(ACME);
    expect(session.expiresAt).toBe(NOW + SESSION_TTL_MS);
    expect(keys.verify(cookie, NOW + 1000)).toEqual(session);
    expect(keys.verify(cookie, NOW + SESSION_TTL_MS - 1)).toEqual(session);
    expect(keys.verify(cookie, NOW + SESSION_TTL_MS)).toBeUndefined();
    // A second process with the same tokens accepts it (no per-process secret).
    expect(sessionKeys(parseApiTokens(`${ADMIN},${ACME}:acme`)).verify(cookie, NOW)).toEqual(session);
  });

  it('ends when its token is no longer configured, or no longer for the same tenant', () => {
    const { cookie } = keys.open(ACME, NOW)!;
    expect(sessionKeys(parseApiTokens(ADMIN)).verify(cookie, NOW)).toBeUndefined();
    expect(sessionKeys(parseApiTokens(`${ACME}:globex`)).verify(cookie, NOW)).toBeUndefined();
    expect(sessionKeys(parseApiTokens(ACME)).verify(cookie, NOW)).toBeUndefined();
  });

  it('refuses a cookie changed in any part, or not a cookie at all', () => {
    const { cookie } = keys.open(ADMIN, NOW)!;
    const parts = cookie.split('.');
    const variants = parts.map((part, i) => parts.map((p, j) => (i === j ? (p[0] === 'A' ? 'B' : 'A') + p.slice(1) : p)).join('.'));
    const farFuture = [parts[0], (NOW + 10 * SESSION_TTL_MS).toString(36), parts[2], parts[3]].join('.');
    for (const bad of [...variants, farFuture, `${cookie}.x`, parts.slice(0, 3).join('.'), '', undefined, ADMIN, 'v1....']) {
      expect(keys.verify(bad, NOW), String(bad)).toBeUndefined();
    }
  });

  it('gives each session its own CSRF token, checked in full', () => {
    const a = keys.open(ADMIN, NOW)!.session;
    const b = keys.open(ADMIN, NOW)!.session;
    expect(a.csrfToken).not.toBe(b.csrfToken);
    expect(a.csrfToken).toMatch(/^[\w-]{43}$/);
    expect(csrfMatches(a, a.csrfToken)).toBe(true);
    for (const wrong of [b.csrfToken, a.csrfToken.slice(0, -1), `${a.csrfToken}x`, '', undefined, ['x']]) expect(csrfMatches(a, wrong)).toBe(false);
  });
});

describe('HERALD_TEMPORAL_UI_URL', () => {
  it('is unset by default (the embedded dev server\'s UI is used where Herald runs one)', () => {
    expect(loadConfig({}, '/srv').temporalUiUrl).toBeUndefined();
    expect(loadConfig({ HERALD_TEMPORAL_UI_URL: '  ' }, '/srv').temporalUiUrl).toBeUndefined();
  });

  it('takes an http(s) base URL, without its trailing slash', () => {
    expect(loadConfig({ HERALD_TEMPORAL_UI_URL: 'http://127.0.0.1:8080/' }).temporalUiUrl).toBe('http://127.0.0.1:8080');
    expect(loadConfig({ HERALD_TEMPORAL_UI_URL: 'https://temporal.example.com/ui/' }).temporalUiUrl).toBe('https://temporal.example.com/ui');
  });

  it.each([
    ['temporal.example.com:8080', /must be an http\(s\) URL/],
    ['ftp://temporal.example.com', /must be an http\(s\) URL/],
    ['https://user:hunter2@temporal.example.com', /must not hold a user name or password/],
    ['https://temporal.example.com/?a=1', /must not have a query or fragment/],
  ])('refuses %j at start, naming the variable', (value, reason) => {
    let error: unknown;
    try {
      loadConfig({ HERALD_TEMPORAL_UI_URL: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('HERALD_TEMPORAL_UI_URL');
    expect((error as Error).message).toMatch(reason);
    expect((error as Error).message).not.toContain('hunter2');
  });
});
