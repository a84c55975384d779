/**
 * Which event types a webhook subscribes to: exact names (`order.created`), prefix wildcards (`order.*`,
 * matching `order.created` and `order.item.added` but not `order` or `orders.created`), or `*` for all
 * tenant events. Herald's own operational events (`herald.*`) are outside `*`: a webhook receives them only
 * when one of its filters names them (`herald.*`, `herald.webhook.*` or an exact type), so a catch-all
 * subscriber set up before they existed sees no new traffic.
 */
export const EVENT_TYPE_PATTERN = /^[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*$/;
export const EVENT_TYPE_FILTER_PATTERN = /^(\*|[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*(\.\*)?)$/;
export const MAX_EVENT_TYPE_LENGTH = 128;

/** The namespace of Herald's operational events (src/delivery/operational-events.ts), reserved: tenants cannot publish in it. */
export const OPERATIONAL_EVENT_TYPE_PREFIX = 'herald.';

export function isOperationalEventType(eventType: string): boolean {
  return eventType.startsWith(OPERATIONAL_EVENT_TYPE_PREFIX);
}

/**
 * The matching rule, in one place: the filters that match `eventType` are the type itself, each of its prefix
 * wildcards (`a.*`, `a.b.*` for `a.b.c`) and `*` unless the type is operational. The subscription index looks
 * these patterns up (src/store/subscriptions.ts); `matchesEventType` checks a filter list against them.
 */
export function patternsMatching(eventType: string): string[] {
  const patterns = isOperationalEventType(eventType) ? [eventType] : ['*', eventType];
  const parts = eventType.split('.');
  for (let i = 1; i < parts.length; i++) patterns.push(`${parts.slice(0, i).join('.')}.*`);
  return patterns;
}

export function matchesEventType(filters: readonly string[], eventType: string): boolean {
  const matching = new Set(patternsMatching(eventType));
  return filters.some((filter) => matching.has(filter));
}
