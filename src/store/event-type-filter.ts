/**
 * Which event types a webhook subscribes to: exact names (`order.created`), prefix wildcards (`order.*`,
 * matching `order.created` and `order.item.added` but not `order` or `orders.created`), or `*` for all.
 */
export const EVENT_TYPE_PATTERN = /^[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*$/;
export const EVENT_TYPE_FILTER_PATTERN = /^(\*|[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*(\.\*)?)$/;
export const MAX_EVENT_TYPE_LENGTH = 128;

export function matchesEventType(filters: readonly string[], eventType: string): boolean {
  for (const filter of filters) {
    if (filter === '*' || filter === eventType) return true;
    if (filter.endsWith('.*') && eventType.startsWith(filter.slice(0, -1))) return true;
  }
  return false;
}
