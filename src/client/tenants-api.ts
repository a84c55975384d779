import { getTenantPolicy, putTenantPolicy, type TenantPolicy } from '../store/tenant-policies.js';
import type { ClientContext } from './context.js';
import { resolveTenant, TenantId } from './tenant.js';
import { parseOrThrow } from './validation.js';
import { parseTenantPolicy, type TenantPolicyInput } from './webhook-validation.js';

/**
 * Tenant policies: the endpoint policy a tenant's webhooks inherit where they set nothing themselves. A scoped
 * client reads and writes only its own tenant's (another is a ForbiddenError); an admin any tenant's.
 */
export function tenantsApi(ctx: ClientContext) {
  const tenantOf = (tenantId: string | undefined): string => {
    if (tenantId !== undefined) parseOrThrow(TenantId, tenantId, 'tenantId');
    return resolveTenant(ctx.scope, tenantId);
  };
  return {
    /** The tenant's policy (empty settings until one is set), with the values its webhooks inherit. */
    getPolicy: (tenantId?: string): Promise<TenantPolicy> => getTenantPolicy(ctx.store, tenantOf(tenantId)),
    /**
     * Replaces the tenant's policy: fields left out fall back to Herald's defaults. Checked with the webhook's
     * rules; this process sees it at once, others within TENANT_POLICY_CACHE_TTL_MS.
     */
    async putPolicy(tenantId: string | undefined, input: TenantPolicyInput): Promise<TenantPolicy> {
      const tenant = tenantOf(tenantId);
      return await putTenantPolicy(ctx.store, tenant, parseTenantPolicy(input), ctx.clock());
    },
  };
}
