import { createRoute } from '@hono/zod-openapi';
import { tenantPolicyJson } from '../present.js';
import { PutTenantPolicyBody, TenantParam, TenantPolicy } from '../schemas.js';
import { BEARER, errors, json, requiredJsonBody, type App } from './common.js';

const tags = ['tenants'];

const getPolicyRoute = createRoute({
  security: BEARER,
  tags,
  method: 'get',
  path: '/v1/tenants/{id}/policy',
  summary: "Get a tenant's endpoint policy",
  description:
    "The defaults the tenant's webhooks inherit for the policy fields they do not set (retry schedule, timeout, rate limit, concurrency, breaker threshold, disable-after). An admin token reads any tenant's; a tenant token only its own (403 otherwise).",
  request: { params: TenantParam },
  responses: { 200: json(TenantPolicy, "The tenant's policy (empty `settings` until one is set)."), ...errors(403) },
});

const putPolicyRoute = createRoute({
  security: BEARER,
  tags,
  method: 'put',
  path: '/v1/tenants/{id}/policy',
  summary: "Replace a tenant's endpoint policy",
  description:
    "Every field is checked by the same rules as a webhook's. Webhooks that do not set a field inherit it: webhook → tenant policy → Herald's default. The process that serves the PUT applies it at once; other processes within 5 s (they cache policies that long). An admin token writes any tenant's; a tenant token only its own (403 otherwise).",
  request: { params: TenantParam, body: requiredJsonBody(PutTenantPolicyBody) },
  responses: { 200: json(TenantPolicy, 'The policy as stored.'), ...errors(403, 413, 415) },
});

export function registerTenantRoutes(app: App): void {
  app.openapi(getPolicyRoute, async (c) => {
    const policy = await c.get('herald').tenants.getPolicy(c.req.valid('param').id);
    return c.json(tenantPolicyJson(policy), 200);
  });

  app.openapi(putPolicyRoute, async (c) => {
    const policy = await c.get('herald').tenants.putPolicy(c.req.valid('param').id, c.req.valid('json'));
    return c.json(tenantPolicyJson(policy), 200);
  });
}
