/** The plugin's event-id and payload rules (pure logic: no engine needed). */
import { describe, expect, it } from 'vitest';
import { encodeEventId, translateDataEvent } from '../../src/objectstack/data-change-events.js';

const TS = '2026-12-01T09:06:45.575Z';
const declared = new Set(['name', 'total']);

function record(type: string, payload: Record<string, unknown>) {
  return { type, object: 'order', payload: { id: 'uuid-1', type, object: 'order', timestamp: TS, ...payload }, timestamp: TS };
}

describe('translateDataEvent', () => {
  it("builds the plugin's id and payload for a record change, envelope keys last, declared fields only", () => {
    const t = translateDataEvent(
      record('data.record.created', { recordId: 'o1', after: { id: 'o1', name: 'A', total: 3, owner_id: 'u1', created_by: null }, object: 'spoofed', action: 'spoofed' }),
      { declaredFields: declared, bulk: false },
    );
    if (!('event' in t)) throw new Error(t.skip);
    expect(t.event.pluginEventId).toBe(`order:o1:create:${TS}`);
    expect(decodeURIComponent(t.event.id)).toBe(t.event.pluginEventId);
    expect(t.event.id).not.toContain('.');
    expect(t.event.type).toBe('order.create');
    expect(t.event.payload).toEqual({
      id: 'uuid-1',
      type: 'data.record.created',
      after: { id: 'o1', name: 'A', total: 3 },
      object: 'order',
      recordId: 'o1',
      action: 'create',
      timestamp: TS,
    });
    // Envelope values are written last, so they win over payload keys of the same name (the plugin's spread).
    expect(JSON.stringify(t.event.payload)).toBe(
      JSON.stringify({ ...record('data.record.created', { recordId: 'o1', after: { id: 'o1', name: 'A', total: 3 }, object: 'spoofed', action: 'spoofed' }).payload, object: 'order', recordId: 'o1', action: 'create', timestamp: TS }),
    );
  });

  it('maps updated/deleted to update/delete and keeps the organization', () => {
    const u = translateDataEvent(record('data.record.updated', { recordId: 'o1', changes: { total: 4, updated_by: 'x' }, organizationId: 'org_a' }), { declaredFields: declared, bulk: false });
    const d = translateDataEvent(record('data.record.deleted', { recordId: 'o1' }), { declaredFields: declared, bulk: false });
    if (!('event' in u) || !('event' in d)) throw new Error('skipped');
    expect(u.event).toMatchObject({ type: 'order.update', action: 'update', organizationId: 'org_a', payload: { changes: { total: 4 } } });
    expect(d.event).toMatchObject({ type: 'order.delete', pluginEventId: `order:o1:delete:${TS}`, organizationId: undefined });
  });

  it('drops a record event without a usable recordId, as the plugin does', () => {
    for (const recordId of [undefined, '', 7]) {
      expect(translateDataEvent(record('data.record.created', { recordId }), { bulk: false })).toEqual({ skip: expect.stringContaining('recordId') });
    }
  });

  it('publishes bulk events only when enabled, with the bulk id and payload', () => {
    const bulk = record('data.records.updated', { matched: 3, id: 'uuid-b' });
    expect(translateDataEvent(bulk, { bulk: false })).toEqual({ skip: expect.stringContaining('bulk events are off') });
    const t = translateDataEvent(bulk, { bulk: true });
    if (!('event' in t)) throw new Error(t.skip);
    expect(t.event).toMatchObject({ pluginEventId: 'order:data.records.updated:uuid-b', type: 'order.bulk_update', action: 'bulk_update' });
    expect(t.event.payload).toMatchObject({ matched: 3, object: 'order', action: 'bulk_update', timestamp: TS });
    expect(translateDataEvent(record('data.records.deleted', { matched: 0, id: 'u' }), { bulk: true })).toEqual({ skip: expect.stringContaining('matched no rows') });
    expect(translateDataEvent(record('data.records.deleted', { matched: 1.5, id: 'u' }), { bulk: true })).toEqual({ skip: expect.stringContaining('integer') });
  });

  it('ignores events that are not data changes', () => {
    expect(translateDataEvent({ type: 'metadata.changed', object: 'order', payload: {} }, { bulk: true })).toEqual({ skip: expect.stringContaining('not a data change') });
  });
});

describe('encodeEventId', () => {
  it("percent-encodes '%', '.', spaces and non-ASCII, reversibly", () => {
    for (const id of ['order:o1:create:2026-12-01T09:06:45.575Z', 'a%2Eb.c', 'caf\u00e9 r\u00e9cord:1', 'x']) {
      const encoded = encodeEventId(id);
      expect(encoded).toMatch(/^[\x21-\x2d\x2f-\x7e]+$/);
      expect(decodeURIComponent(encoded)).toBe(id);
    }
  });
});
