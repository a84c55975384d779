import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { parseApiTokens } from '../../src/config/api-tokens.js';
import { authenticate, tenantFilter } from '../../src/http/auth.js';

// Pure logic: parsing HERALD_API_TOKENS and matching a presented token. The middleware itself is tested
// through the real app (api.dev-server.test.ts).
describe('parseApiTokens', () => {
  it('reads admin and tenant-scoped tokens, keeping only hashes', () => {
    const tokens = parseApiTokens(' admin-token-0123456789 , acme-token-0123456789:acme,globex-token-012345678:globex.eu-1 ');
    expect(tokens.map((t) => t.tenantId)).toEqual([undefined, 'acme', 'globex.eu-1']);
    for (const t of tokens) {
      expect(t.hash).toHaveLength(32);
      expect(JSON.stringify(t)).not.toContain('token-0123456789');
    }
  });

  it('is empty when unset or blank (every /v1 request is then a 401)', () => {
    expect(parseApiTokens(undefined)).toEqual([]);
    expect(parseApiTokens('  ')).toEqual([]);
  });

  it.each([
    ['short', /at least 16 characters/],
    ['admin-token-0123456789,,other-token-0123456789', /entry 2 is empty/],
    ['admin-token-0123456789:', /tenant id after ':'/],
    ['admin-token-0123456789:acme corp', /tenant id after ':'/],
    ['admin token 0123456789', /printable ASCII/],
    ['same-token-0123456789,same-token-0123456789:acme', /listed twice/],
  ])('rejects %j with an error naming HERALD_API_TOKENS and never the token', (value, reason) => {
    let error: unknown;
    try {
      parseApiTokens(value);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('HERALD_API_TOKENS');
    expect((error as Error).message).toMatch(reason);
    expect((error as Error).message).not.toContain('0123456789');
  });
});

describe('authenticate', () => {
  const tokens = parseApiTokens('admin-token-0123456789,acme-token-0123456789:acme');

  it('maps a token to its caller', () => {
    expect(authenticate(tokens, 'admin-token-0123456789')).toEqual({ kind: 'admin' });
    expect(authenticate(tokens, 'acme-token-0123456789')).toEqual({ kind: 'tenant', tenantId: 'acme' });
  });

  it('refuses near misses: a prefix, a longer token, another case, nothing', () => {
    for (const presented of ['admin-token-012345678', 'admin-token-01234567890', 'ADMIN-token-0123456789', '', 'acme-token-0123456789:acme']) {
      expect(authenticate(tokens, presented)).toBeUndefined();
    }
    expect(authenticate([], 'admin-token-0123456789')).toBeUndefined();
  });
});

describe('tenantFilter', () => {
  it('lets an admin name any tenant or none, and a tenant only itself', () => {
    expect(tenantFilter({ kind: 'admin' }, undefined)).toBeUndefined();
    expect(tenantFilter({ kind: 'admin' }, 'acme')).toBe('acme');
    expect(tenantFilter({ kind: 'tenant', tenantId: 'acme' }, undefined)).toBe('acme');
    expect(tenantFilter({ kind: 'tenant', tenantId: 'acme' }, 'acme')).toBe('acme');
    expect(() => tenantFilter({ kind: 'tenant', tenantId: 'acme' }, 'globex')).toThrow(/tenant acme/);
  });
});
