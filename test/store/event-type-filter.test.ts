import { describe, expect, it } from 'vitest';
import { EVENT_TYPE_FILTER_PATTERN, matchesEventType } from '../../src/store/event-type-filter.js';

// Pure logic: which event types a webhook's filter list subscribes to.

describe('matchesEventType', () => {
  it('an exact name matches only itself', () => {
    expect(matchesEventType(['order.created'], 'order.created')).toBe(true);
    expect(matchesEventType(['order.created'], 'order.updated')).toBe(false);
    expect(matchesEventType(['order.created'], 'order.created.v2')).toBe(false);
    expect(matchesEventType(['order.created'], 'order')).toBe(false);
    expect(matchesEventType(['order'], 'order.created')).toBe(false);
    // Case-sensitive: event types are names, not words.
    expect(matchesEventType(['order.created'], 'Order.created')).toBe(false);
  });

  it('prefix.* matches every type under the prefix at any depth, not the prefix itself nor a longer word', () => {
    expect(matchesEventType(['order.*'], 'order.created')).toBe(true);
    expect(matchesEventType(['order.*'], 'order.item.added')).toBe(true);
    expect(matchesEventType(['order.*'], 'order')).toBe(false);
    expect(matchesEventType(['order.*'], 'orders.created')).toBe(false);
    expect(matchesEventType(['order.*'], 'order_x.created')).toBe(false);
    expect(matchesEventType(['order.*'], 'invoice.order.created')).toBe(false);
    expect(matchesEventType(['order.item.*'], 'order.item.added')).toBe(true);
    expect(matchesEventType(['order.item.*'], 'order.created')).toBe(false);
    expect(matchesEventType(['order.item.*'], 'order.items.added')).toBe(false);
  });

  it('* matches every type', () => {
    for (const type of ['order.created', 'order', 'a.b.c.d', 'x_y-z']) expect(matchesEventType(['*'], type)).toBe(true);
  });

  it('a list matches when any filter does; an empty list or non-matching filters match nothing', () => {
    expect(matchesEventType(['invoice.paid', 'order.*'], 'order.created')).toBe(true);
    expect(matchesEventType(['invoice.paid', 'order.*'], 'invoice.paid')).toBe(true);
    expect(matchesEventType(['invoice.paid', 'order.*'], 'invoice.voided')).toBe(false);
    expect(matchesEventType(['invoice.*', 'customer.created'], 'order.created')).toBe(false);
    expect(matchesEventType([], 'order.created')).toBe(false);
  });

  it('the filter syntax the registry accepts: names, prefix.*, or * alone', () => {
    for (const ok of ['*', 'order', 'order.created', 'order.*', 'order.item.*', 'a_b-c.D1']) expect(EVENT_TYPE_FILTER_PATTERN.test(ok)).toBe(true);
    for (const bad of ['', '.', 'order.', '.order', 'order..created', 'order*', '*.created', 'order.*.created', 'order.**', '**', 'order created', 'order/created']) {
      expect(EVENT_TYPE_FILTER_PATTERN.test(bad), bad).toBe(false);
    }
  });
});
