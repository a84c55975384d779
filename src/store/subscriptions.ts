import type { DataEngine } from './data-engine.js';
import { patternsMatching } from './event-type-filter.js';
import { heraldWebhooks, heraldWebhookSubscriptions, type WebhookRow, type WebhookSubscriptionRow } from './schema.js';

/**
 * The subscription index (`herald_webhook_subscriptions`): one row per (webhook, event-type filter), kept in
 * step with the webhook registry, so publish finds an event's subscribers with one indexed query for the
 * patterns that match its type (`patternsMatching`: the type, its prefix wildcards, and `*` except for
 * Herald's operational `herald.*` events).
 */
const SUBSCRIPTIONS = heraldWebhookSubscriptions.name;

/** Writes a webhook's filters into the index, replacing what it held for that webhook. */
export async function indexSubscriptions(engine: DataEngine, webhook: { id: string; tenantId: string; eventTypes: readonly string[]; createdAt: number }): Promise<void> {
  await engine.delete(SUBSCRIPTIONS, { where: { webhook_id: webhook.id }, multi: true });
  for (const pattern of new Set(webhook.eventTypes)) {
    const row: WebhookSubscriptionRow = { id: `${webhook.id} ${pattern}`, tenant_id: webhook.tenantId, webhook_id: webhook.id, pattern, webhook_created_at: webhook.createdAt };
    await engine.insert(SUBSCRIPTIONS, row);
  }
}

export async function removeSubscriptions(engine: DataEngine, webhookId: string): Promise<void> {
  await engine.delete(SUBSCRIPTIONS, { where: { webhook_id: webhookId }, multi: true });
}

/**
 * Ids of the tenant's webhooks subscribed to `eventType` that existed at `createdAtOrBefore`, in id order after
 * `afterWebhookId`, at most `limit` distinct ones (deleted webhooks have no index rows).
 */
export async function findSubscribedWebhookIds(
  engine: DataEngine,
  query: { tenantId: string; eventType: string; createdAtOrBefore: number; afterWebhookId?: string | null; limit: number },
): Promise<string[]> {
  const patterns = patternsMatching(query.eventType);
  const rows = await engine.find<WebhookSubscriptionRow>(SUBSCRIPTIONS, {
    where: {
      tenant_id: query.tenantId,
      pattern: { $in: patterns },
      webhook_created_at: { $lte: query.createdAtOrBefore },
      ...(query.afterWebhookId ? { webhook_id: { $gt: query.afterWebhookId } } : {}),
    },
    fields: ['webhook_id'],
    orderBy: [{ field: 'webhook_id', order: 'asc' }],
    // A webhook has at most one row per matching pattern, so this many rows always hold `limit` distinct
    // webhooks when there are that many, and all of them when there are fewer.
    limit: query.limit * patterns.length,
  });
  return [...new Set(rows.map((r) => r.webhook_id))].slice(0, query.limit);
}

/**
 * Fills the index from the registry when it is empty but webhooks exist: a database from before the index.
 * Runs at start; after it, the registry keeps the index current.
 */
export async function backfillSubscriptions(engine: DataEngine, pageSize = 500): Promise<number> {
  if ((await engine.count(SUBSCRIPTIONS, {})) > 0) return 0;
  let indexed = 0;
  let afterId: string | null = null;
  for (;;) {
    const page: WebhookRow[] = await engine.find<WebhookRow>(heraldWebhooks.name, {
      where: { deleted_at: null, ...(afterId !== null ? { id: { $gt: afterId } } : {}) },
      orderBy: [{ field: 'id', order: 'asc' }],
      limit: pageSize,
    });
    for (const row of page) {
      await indexSubscriptions(engine, { id: row.id, tenantId: row.tenant_id, eventTypes: JSON.parse(row.event_types_json) as string[], createdAt: row.created_at });
      indexed += 1;
    }
    if (page.length < pageSize) return indexed;
    afterId = page[page.length - 1]!.id;
  }
}
