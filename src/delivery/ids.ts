import { createHash } from 'node:crypto';

/** Longest workflow id Herald builds verbatim; longer pairs are hashed (Temporal's default limit is 1000). */
const MAX_READABLE_WORKFLOW_ID = 255;

/**
 * The delivery's workflow id: the dedup key of (webhook, event). Readable in the Web UI when short enough,
 * hashed otherwise so it stays bounded.
 */
export function deliveryWorkflowId(webhookId: string, eventId: string): string {
  const readable = `delivery:${webhookId}:${eventId}`;
  return readable.length <= MAX_READABLE_WORKFLOW_ID ? readable : `delivery:${webhookId}:sha256-${digest(eventId)}`;
}

/** The delivery's id: stable for the pair, so every attempt and redelivery carries the same one. */
export function deliveryId(webhookId: string, eventId: string): string {
  return `dlv_${digest(`${webhookId}\n${eventId}`).slice(0, 32)}`;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The fan-out workflow's id: one fan-out per (tenant, event id). */
export function fanOutWorkflowId(tenantId: string, eventId: string): string {
  return `fanout:${tenantId}:${eventId}`;
}
