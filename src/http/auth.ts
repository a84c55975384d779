import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { HeraldClient } from '../client/herald-client.js';
import { ConfigError } from '../config/config.js';
import { TENANT_ID_PATTERN } from '../store/webhooks.js';
import { HttpError } from './errors.js';

/**
 * Bearer-token auth. `HERALD_API_TOKENS` lists the tokens: `token` acts for every tenant (admin),
 * `token:tenantId` only for that tenant, whose id comes from the token and never from a request body.
 * Only SHA-256 hashes are kept, and a presented token is compared with every configured one in constant time.
 */
export const API_TOKENS_VARIABLE = 'HERALD_API_TOKENS';
/** Tokens are secrets: long enough not to be guessed (e.g. `openssl rand -hex 32`). */
export const MIN_TOKEN_LENGTH = 16;
const TOKEN_PATTERN = /^[\x21-\x2b\x2d-\x39\x3b-\x7e]+$/; // printable ASCII without space, ',' and ':'

export interface ApiToken {
  /** SHA-256 of the token. */
  hash: Buffer;
  /** The tenant a scoped token acts for; undefined for an admin token. */
  tenantId: string | undefined;
}

/** Who is calling: an admin (every tenant) or one tenant. */
export type Caller = { kind: 'admin' } | { kind: 'tenant'; tenantId: string };

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Parses `HERALD_API_TOKENS` (comma-separated `token` or `token:tenantId`). Empty or unset means no tokens:
 * every `/v1` request is refused with 401. Errors name the variable and the entry's position, never the token.
 */
export function parseApiTokens(value: string | undefined): ApiToken[] {
  if (value === undefined || value.trim() === '') return [];
  const tokens: ApiToken[] = [];
  const seen = new Set<string>();
  value.split(',').forEach((raw, index) => {
    const entry = raw.trim();
    const where = `entry ${index + 1}`;
    if (entry === '') throw new ConfigError(API_TOKENS_VARIABLE, `${where} is empty (a stray comma?)`);
    const colon = entry.indexOf(':');
    const token = colon === -1 ? entry : entry.slice(0, colon);
    const tenantId = colon === -1 ? undefined : entry.slice(colon + 1);
    if (token.length < MIN_TOKEN_LENGTH) throw new ConfigError(API_TOKENS_VARIABLE, `${where}: a token must be at least ${MIN_TOKEN_LENGTH} characters`);
    if (!TOKEN_PATTERN.test(token)) throw new ConfigError(API_TOKENS_VARIABLE, `${where}: a token may hold only printable ASCII without spaces, commas or colons`);
    if (tenantId !== undefined && (tenantId === '' || tenantId.length > 128 || !TENANT_ID_PATTERN.test(tenantId))) {
      throw new ConfigError(API_TOKENS_VARIABLE, `${where}: the tenant id after ':' must be 1–128 letters, digits or _ . : -`);
    }
    if (seen.has(token)) throw new ConfigError(API_TOKENS_VARIABLE, `${where}: the same token is listed twice`);
    seen.add(token);
    tokens.push({ hash: sha256(token), tenantId });
  });
  return tokens;
}

/**
 * The caller a presented token stands for, or undefined. Hashing first gives equal-length buffers for
 * `timingSafeEqual`, and every configured token is compared (no early exit), so timing tells nothing about
 * which token, or which prefix, was close.
 */
export function authenticate(tokens: readonly ApiToken[], presented: string): Caller | undefined {
  const hash = sha256(presented);
  let match: ApiToken | undefined;
  for (const token of tokens) {
    if (timingSafeEqual(token.hash, hash) && match === undefined) match = token;
  }
  if (!match) return undefined;
  return match.tenantId === undefined ? { kind: 'admin' } : { kind: 'tenant', tenantId: match.tenantId };
}

/** Variables the auth middleware sets for the handlers. */
export interface AuthVariables {
  caller: Caller;
  /** The client scoped to the caller: `herald.forTenant(t)` for a tenant token, the admin client otherwise. */
  herald: HeraldClient;
}

const CHALLENGE = 'Bearer realm="herald"';

/** Requires `Authorization: Bearer <token>` and sets `caller` and the caller-scoped `herald`. */
export function bearerAuth(tokens: readonly ApiToken[], herald: HeraldClient): MiddlewareHandler<{ Variables: AuthVariables }> {
  const scoped = new Map<string, HeraldClient>();
  const clientFor = (caller: Caller): HeraldClient => {
    if (caller.kind === 'admin') return herald;
    let client = scoped.get(caller.tenantId);
    if (!client) scoped.set(caller.tenantId, (client = herald.forTenant(caller.tenantId)));
    return client;
  };
  return async (c, next) => {
    const header = c.req.header('authorization');
    if (!header) throw new HttpError(401, 'unauthorized', 'missing Authorization: Bearer <token> header', undefined, { 'WWW-Authenticate': CHALLENGE });
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!match) throw new HttpError(401, 'unauthorized', 'the Authorization header must be "Bearer <token>"', undefined, { 'WWW-Authenticate': `${CHALLENGE}, error="invalid_request"` });
    const caller = authenticate(tokens, match[1]!);
    if (!caller) throw new HttpError(401, 'unauthorized', 'the token is not valid', undefined, { 'WWW-Authenticate': `${CHALLENGE}, error="invalid_token"` });
    c.set('caller', caller);
    c.set('herald', clientFor(caller));
    await next();
  };
}

/** The idempotency-key scope of a caller: keys of one tenant never meet another's. */
export function callerScope(caller: Caller): string {
  return caller.kind === 'admin' ? 'admin' : `tenant:${caller.tenantId}`;
}

/**
 * A tenant filter (query parameter) as the caller may use it: an admin may name any tenant (or none, for
 * all); a tenant token only its own (403 otherwise), and its own is implied.
 */
export function tenantFilter(caller: Caller, requested: string | undefined): string | undefined {
  if (caller.kind === 'admin') return requested;
  if (requested !== undefined && requested !== caller.tenantId) {
    throw new HttpError(403, 'forbidden', `tenantId: this token may only act for tenant ${caller.tenantId}`, 'tenantId');
  }
  return caller.tenantId;
}
