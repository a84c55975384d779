/**
 * Herald's tables ("objects"), defined as data. Every engine creates its tables from these definitions and
 * checks every field name and value against them, so adding an object is adding a definition here (or passing
 * one to an engine's `objects` option) — no engine code changes.
 */

/**
 * Column types. Engines store them as:
 * - `text`: TEXT (Postgres: COLLATE "C", so text sorts bytewise as in SQLite and the memory engine).
 * - `integer`: a 32-bit signed integer (Postgres INTEGER, SQLite INTEGER).
 * - `bigint-ms`: epoch milliseconds (Postgres BIGINT, read back as a JS number; SQLite INTEGER).
 * - `real`: a double (Postgres DOUBLE PRECISION, SQLite REAL).
 * - `boolean`: Postgres BOOLEAN, SQLite INTEGER 0/1; always a JS boolean at the API.
 * - `json-text`: TEXT holding JSON. At the API it stays JSON *text* (callers `JSON.stringify`/`JSON.parse`, as
 *   ObjectStack's outbox does with `payload_json`), so the exact bytes round-trip; engines refuse text that is
 *   not valid JSON, and an object passed instead of a string, which would otherwise be double-encoded.
 */
export type ColumnType = 'text' | 'integer' | 'bigint-ms' | 'real' | 'boolean' | 'json-text';

export interface ColumnDefinition {
  readonly name: string;
  readonly type: ColumnType;
  /** Default false: the column is NOT NULL. */
  readonly nullable?: boolean;
  /** Filled in by the engine when an insert omits the field (and declared as the SQL column default). */
  readonly default?: string | number | boolean;
  /** For `text`: the only values accepted, in writes and in filters (a typo in a filter is an error, not 0 rows). */
  readonly values?: readonly string[];
}

export interface ObjectDefinition {
  /** The table name: snake_case. */
  readonly name: string;
  readonly columns: readonly ColumnDefinition[];
  /** A single column; engines rely on it for stable ordering and single-row updates. */
  readonly primaryKey: string;
  readonly uniqueKeys?: readonly (readonly string[])[];
  readonly indexes?: readonly (readonly string[])[];
  /**
   * The object also has ObjectStack's kernel-provisioned `organization_id` (nullable text), which ObjectStack
   * code writes without declaring it (e.g. its outbox's `sys_http_delivery`). Engines add the column.
   */
  readonly organizationScoped?: boolean;
}

/** The column `organizationScoped` adds. */
export const ORGANIZATION_COLUMN: ColumnDefinition = { name: 'organization_id', type: 'text', nullable: true };

