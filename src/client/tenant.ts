import { z } from 'zod';
import { ForbiddenError } from '../errors.js';

/**
 * Tenants at the client's boundary: what a tenant id may look like, and which tenant a call acts for. A scoped
 * caller (a tenant token, `herald.forTenant(t)`) is bound to its tenant; an admin names one or gets 'default'.
 */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9_.:-]+$/;

export const TenantId = z.string().min(1).max(128).regex(TENANT_ID_PATTERN, 'may hold only letters, digits and _ . : -');

/** Resolves the tenant a write goes to: a scoped caller's own, or (admin) the one asked for, or 'default'. */
export function resolveTenant(scope: string | undefined, requested: string | undefined, field = 'tenantId'): string {
  if (scope !== undefined) {
    if (requested !== undefined && requested !== scope) throw new ForbiddenError(`${field}: this caller may only act for tenant ${scope}`, field);
    return scope;
  }
  return requested ?? 'default';
}
