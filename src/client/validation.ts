import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { PayloadTooLargeError, ValidationError } from '../errors.js';
import { EVENT_TYPE_PATTERN, isOperationalEventType, MAX_EVENT_TYPE_LENGTH, OPERATIONAL_EVENT_TYPE_PREFIX } from '../store/event-type-filter.js';

// Printable ASCII without spaces (ids go into headers and workflow ids) and without '.', which Standard
// Webhooks forbids in the signed id.
const ID_PATTERN = /^[\x21-\x2d\x2f-\x7e]+$/;

export const EventId = z.string().min(1, 'must not be empty').max(128, 'must be at most 128 characters').regex(ID_PATTERN, 'must be printable ASCII without spaces or "."');
/**
 * The type of an event a tenant publishes (or delivers directly). The `herald.` prefix is reserved for
 * Herald's own operational events, so a subscriber to `herald.*` can trust that Herald sent them.
 */
export const EventType = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_EVENT_TYPE_LENGTH, `must be at most ${MAX_EVENT_TYPE_LENGTH} characters`)
  .regex(EVENT_TYPE_PATTERN, 'must be dot-separated names of [a-zA-Z0-9_-]')
  .refine((type) => !isOperationalEventType(type), `must not start with "${OPERATIONAL_EVENT_TYPE_PREFIX}": that prefix is reserved for Herald's operational events`);
export const EventTime = z.union([z.date(), z.number().int().nonnegative()]);

/** Throws a ValidationError naming the first bad field (`prefix` + its path) and why. */
export function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown, prefix = ''): z.output<T> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const path = [...issue.path, ...keys.slice(0, 1)];
    const field = prefix + (path.length ? path.join('.') : '(input)');
    const reason = issue.code === 'unrecognized_keys' ? 'is not a known field' : issue.message;
    throw new ValidationError(field, reason);
  }
  return parsed.data;
}

export function newEventId(): string {
  return `evt_${randomBytes(16).toString('base64url')}`;
}

export function toEpochMs(time: Date | number | undefined, fallback: number): number {
  return time === undefined ? fallback : typeof time === 'number' ? time : time.getTime();
}

/** The payload as the JSON text that will be stored and signed; throws naming `payload` when it cannot be. */
export function payloadJson(value: unknown, maxBytes: number, field = 'payload'): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value ?? null);
  } catch (err) {
    throw new ValidationError(field, `is not JSON-serialisable (${(err as Error).message})`);
  }
  if (text === undefined) throw new ValidationError(field, 'is not JSON-serialisable');
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) throw new PayloadTooLargeError(field, `is ${bytes} bytes of JSON; the limit is ${maxBytes}`);
  return text;
}
