import { createHash } from 'node:crypto';
import { UniqueViolationError, type DataEngine } from './data-engine.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { heraldDeliveries, heraldEvents, type EventRow } from './schema.js';

const EVENTS = heraldEvents.name;

export interface StoredEvent {
  tenantId: string;
  eventId: string;
  eventType: string;
  eventTimeMs: number;
  payload: unknown;
  status: 'fanning_out' | 'fanned_out';
  matchedCount: number | null;
  createdAt: number;
}

/** The row id of (tenant, event id): tenants name their events independently. */
export function eventRowId(tenantId: string, eventId: string): string {
  return `ev_${createHash('sha256').update(`${tenantId}\n${eventId}`).digest('hex').slice(0, 32)}`;
}

function toEvent(row: EventRow): StoredEvent {
  return {
    tenantId: row.tenant_id,
    eventId: row.event_id,
    eventType: row.event_type,
    eventTimeMs: row.event_time,
    payload: JSON.parse(row.payload_json),
    status: row.status,
    matchedCount: row.matched_count,
    createdAt: row.created_at,
  };
}

/**
 * Stores an event once. Publishing the same (tenant, event id) again returns the first one unchanged
 * (`created: false`): an event id names one event.
 */
export async function recordEvent(
  engine: DataEngine,
  input: { tenantId: string; eventId: string; eventType: string; eventTimeMs: number; payloadJson: string },
  now = Date.now(),
): Promise<{ event: StoredEvent; created: boolean }> {
  const row: EventRow = {
    id: eventRowId(input.tenantId, input.eventId),
    tenant_id: input.tenantId,
    event_id: input.eventId,
    event_type: input.eventType,
    event_time: input.eventTimeMs,
    payload_json: input.payloadJson,
    status: 'fanning_out',
    matched_count: null,
    created_at: now,
    updated_at: now,
  };
  try {
    await engine.insert(EVENTS, row);
    return { event: toEvent(row), created: true };
  } catch (err) {
    if (!(err instanceof UniqueViolationError)) throw err;
    const existing = await findEvent(engine, input.tenantId, input.eventId);
    if (!existing) throw err;
    return { event: existing, created: false };
  }
}

export async function findEvent(engine: DataEngine, tenantId: string, eventId: string): Promise<StoredEvent | undefined> {
  const row = await engine.findOne<EventRow>(EVENTS, { where: { id: eventRowId(tenantId, eventId) } });
  return row ? toEvent(row) : undefined;
}

export async function markEventFannedOut(engine: DataEngine, tenantId: string, eventId: string, matchedCount: number, now = Date.now()): Promise<void> {
  await engine.update(EVENTS, { status: 'fanned_out', matched_count: matchedCount, updated_at: now }, { where: { id: eventRowId(tenantId, eventId) }, multi: false });
}

/**
 * Events whose fan-out has not finished and that were stored before `storedBeforeMs`, oldest first after
 * `cursor`: what the re-fan schedule repairs (a publisher that crashed between storing and starting).
 */
export async function listUnfinishedEvents(
  engine: DataEngine,
  page: { storedBeforeMs: number; cursor: string | null; limit: number },
): Promise<{ events: StoredEvent[]; nextCursor: string | null }> {
  const and: Record<string, unknown>[] = [{ status: 'fanning_out' }, { created_at: { $lt: page.storedBeforeMs } }];
  if (page.cursor) {
    const { at, id } = decodeCursor(page.cursor);
    and.push({ $or: [{ created_at: { $gt: at } }, { created_at: at, id: { $gt: id } }] });
  }
  const rows = await engine.find<EventRow>(EVENTS, {
    where: { $and: and },
    orderBy: [
      { field: 'created_at', order: 'asc' },
      { field: 'id', order: 'asc' },
    ],
    limit: page.limit,
  });
  const last = rows[rows.length - 1];
  return { events: rows.map(toEvent), nextCursor: rows.length === page.limit && last ? encodeCursor(last.created_at, last.id) : null };
}

/**
 * Retention of events: deletes events created before `olderThanMs` that no delivery row refers to any more,
 * walking one page (oldest first) from `cursor`.
 */
export async function deleteUnreferencedEvents(
  engine: DataEngine,
  page: { olderThanMs: number; cursor: string | null; limit: number },
): Promise<{ deleted: number; nextCursor: string | null }> {
  const and: Record<string, unknown>[] = [{ created_at: { $lt: page.olderThanMs } }];
  if (page.cursor) {
    const { at, id } = decodeCursor(page.cursor);
    and.push({ $or: [{ created_at: { $gt: at } }, { created_at: at, id: { $gt: id } }] });
  }
  const rows = await engine.find<EventRow>(EVENTS, {
    where: { $and: and },
    fields: ['id', 'tenant_id', 'event_id', 'created_at'],
    orderBy: [
      { field: 'created_at', order: 'asc' },
      { field: 'id', order: 'asc' },
    ],
    limit: page.limit,
  });
  if (rows.length === 0) return { deleted: 0, nextCursor: null };
  const referenced = await engine.find(heraldDeliveries.name, {
    where: { event_id: { $in: [...new Set(rows.map((r) => r.event_id))] } },
    fields: ['tenant_id', 'event_id'],
  });
  const inUse = new Set(referenced.map((r) => `${String(r.tenant_id)}\n${String(r.event_id)}`));
  const unreferenced = rows.filter((r) => !inUse.has(`${r.tenant_id}\n${r.event_id}`)).map((r) => r.id);
  const deleted = unreferenced.length ? await engine.delete(EVENTS, { where: { id: { $in: unreferenced } }, multi: true }) : 0;
  const last = rows[rows.length - 1]!;
  return { deleted, nextCursor: rows.length === page.limit ? encodeCursor(last.created_at, last.id) : null };
}
