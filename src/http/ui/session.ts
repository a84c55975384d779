import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { hashApiToken, type ApiToken } from '../../config/api-tokens.js';
import { authenticate, type Caller } from '../auth.js';

/**
 * The operator page's browser session. A browser cannot send `Authorization: Bearer` on a navigation, so the
 * login form takes a token once, checks it with the API's own `authenticate`, and sets a signed session
 * cookie instead of keeping the token: `v1.<expires>.<nonce>.<tag>`, tag = HMAC-SHA256 over the rest, keyed
 * by a key derived (HKDF) from that token's hash and scope. So the cookie never holds the token; a session
 * lives only as long as its token is configured with the same scope (removing it from HERALD_API_TOKENS, or
 * giving it another tenant, ends its sessions at once); every API process with the same tokens accepts it;
 * and there is no extra secret to configure. The hashes never leave the server. The per-session CSRF token is
 * another HMAC under the same key, over the session's nonce.
 */

export const SESSION_COOKIE = 'herald_ui_session';
/** How long a login lasts (also the cookie's Max-Age). */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

const VERSION = 'v1';
const NONCE_BYTES = 16;
const TAG_BYTES = 32;

export interface Session {
  caller: Caller;
  /** Goes into every POST form of this session; checked by `csrfMatches`. */
  csrfToken: string;
  expiresAt: number;
}

export interface SessionKeys {
  /** A new session (and its cookie value) for a presented token, or undefined when the API would refuse the token. */
  open(presented: string, now: number): { cookie: string; session: Session } | undefined;
  /** The session a cookie value stands for; undefined if missing, malformed, tampered with, expired, or its token was removed. */
  verify(cookie: string | undefined, now: number): Session | undefined;
}

interface KeyedToken {
  token: ApiToken;
  key: Buffer;
}

/** The scope is part of the key: giving a token another tenant (or making it admin) ends its sessions too. */
function deriveKey(token: ApiToken): Buffer {
  const scope = token.tenantId === undefined ? 'admin' : `tenant:${token.tenantId}`;
  return Buffer.from(hkdfSync('sha256', token.hash, 'herald-operator-page', `session-v1 ${scope}`, 32));
}

function mac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text, 'utf8').digest();
}

function callerOf(token: ApiToken): Caller {
  return token.tenantId === undefined ? { kind: 'admin' } : { kind: 'tenant', tenantId: token.tenantId };
}

function sessionOf(keyed: KeyedToken, nonce: string, expiresAt: number): Session {
  return { caller: callerOf(keyed.token), csrfToken: mac(keyed.key, `csrf.${nonce}`).toString('base64url'), expiresAt };
}

export function sessionKeys(tokens: readonly ApiToken[]): SessionKeys {
  const keyed: KeyedToken[] = tokens.map((token) => ({ token, key: deriveKey(token) }));
  return {
    open(presented, now) {
      // The same check as the API's bearer middleware, so the page accepts exactly the tokens the API does.
      if (!authenticate(tokens, presented)) return undefined;
      const hash = hashApiToken(presented);
      const match = keyed.find((k) => timingSafeEqual(k.token.hash, hash));
      if (!match) return undefined;
      const expiresAt = now + SESSION_TTL_MS;
      const nonce = randomBytes(NONCE_BYTES).toString('base64url');
      const body = `${VERSION}.${expiresAt.toString(36)}.${nonce}`;
      return { cookie: `${body}.${mac(match.key, body).toString('base64url')}`, session: sessionOf(match, nonce, expiresAt) };
    },

    verify(cookie, now) {
      if (!cookie) return undefined;
      const parts = cookie.split('.');
      if (parts.length !== 4 || parts[0] !== VERSION) return undefined;
      const [, expires, nonce, tagText] = parts as [string, string, string, string];
      const expiresAt = parseInt(expires, 36);
      if (!/^[0-9a-z]{1,12}$/.test(expires) || !(expiresAt > now) || expiresAt > now + SESSION_TTL_MS) return undefined;
      const tag = Buffer.from(tagText, 'base64url');
      if (tag.length !== TAG_BYTES || !/^[\w-]+$/.test(nonce)) return undefined;
      const body = `${VERSION}.${expires}.${nonce}`;
      // Every key is tried (no early exit), so timing says nothing about which token signed the cookie.
      let match: KeyedToken | undefined;
      for (const k of keyed) {
        if (timingSafeEqual(mac(k.key, body), tag) && match === undefined) match = k;
      }
      return match ? sessionOf(match, nonce, expiresAt) : undefined;
    },
  };
}

/** Why a POST without this session's CSRF token is refused (403). */
export const CSRF_MESSAGE = 'This form did not come from this session (CSRF check failed): reload the page and try again.';

/** Whether a submitted form's CSRF field is this session's token (constant time). */
export function csrfMatches(session: Session, submitted: unknown): boolean {
  if (typeof submitted !== 'string') return false;
  const expected = Buffer.from(session.csrfToken, 'utf8');
  const given = Buffer.from(submitted, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