export const DELIVERY_STATUSES = ['pending', 'in_flight', 'success', 'dead', 'cancelled', 'skipped'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const ATTEMPT_OUTCOMES = ['success', 'retry', 'dead', 'gone', 'refused'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

export const SIGNATURE_SCHEMES = ['standard', 'objectstack'] as const;
export type SignatureScheme = (typeof SIGNATURE_SCHEMES)[number];

export const heraldWebhooks = {
  name: 'herald_webhooks',
  primaryKey: 'id',
  columns: [
    { name: 'id', type: 'text' }, // wh_…
    { name: 'tenant_id', type: 'text', default: 'default' },
    { name: 'url', type: 'text' },
    { name: 'description', type: 'text', nullable: true },
    { name: 'event_types_json', type: 'json-text' }, // JSON array of event types
    { name: 'active', type: 'boolean', default: true },
    { name: 'disabled_reason', type: 'text', nullable: true },
    { name: 'disabled_at', type: 'bigint-ms', nullable: true },
    { name: 'signature_scheme', type: 'text', default: 'standard', values: SIGNATURE_SCHEMES },
    { name: 'method', type: 'text', default: 'POST' },
    // Credentials, sealed with AES-256-GCM (secret-box.ts): a raw row never holds them in plaintext.
    { name: 'header_names_json', type: 'json-text', default: '[]' }, // readable: which custom headers are set
    { name: 'headers_sealed', type: 'text', nullable: true }, // sealed JSON object of custom headers
    { name: 'secrets_sealed', type: 'text' }, // sealed JSON array of { secret, expiresAt: number | null }
    // Format 1 only (see settings_format): the webhook's timeout. Format 2 rows leave it at its default and
    // keep their own timeout in attempt_timeout_ms, because a NOT NULL column cannot say "inherit".
    { name: 'timeout_ms', type: 'integer', default: 15_000 },
    // JSON array of seconds; NULL = inherit (tenant policy, then Herald's default). Format 1: the delay before
    // each attempt (the first ignored); format 2: the delay before each retry.
    { name: 'retry_schedule_json', type: 'json-text', nullable: true },
    { name: 'retry_jitter', type: 'real', default: 0.2 },
    { name: 'deleted_at', type: 'bigint-ms', nullable: true },
    { name: 'created_at', type: 'bigint-ms' },
    { name: 'updated_at', type: 'bigint-ms' },
    // The endpoint policy the webhook sets itself; NULL = inherit from the tenant policy, then Herald's default.
    { name: 'attempt_timeout_ms', type: 'integer', nullable: true },
    { name: 'rate_limit_per_second', type: 'integer', nullable: true }, // 0 = unlimited (set explicitly)
    { name: 'max_concurrency', type: 'integer', nullable: true },
    { name: 'breaker_threshold', type: 'integer', nullable: true },
    { name: 'disable_after_days', type: 'real', nullable: true },
    // 1: written before endpoint policy (the column's default, so rows of older processes read as 1); 2: now.
    // src/store/webhooks.ts converts 1 → 2 once (and reads a 1 correctly until then).
    { name: 'settings_format', type: 'integer', default: 1 },
  ],
  indexes: [['tenant_id'], ['active']],
} as const satisfies ObjectDefinition;

export const heraldDeliveries = {
  name: 'herald_deliveries',
  primaryKey: 'id',
  columns: [
    { name: 'id', type: 'text' },
    { name: 'tenant_id', type: 'text', default: 'default' },
    { name: 'webhook_id', type: 'text' },
    { name: 'event_id', type: 'text' },
    { name: 'event_type', type: 'text' },
    // When the event happened (epoch ms): the Standard Webhooks envelope's timestamp, kept for redeliveries.
    { name: 'event_time', type: 'bigint-ms' },
    { name: 'url', type: 'text' },
    { name: 'method', type: 'text', default: 'POST' },
    // The payload is not copied here: it is stored once per event (herald_events).
    { name: 'status', type: 'text', default: 'pending', values: DELIVERY_STATUSES },
    { name: 'attempts', type: 'integer', default: 0 },
    { name: 'next_retry_at', type: 'bigint-ms', nullable: true },
    { name: 'last_attempted_at', type: 'bigint-ms', nullable: true },
    { name: 'response_code', type: 'integer', nullable: true },
    { name: 'response_body', type: 'text', nullable: true },
    { name: 'error', type: 'text', nullable: true },
    { name: 'duration_ms', type: 'integer', nullable: true },
    { name: 'workflow_id', type: 'text' },
    { name: 'run_id', type: 'text', nullable: true },
    { name: 'created_at', type: 'bigint-ms' },
    { name: 'updated_at', type: 'bigint-ms' },
  ],
  // The dedup key: one delivery per (event, webhook), whoever races to create it.
  uniqueKeys: [['event_id', 'webhook_id']],
  indexes: [['status'], ['webhook_id'], ['event_id'], ['tenant_id', 'created_at'], ['created_at']],
} as const satisfies ObjectDefinition;

export const heraldDeliveryAttempts = {
  name: 'herald_delivery_attempts',
  // The caller derives the id from (delivery, run, attempt), so a retried mirror write is a no-op conflict.
  primaryKey: 'id',
  columns: [
    { name: 'id', type: 'text' },
    { name: 'delivery_id', type: 'text' },
    { name: 'run_id', type: 'text' },
    { name: 'attempt', type: 'integer' },
    { name: 'started_at', type: 'bigint-ms' },
    { name: 'duration_ms', type: 'integer', nullable: true },
    { name: 'response_code', type: 'integer', nullable: true },
    { name: 'response_body', type: 'text', nullable: true },
    { name: 'error', type: 'text', nullable: true },
    { name: 'outcome', type: 'text', values: ATTEMPT_OUTCOMES },
    { name: 'next_retry_at', type: 'bigint-ms', nullable: true },
  ],
  uniqueKeys: [['delivery_id', 'run_id', 'attempt']],
  indexes: [['delivery_id']],
} as const satisfies ObjectDefinition;

/**
 * `fanning_out`: published, its fan-out not finished (the re-fan schedule repairs it after a minute);
 * `fanned_out`: every subscriber has its delivery or skipped row; `direct`: stored for `deliveries.deliver`
 * (one named webhook), never fanned out unless the same id is published later.
 */
export const EVENT_STATUSES = ['fanning_out', 'fanned_out', 'direct'] as const;

/**
 * Published events: stored once, so payloads stay out of workflow history and every delivery of the event
 * sends the same bytes. (tenant_id, event_id) is the publish dedup key.
 */
export const heraldEvents = {
  name: 'herald_events',
  primaryKey: 'id',
  columns: [
    { name: 'id', type: 'text' }, // ev_<hash of tenant and event id>
    { name: 'tenant_id', type: 'text', default: 'default' },
    { name: 'event_id', type: 'text' },
    { name: 'event_type', type: 'text' },
    { name: 'event_time', type: 'bigint-ms' },
    { name: 'payload_json', type: 'json-text' },
    { name: 'status', type: 'text', default: 'fanning_out', values: EVENT_STATUSES },
    // How many webhooks matched (delivered + skipped), once the fan-out has finished.
    { name: 'matched_count', type: 'integer', nullable: true },
    { name: 'created_at', type: 'bigint-ms' },
    { name: 'updated_at', type: 'bigint-ms' },
  ],
  uniqueKeys: [['tenant_id', 'event_id']],
  // (status, created_at): the re-fan schedule's look-up of events whose fan-out never finished.
  indexes: [['tenant_id', 'created_at'], ['created_at'], ['status', 'created_at']],
} as const satisfies ObjectDefinition;

/**
 * Which webhooks subscribe to what, one row per (webhook, filter), so publish finds an event's subscribers
 * with one indexed look-up — `pattern IN (the type, its prefix wildcards, '*')` — instead of reading every
 * webhook of the tenant. Written with the webhook (create, update of its filters, delete).
 */
export const heraldWebhookSubscriptions = {
  name: 'herald_webhook_subscriptions',
  primaryKey: 'id',
  columns: [
    { name: 'id', type: 'text' }, // <webhook id> <pattern>
    { name: 'tenant_id', type: 'text' },
    { name: 'webhook_id', type: 'text' },
    { name: 'pattern', type: 'text' }, // an exact type, a prefix wildcard (`order.*`) or `*`
    // The webhook's creation time: webhooks created after an event was stored do not receive it.
    { name: 'webhook_created_at', type: 'bigint-ms' },
  ],
  uniqueKeys: [['webhook_id', 'pattern']],
  indexes: [['tenant_id', 'pattern', 'webhook_id']],
} as const satisfies ObjectDefinition;

export const IDEMPOTENCY_KEY_STATUSES = ['in_progress', 'completed'] as const;

/**
 * The HTTP API's `Idempotency-Key`s: one row per (caller scope, key), holding a hash of the request and, once
 * it succeeded, its response (sealed: a webhook's secret is in its create response). Rows expire after 24 h.
 */
export const heraldIdempotencyKeys = {
  name: 'herald_idempotency_keys',
  primaryKey: 'id',
  columns: [
    { name: 'id', type: 'text' }, // idk_<hash of scope and key>
    { name: 'scope', type: 'text' }, // 'admin' or 'tenant:<id>': whose key it is
    { name: 'idempotency_key', type: 'text' },
    { name: 'request_hash', type: 'text' }, // sha256 of method, path and body
    { name: 'status', type: 'text', default: 'in_progress', values: IDEMPOTENCY_KEY_STATUSES },
    { name: 'response_status', type: 'integer', nullable: true },
    { name: 'response_sealed', type: 'text', nullable: true }, // sealed JSON { headers, body }
    { name: 'created_at', type: 'bigint-ms' },
    { name: 'updated_at', type: 'bigint-ms' },
    { name: 'expires_at', type: 'bigint-ms' },
  ],
  uniqueKeys: [['scope', 'idempotency_key']],
  indexes: [['expires_at']],
} as const satisfies ObjectDefinition;

export const ENDPOINT_BREAKER_STATES = ['closed', 'open'] as const;

/**
 * The endpoint gate's shared state, one row per webhook (src/endpoints/endpoint-gate.ts): breaker, failure
 * counters, the adaptive concurrency limit and the rate window. Every write is a compare-and-set on `version`.
 */
export const heraldEndpointState = {
  name: 'herald_endpoint_state',
  // `id` is the webhook's id (ObjectStack objects are keyed by `id`).
  primaryKey: 'id',
  columns: [
    { name: 'id', type: 'text' },
    { name: 'version', type: 'integer', default: 0 },
    { name: 'breaker', type: 'text', default: 'closed', values: ENDPOINT_BREAKER_STATES },
    { name: 'consecutive_failures', type: 'integer', default: 0 },
    { name: 'failing_since', type: 'bigint-ms', nullable: true },
    { name: 'last_success_at', type: 'bigint-ms', nullable: true },
    { name: 'last_failure_at', type: 'bigint-ms', nullable: true },
    { name: 'opened_at', type: 'bigint-ms', nullable: true },
    { name: 'next_probe_at', type: 'bigint-ms', nullable: true },
    { name: 'cooldown_ms', type: 'integer', nullable: true },
    { name: 'probe_holder', type: 'text', nullable: true },
    { name: 'probe_until', type: 'bigint-ms', nullable: true },
    { name: 'effective_concurrency', type: 'integer' },
    { name: 'policy_max_concurrency', type: 'integer' },
    { name: 'successes_since_change', type: 'integer', default: 0 },
    { name: 'decreased_at', type: 'bigint-ms', nullable: true },
    { name: 'slot_count', type: 'integer', default: 0 },
    { name: 'rate_window_json', type: 'json-text', nullable: true },
    { name: 'updated_at', type: 'bigint-ms' },
  ],
} as const satisfies ObjectDefinition;

/**
 * A tenant's endpoint policy: the defaults its webhooks inherit for the fields they do not set. One row per
 * tenant (the id is the tenant id); NULL = not set (Herald's default applies). Written by `PUT
 * /v1/tenants/{id}/policy` (src/store/tenant-policies.ts).
 */
export const heraldTenantPolicies = {
  name: 'herald_tenant_policies',
  primaryKey: 'id',
  columns: [
    { name: 'id', type: 'text' }, // the tenant id
    { name: 'retry_schedule_json', type: 'json-text', nullable: true }, // JSON array: seconds before each retry
    { name: 'timeout_ms', type: 'integer', nullable: true },
    { name: 'rate_limit_per_second', type: 'integer', nullable: true }, // 0 = unlimited (set explicitly)
    { name: 'max_concurrency', type: 'integer', nullable: true },
    { name: 'breaker_threshold', type: 'integer', nullable: true },
    { name: 'disable_after_days', type: 'real', nullable: true },
    { name: 'created_at', type: 'bigint-ms' },
    { name: 'updated_at', type: 'bigint-ms' },
  ],
} as const satisfies ObjectDefinition;

/**
 * The endpoint gate's concurrency slots: a permit is a slot row whose holder it is, until `expires_at` (then
 * any worker may reclaim it: a crashed worker's slot). Rows are created on demand, one per concurrent request.
 */
export const heraldEndpointSlots = {
  name: 'herald_endpoint_slots',
  primaryKey: 'id',
  columns: [
    { name: 'id', type: 'text' }, // <webhook id>#<slot, 5 digits>: key order is slot order
    { name: 'webhook_id', type: 'text' },
    { name: 'slot', type: 'integer' },
    { name: 'holder', type: 'text', nullable: true },
    { name: 'acquired_at', type: 'bigint-ms', nullable: true },
    { name: 'expires_at', type: 'bigint-ms', nullable: true },
    // The last successful send through this slot: health's lastSuccessAt without a state write per success.
    { name: 'last_ok_at', type: 'bigint-ms', nullable: true },
  ],
  uniqueKeys: [['webhook_id', 'slot']],
} as const satisfies ObjectDefinition;

/** Every object Herald's engines create by default. */
export const HERALD_OBJECTS: readonly ObjectDefinition[] = [heraldWebhooks, heraldWebhookSubscriptions, heraldDeliveries, heraldDeliveryAttempts, heraldEvents, heraldIdempotencyKeys, heraldEndpointState, heraldEndpointSlots, heraldTenantPolicies];

type ColumnValue<C extends ColumnDefinition> =
  | (C['type'] extends 'boolean'
      ? boolean
      : C['type'] extends 'text' | 'json-text'
        ? C extends { readonly values: readonly (infer V)[] }
          ? V
          : string
        : number)
  | (C extends { readonly nullable: true } ? null : never);

type IsOptionalOnInsert<C extends ColumnDefinition> = C extends { readonly nullable: true }
  ? true
  : C extends { readonly default: string | number | boolean }
    ? true
    : false;

/** A full row of an object, as `find` returns it. */
export type RowOf<O extends ObjectDefinition> = {
  -readonly [C in O['columns'][number] as C['name']]: ColumnValue<C>;
};

/** What `insert` accepts for an object: nullable and defaulted fields may be left out. */
export type NewRowOf<O extends ObjectDefinition> = {
  -readonly [C in O['columns'][number] as IsOptionalOnInsert<C> extends true ? never : C['name']]: ColumnValue<C>;
} & {
  -readonly [C in O['columns'][number] as IsOptionalOnInsert<C> extends true ? C['name'] : never]?: ColumnValue<C>;
};

export type WebhookRow = RowOf<typeof heraldWebhooks>;
export type NewWebhookRow = NewRowOf<typeof heraldWebhooks>;
export type DeliveryRow = RowOf<typeof heraldDeliveries>;
export type NewDeliveryRow = NewRowOf<typeof heraldDeliveries>;
export type DeliveryAttemptRow = RowOf<typeof heraldDeliveryAttempts>;
export type NewDeliveryAttemptRow = NewRowOf<typeof heraldDeliveryAttempts>;
export type EventRow = RowOf<typeof heraldEvents>;
export type NewEventRow = NewRowOf<typeof heraldEvents>;
export type IdempotencyKeyRow = RowOf<typeof heraldIdempotencyKeys>;
export type WebhookSubscriptionRow = RowOf<typeof heraldWebhookSubscriptions>;
export type EndpointStateRow = RowOf<typeof heraldEndpointState>;
export type EndpointSlotRow = RowOf<typeof heraldEndpointSlots>;
export type TenantPolicyRow = RowOf<typeof heraldTenantPolicies>;
