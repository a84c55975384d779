import { z } from 'zod';
import { getWebhook, listWebhooks, createWebhook, deleteWebhook, disableWebhook, enableWebhook, parseOrThrow, rotateWebhookSecret, updateWebhook } from '../store/webhooks.js';
import type { CreateWebhookInput, UpdateWebhookInput, Webhook } from '../store/webhooks.js';
import { ValidationError } from '../errors.js';
import { registryDeps, type ClientContext } from './context.js';

/** A bad or misspelt filter is refused (naming the field), never ignored; `limit` and `cursor` are checked by the store. */
const ListWebhooksInput = z.strictObject({
  tenantId: z.string().optional(),
  active: z.boolean().optional(),
  limit: z.unknown().optional(),
  cursor: z.string().optional(),
});

/** The webhook registry, scoped to the caller's tenant. Secrets come back only from create and rotate. */
export function webhooksApi(ctx: ClientContext) {
  return {
    create: (input: CreateWebhookInput): Promise<{ webhook: Webhook; secret: string }> => createWebhook(registryDeps(ctx), input, ctx.scope),
    get: (id: string): Promise<Webhook> => getWebhook(ctx.store, id, ctx.scope),
    list: async (filter: { tenantId?: string; active?: boolean; limit?: number; cursor?: string } = {}) => {
      parseOrThrow(ListWebhooksInput, filter);
      return await listWebhooks(ctx.store, { ...filter, tenantId: ctx.scope ?? filter.tenantId });
    },
    update: (id: string, patch: UpdateWebhookInput): Promise<Webhook> => updateWebhook(registryDeps(ctx), id, patch, ctx.scope),
    delete: (id: string): Promise<void> => deleteWebhook(ctx.store, id, ctx.clock(), ctx.scope),
    rotateSecret: (id: string, options: { graceSeconds?: number; secret?: string } = {}) => rotateWebhookSecret(registryDeps(ctx), id, options, ctx.scope),
    /** New deliveries resume; `skipped` ones are sent by `recover`. */
    async enable(id: string): Promise<Webhook> {
      await getWebhook(ctx.store, id, ctx.scope);
      await enableWebhook(ctx.store, id, ctx.clock(), ctx.scope);
      return getWebhook(ctx.store, id, ctx.scope);
    },
    /** Matching events are still recorded, as `skipped` deliveries. */
    async disable(id: string, reason = 'disabled by an operator'): Promise<Webhook> {
      if (typeof reason !== 'string' || reason.length > 500) throw new ValidationError('reason', 'must be a string of at most 500 characters');
      await getWebhook(ctx.store, id, ctx.scope);
      await disableWebhook(ctx.store, id, reason, ctx.clock(), ctx.scope);
      return getWebhook(ctx.store, id, ctx.scope);
    },
  };
}
