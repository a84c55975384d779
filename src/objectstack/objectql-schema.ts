/**
 * How Herald's object definitions (src/store/schema.ts) become ObjectStack objects on an application's ObjectQL
 * engine: names, field types, indexes and, for the delivery table, the list views of ObjectStack's webhook
 * outbox. Pure data; `objectql-engine.ts` registers the result and converts values on the way in and out.
 */
import { heraldDeliveries, heraldDeliveryAttempts, type ColumnDefinition, type ObjectDefinition } from '../store/schema.js';

/**
 * Herald object → ObjectStack object name. The delivery table takes the name of the plugin's
 * `sys_webhook_delivery`, whose field names Herald's delivery columns already use (plus Herald's `workflow_id`,
 * `run_id`, `tenant_id`, `event_time`, `duration_ms`); the attempt log sits beside it. Every other Herald object
 * keeps its own name.
 */
export const DEFAULT_OBJECT_NAMES: Readonly<Record<string, string>> = {
  [heraldDeliveries.name]: 'sys_webhook_delivery',
  [heraldDeliveryAttempts.name]: 'sys_webhook_delivery_attempt',
};

/**
 * Columns the ObjectStack platform provisions itself (as `datetime`) on every object; caller-written values are
 * dropped unless the write is a system write, so the engine makes every write one.
 */
export const PLATFORM_DATETIME_COLUMNS: ReadonlySet<string> = new Set(['created_at', 'updated_at']);

/** The package id Herald's objects are registered under (ObjectStack groups objects by owning package). */
export const HERALD_PACKAGE_ID = 'herald';

interface ObjectStackField {
  type: string;
  label: string;
  required?: boolean;
  defaultValue?: unknown;
  description?: string;
}

/** The ObjectStack object schema `registry.registerObject` takes (only the parts Herald sets). */
export interface ObjectStackObjectSchema {
  name: string;
  label: string;
  pluralLabel: string;
  description: string;
  fields: Record<string, ObjectStackField>;
  indexes: { fields: string[]; unique?: boolean }[];
  enable: { apiMethods: string[] };
  listViews?: Record<string, unknown>;
}

function label(name: string): string {
  return name.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
}

/**
 * ObjectStack field types for Herald's column types, chosen for what driver-sql makes of them:
 * - `bigint-ms` → `datetime` (a TIMESTAMP on Postgres), converted from and to epoch ms by the engine: ObjectStack's
 *   `number` is a 4-byte float (`real`) on Postgres, whose 24-bit mantissa rounds an epoch-ms time to about two
 *   minutes. `datetime` also shows times as dates in the app's UI.
 * - `integer` → `integer` (INTEGER), not the lossy `number`.
 * - `real` → `number` (REAL on SQLite, float4 on Postgres: about 7 significant digits; Herald keeps only the
 *   retry jitter factor there).
 * - text → `textarea` (unbounded TEXT) rather than `text` (a bounded varchar): response bodies, errors and URLs
 *   can be long, and Herald validates every value itself. `json-text` is textarea too, not `json`: Herald's
 *   contract keeps JSON text byte for byte.
 */
const STORAGE_TYPES: Record<ColumnDefinition['type'], string> = {
  text: 'textarea',
  'json-text': 'textarea',
  integer: 'integer',
  'bigint-ms': 'datetime',
  real: 'number',
  boolean: 'boolean',
};

/** One Herald column as an ObjectStack field. */
function fieldOf(column: ColumnDefinition): ObjectStackField {
  const type = STORAGE_TYPES[column.type];
  return {
    type,
    label: label(column.name),
    // Herald fills every default itself before writing, so the engine's defaults only matter for rows written
    // by others and for columns added to existing tables.
    ...(column.default !== undefined ? { defaultValue: column.default } : {}),
    ...(column.values ? { description: `one of: ${column.values.join(', ')}` } : {}),
  };
}

/** The plugin's admin views over the delivery table (recent, failures, pending), in ObjectStack's view shape. */
function deliveryListViews(object: string): Record<string, unknown> {
  const view = (name: string, columns: string[], sort: { field: string; order: 'asc' | 'desc' }, filter?: unknown[]) => ({
    type: 'grid',
    name,
    label: label(name),
    data: { provider: 'object', object },
    columns,
    ...(filter ? { filter } : {}),
    sort: [sort],
    pagination: { pageSize: 50 },
  });
  return {
    recent: view('recent', ['event_type', 'url', 'status', 'attempts', 'response_code', 'updated_at'], { field: 'updated_at', order: 'desc' }),
    failures: view('failures', ['event_type', 'url', 'status', 'attempts', 'response_code', 'error', 'updated_at'], { field: 'updated_at', order: 'desc' }, [
      { field: 'status', operator: 'in', value: ['dead', 'cancelled', 'skipped'] },
    ]),
    pending: view('pending', ['event_type', 'url', 'attempts', 'next_retry_at', 'updated_at'], { field: 'next_retry_at', order: 'asc' }, [
      { field: 'status', operator: 'in', value: ['pending', 'in_flight'] },
    ]),
  };
}

/** The ObjectStack object for one Herald definition, under `objectName`. The primary key is ObjectStack's `id`. */
export function toObjectStackSchema(definition: ObjectDefinition, objectName: string): ObjectStackObjectSchema {
  if (definition.primaryKey !== 'id') {
    throw new Error(`${definition.name}: an ObjectStack object's primary key is "id", not "${definition.primaryKey}"`);
  }
  const fields: Record<string, ObjectStackField> = {};
  for (const column of definition.columns) if (column.name !== 'id') fields[column.name] = fieldOf(column);
  const isDeliveries = definition.name === heraldDeliveries.name;
  return {
    name: objectName,
    label: label(objectName),
    pluralLabel: `${label(objectName)}s`,
    description: `Herald ${definition.name}: written only by Herald (a projection of its Temporal workflows)`,
    fields,
    indexes: [
      ...(definition.uniqueKeys ?? []).map((k) => ({ fields: [...k], unique: true })),
      ...(definition.indexes ?? []).map((k) => ({ fields: [...k] })),
    ],
    // The delivery table is readable through the app's API (as the plugin's is); Herald's other objects
    // (sealed credentials, stored payloads, idempotency keys) are not served by the generic data API at all.
    enable: { apiMethods: isDeliveries || definition.name === heraldDeliveryAttempts.name ? ['get', 'list'] : [] },
    ...(isDeliveries ? { listViews: deliveryListViews(objectName) } : {}),
  };
}
