/**
 * ObjectQL data events → Herald events, with the ObjectStack webhook plugin's event ids and payloads
 * (`@objectstack/plugin-webhooks` AutoEnqueuer). Pure: no I/O, so every rule is unit-tested.
 *
 * - `data.record.created|updated|deleted` → action `create|update|delete`; the record must carry a non-empty
 *   string `recordId` (the plugin drops the event otherwise).
 *   id `<object>:<recordId>:<action>:<timestamp>`; payload `{ ...payload, object, recordId, action, timestamp }`.
 * - `data.records.updated|deleted` (bulk, opt-in) → action `bulk_update|bulk_delete`; needs an integer `matched`
 *   ≥ 1 and the event uuid `payload.id`. id `<object>:<type>:<uuid>`; payload `{ ...payload, object, matched,
 *   action, timestamp }`.
 * Envelope keys are written last (spread after the payload) so a payload field of the same name cannot
 * overwrite them — the plugin's order, so the JSON bytes are the plugin's too — and the record's `after`/`changes`
 * keep only the object's declared fields (plus `id`): platform columns (`created_by`, `owner_id`, …) stay out.
 *
 * Herald's event type is `<object>.<action>` (`order.create`, `order.bulk_update`), which is what Herald webhooks
 * subscribe to (see README "In an ObjectStack application").
 */

export type RecordAction = 'create' | 'update' | 'delete';
export type BulkAction = 'bulk_update' | 'bulk_delete';

const RECORD_ACTIONS: Readonly<Record<string, RecordAction>> = {
  'data.record.created': 'create',
  'data.record.updated': 'update',
  'data.record.deleted': 'delete',
};
const BULK_ACTIONS: Readonly<Record<string, BulkAction>> = {
  'data.records.updated': 'bulk_update',
  'data.records.deleted': 'bulk_delete',
};

/** The realtime envelope ObjectQL publishes (`IRealtimeService.publish`). */
export interface RealtimeEnvelope {
  type: string;
  object?: string;
  payload?: unknown;
  timestamp?: string;
}

export interface HeraldDataEvent {
  /** The plugin's event id, encoded for Herald (see `encodeEventId`). */
  id: string;
  /** The plugin's event id exactly. */
  pluginEventId: string;
  type: string;
  object: string;
  action: RecordAction | BulkAction;
  /** The event's organization; undefined for an organization-less record. */
  organizationId: string | undefined;
  timestamp: string;
  payload: Record<string, unknown>;
}

export type Translation = { event: HeraldDataEvent } | { skip: string };

/**
 * Herald event ids are printable ASCII without '.', which Standard Webhooks' signed content uses as its
 * separator; the plugin's ids hold an ISO timestamp (`…T09:06:45.575Z`). So '%', '.' and anything outside
 * printable ASCII are percent-encoded: `decodeURIComponent(webhook-id)` gives the plugin's id back exactly.
 */
export function encodeEventId(pluginId: string): string {
  let out = '';
  for (const ch of pluginId) {
    const code = ch.codePointAt(0)!;
    if (ch === '%' || ch === '.' || code <= 0x20 || code >= 0x7f) {
      out += [...Buffer.from(ch, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
    } else {
      out += ch;
    }
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Only the declared fields (and `id`) of a record body; undefined stays undefined. */
function declaredOnly(body: unknown, declared: ReadonlySet<string> | undefined): unknown {
  if (!isRecord(body) || declared === undefined) return body;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) if (key === 'id' || declared.has(key)) out[key] = value;
  return out;
}

/**
 * Translates one realtime envelope. `declaredFields` names the object's declared fields (undefined: unknown
 * object, bodies kept as published); `bulk` turns on bulk events.
 */
export function translateDataEvent(envelope: RealtimeEnvelope, options: { declaredFields?: ReadonlySet<string>; bulk: boolean }): Translation {
  if (RECORD_ACTIONS[envelope.type] === undefined && BULK_ACTIONS[envelope.type] === undefined) return { skip: `${envelope.type}: not a data change` };
  const payload = isRecord(envelope.payload) ? envelope.payload : undefined;
  const object = typeof envelope.object === 'string' && envelope.object !== '' ? envelope.object : payload?.['object'];
  if (typeof object !== 'string' || object === '') return { skip: `${envelope.type}: no object` };
  if (payload === undefined) return { skip: `${envelope.type} on ${object}: no payload` };
  const timestamp = typeof payload['timestamp'] === 'string' ? payload['timestamp'] : envelope.timestamp;
  if (typeof timestamp !== 'string' || timestamp === '') return { skip: `${envelope.type} on ${object}: no timestamp` };
  const organizationId = typeof payload['organizationId'] === 'string' && payload['organizationId'] !== '' ? payload['organizationId'] : undefined;

  const action = RECORD_ACTIONS[envelope.type];
  if (action !== undefined) {
    const recordId = payload['recordId'];
    if (typeof recordId !== 'string' || recordId === '') return { skip: `${envelope.type} on ${object}: recordId must be a non-empty string` };
    const body: Record<string, unknown> = { ...payload };
    for (const key of ['after', 'changes'] as const) if (key in body) body[key] = declaredOnly(body[key], options.declaredFields);
    const pluginEventId = `${object}:${recordId}:${action}:${timestamp}`;
    return {
      event: {
        id: encodeEventId(pluginEventId),
        pluginEventId,
        type: `${object}.${action}`,
        object,
        action,
        organizationId,
        timestamp,
        payload: { ...body, object, recordId, action, timestamp },
      },
    };
  }

  const bulk = BULK_ACTIONS[envelope.type];
  if (bulk !== undefined) {
    if (!options.bulk) return { skip: `${envelope.type} on ${object}: bulk events are off` };
    const matched = payload['matched'];
    const uuid = payload['id'];
    if (typeof matched !== 'number' || !Number.isInteger(matched) || matched < 0) return { skip: `${envelope.type} on ${object}: matched must be an integer >= 0` };
    if (matched === 0) return { skip: `${envelope.type} on ${object}: matched no rows` };
    if (typeof uuid !== 'string' || uuid === '') return { skip: `${envelope.type} on ${object}: no event id` };
    const pluginEventId = `${object}:${envelope.type}:${uuid}`;
    return {
      event: {
        id: encodeEventId(pluginEventId),
        pluginEventId,
        type: `${object}.${bulk}`,
        object,
        action: bulk,
        organizationId,
        timestamp,
        payload: { ...payload, object, matched, action: bulk, timestamp },
      },
    };
  }
  return { skip: `${envelope.type}: not a data change` };
}
