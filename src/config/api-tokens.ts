import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.js';
import { TENANT_ID_PATTERN } from '../client/tenant.js';

/**
 * `HERALD_API_TOKENS`: `token` acts for every tenant (admin), `token:tenantId` only for that tenant. Parsed
 * once with the rest of the configuration; only SHA-256 hashes are kept, so the tokens themselves never
 * travel further than this file.
 */
const API_TOKENS_VARIABLE = 'HERALD_API_TOKENS';
/** Tokens are secrets: long enough not to be guessed (e.g. `openssl rand -hex 32`). */
export const MIN_TOKEN_LENGTH = 16;
const TOKEN_PATTERN = /^[\x21-\x2b\x2d-\x39\x3b-\x7e]+$/; // printable ASCII without space, ',' and ':'

export interface ApiToken {
  /** SHA-256 of the token. */
  hash: Buffer;
  /** The tenant a scoped token acts for; undefined for an admin token. */
  tenantId: string | undefined;
}

export function hashApiToken(text: string): Buffer {
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
    tokens.push({ hash: hashApiToken(token), tenantId });
  });
  return tokens;
}
