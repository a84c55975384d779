import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { HeraldClient } from '../client/herald-client.js';
import { hashApiToken, type ApiToken } from '../config/api-tokens.js';
import { HttpError } from './errors.js';

/**
 * Bearer-token auth over the tokens parsed from `HERALD_API_TOKENS` (src/config/api-tokens.ts): an admin token
 * acts for every tenant, a scoped one only for its tenant, whose id comes from the token and never from a
 * request body. A presented token is compared with every configured one in constant time.
 */

/** Who is calling: an admin (every tenant) or one tenant. */
export type Caller = { kind: 'admin' } | { kind: 'tenant'; tenantId: string };

/**
 * The caller a presented token stands for, or undefined. Hashing first gives equal-length buffers for
 * `timingSafeEqual`, and every configured token is compared (no early exit), so timing tells nothing about
 * which token, or which prefix, was close.
 */
export function authenticate(tokens: readonly ApiToken[], presented: string): Caller | undefined {
  const hash = hashApiToken(presented);
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

/** The caller-scoped client for each caller (one per tenant, made once): the API's and the operator page's. */
export function scopedClients(herald: HeraldClient): (caller: Caller) => HeraldClient {
  const scoped = new Map<string, HeraldClient>();
  return (caller) => {
    if (caller.kind === 'admin') return herald;
    let client = scoped.get(caller.tenantId);
    if (!client) scoped.set(caller.tenantId, (client = herald.forTenant(caller.tenantId)));
    return client;
  };
}

/** Requires `Authorization: Bearer <token>` and sets `caller` and the caller-scoped `herald`. */
export function bearerAuth(tokens: readonly ApiToken[], herald: HeraldClient): MiddlewareHandler<{ Variables: AuthVariables }> {
  const clientFor = scopedClients(herald);
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
