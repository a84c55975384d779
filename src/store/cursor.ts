import { ValidationError } from '../errors.js';

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
