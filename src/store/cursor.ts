import { ValidationError } from '../errors.js';
import type { DataEngine } from './data-engine.js';

/**
 * Opaque page cursors for newest-first lists: the (time, id) of the last row returned, so rows with equal
 * times page stably.
 */
export function encodeCursor(at: number, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

export function decodeCursor(cursor: string): { at: number; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof at !== 'number' || typeof id !== 'string') throw new Error('shape');
    return { at, id };
  } catch {
    throw new ValidationError('cursor', 'is not a cursor this API returned');
  }
}

/**
 * One newest-first page of `object` (by created_at, then id) matching every filter in `and`, with the cursor
 * of the next page. Limits are checked here so every list refuses them the same way.
 */
export async function newestFirstPage<Row extends Record<string, unknown>, Item extends { createdAt: number; id: string }>(
  engine: DataEngine,
  object: string,
  page: { and: Record<string, unknown>[]; limit?: number; cursor?: string; maxLimit: number },
  toItem: (row: Row) => Item,
): Promise<{ items: Item[]; nextCursor: string | null }> {
  const limit = page.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > page.maxLimit) throw new ValidationError('limit', `must be an integer from 1 to ${page.maxLimit}`);
  const and = [...page.and];
  if (page.cursor) {
    const { at, id } = decodeCursor(page.cursor);
    and.push({ $or: [{ created_at: { $lt: at } }, { created_at: at, id: { $lt: id } }] });
  }
  const rows = await engine.find<Row>(object, {
    where: and.length ? { $and: and } : {},
    orderBy: [
      { field: 'created_at', order: 'desc' },
      { field: 'id', order: 'desc' },
    ],
    limit: limit + 1,
  });
  const items = rows.slice(0, limit).map(toItem);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null };
}
