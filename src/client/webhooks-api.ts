import { z } from 'zod';
import { wakeWaitingDeliveries } from '../delivery/wake-waiting-deliveries.js';
import { ValidationError } from '../errors.js';
import { createWebhook, deleteWebhook, disableWebhook, enableWebhook, getWebhook, listWebhooks, rotateWebhookSecret, updateWebhook, type Webhook } from '../store/webhooks.js';
import { registryDeps, type ClientContext } from './context.js';
import { createEndpointGate, type EndpointHealth } from '../endpoints/endpoint-gate.js';
import { parseOrThrow } from './validation.js';
import { checkSecret, newSecret, parseNewWebhook, parseRotation, parseWebhookPatch, type CreateWebhookInput, type RotateSecretOptions, type UpdateWebhookInput } from './webhook-validation.js';

/** A bad or misspelt filter is refused (naming the field), never ignored; `limit` and `cursor` are checked by the store. */
const ListWebhooksInput = z.strictObject({
  tenantId: z.string().optional(),
  active: z.boolean().optional(),
  limit: z.unknown().optional(),
  cursor: z.string().optional(),
});

/**
 * The webhook registry, scoped to the caller's tenant: input is validated here (webhook-validation.ts), then
 * stored by src/store/webhooks.ts. Secrets come back only from create and rotate.
 */
export function webhooksApi(ctx: ClientContext) {
  const gate = () => createEndpointGate({ engine: ctx.store, clock: ctx.clock });
  return {
    async create(input: CreateWebhookInput): Promise<{ webhook: Webhook; secret: string }> {
      const deps = registryDeps(ctx);
      const webhook = parseNewWebhook(input, { scope: ctx.scope, httpsOnly: deps.httpsOnly });
      return { webhook: await createWebhook(deps, webhook), secret: webhook.secret };
    },
    get: (id: string): Promise<Webhook> => getWebhook(ctx.store, id, ctx.scope),
    /** The endpoint's health as the send activities left it: breaker, failures, adaptive limit. */
    async health(id: string): Promise<EndpointHealth> {
      const webhook = await getWebhook(ctx.store, id, ctx.scope);
      return await gate().health(webhook.id, webhook.active);
    },
    list: async (filter: { tenantId?: string; active?: boolean; limit?: number; cursor?: string } = {}) => {
      parseOrThrow(ListWebhooksInput, filter);
      return await listWebhooks(ctx.store, { ...filter, tenantId: ctx.scope ?? filter.tenantId });
    },
    async update(id: string, patch: UpdateWebhookInput): Promise<Webhook> {
      const deps = registryDeps(ctx);
      return await updateWebhook(deps, id, parseWebhookPatch(patch, deps), ctx.scope);
    },
    async delete(id: string): Promise<void> {
      await deleteWebhook(ctx.store, id, ctx.clock(), ctx.scope);
      await gate().forget(id);
    },
    /** The new secret must suit the webhook's signature scheme, so the webhook is read first. */
    async rotateSecret(id: string, options: RotateSecretOptions = {}): Promise<{ webhook: Webhook; secret: string }> {
      const { graceSeconds, secret: requested } = parseRotation(options);
      const { signatureScheme } = await getWebhook(ctx.store, id, ctx.scope);
      const secret = requested ?? newSecret(signatureScheme);
      checkSecret(signatureScheme, secret);
      return { webhook: await rotateWebhookSecret(registryDeps(ctx), id, { secret, graceSeconds }, ctx.scope), secret };
    },
    /** New deliveries resume; `skipped` ones are sent by `recover`. */
    async enable(id: string): Promise<Webhook> {
      await getWebhook(ctx.store, id, ctx.scope);
      await enableWebhook(ctx.store, id, ctx.clock(), ctx.scope);
      // Fixed by its operator: healthy again, its breaker closed and its failure count cleared.
      await gate().reset(id);
      return getWebhook(ctx.store, id, ctx.scope);
    },
    /** Matching events are still recorded, as `skipped` deliveries. */
    async disable(id: string, reason = 'disabled by an operator'): Promise<Webhook> {
      if (typeof reason !== 'string' || reason.length > 500) throw new ValidationError('reason', 'must be a string of at most 500 characters');
      await getWebhook(ctx.store, id, ctx.scope);
      await disableWebhook(ctx.store, id, reason, ctx.clock(), ctx.scope);
      const disabled = await getWebhook(ctx.store, id, ctx.scope);
      // Deliveries waiting behind its breaker end `skipped` when they next look: wake them now, not in hours.
      wakeWaitingDeliveries({ store: ctx.store, temporal: ctx.temporal }, disabled, { status: 'pending' }, 'webhook disabled by an operator');
      return disabled;
    },
  };
}
