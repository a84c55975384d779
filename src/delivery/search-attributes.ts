import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Herald's search attributes: what the Temporal Web UI and `temporal workflow list` filter deliveries by.
 * They are registered on the embedded dev server at start, and on an external cluster by `registerSearchAttributes`.
 */
export const HERALD_WEBHOOK_ID = defineSearchAttributeKey('HeraldWebhookId', SearchAttributeType.KEYWORD);
export const HERALD_EVENT_ID = defineSearchAttributeKey('HeraldEventId', SearchAttributeType.KEYWORD);
export const HERALD_EVENT_TYPE = defineSearchAttributeKey('HeraldEventType', SearchAttributeType.KEYWORD);
export const HERALD_TENANT_ID = defineSearchAttributeKey('HeraldTenantId', SearchAttributeType.KEYWORD);
export const HERALD_DELIVERY_STATUS = defineSearchAttributeKey('HeraldDeliveryStatus', SearchAttributeType.KEYWORD);

export const HERALD_SEARCH_ATTRIBUTES = [HERALD_WEBHOOK_ID, HERALD_EVENT_ID, HERALD_EVENT_TYPE, HERALD_TENANT_ID, HERALD_DELIVERY_STATUS] as const;
