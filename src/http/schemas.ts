import { z } from '@hono/zod-openapi';
import { MAX_RETRY_SCHEDULE_LENGTH } from '../delivery/retry-schedule.js';
import { TenantId as ClientTenantId } from '../client/tenant.js';
import { EventId as ClientEventId, EventType as ClientEventType } from '../client/validation.js';
import { MAX_ROTATION_GRACE_SECONDS, MAX_TIMEOUT_MS, MIN_TIMEOUT_MS } from '../client/webhook-validation.js';
import { MAX_LIST_LIMIT } from '../store/deliveries.js';
import { EVENT_TYPE_FILTER_PATTERN, MAX_EVENT_TYPE_LENGTH } from '../store/event-type-filter.js';
import { ATTEMPT_OUTCOMES, DELIVERY_STATUSES, EVENT_STATUSES, SIGNATURE_SCHEMES } from '../store/schema.js';
import { MAX_WEBHOOK_LIST_LIMIT } from '../store/webhooks.js';

/**
 * The wire shapes of the REST API, as zod schemas: they validate requests at the edge (400 naming the field)
 * and generate the OpenAPI document. JSON fields are camelCase; times are ISO 8601 strings (the store keeps
 * epoch ms; `present.ts` converts). The client validates again, deeper (URL, headers, retry schedule).
 */

// ── shared ─────────────────────────────────────────────────────────────────────────────────────────────

/**
 * The client's field schemas, cloned: zod gives `.openapi()` only to instances created after
 * `@hono/zod-openapi` has loaded, and the client's may have been built before.
 */
const fresh = <T extends z.ZodType>(schema: T): T => schema.clone() as T;
const EventId = fresh(ClientEventId);
const EventType = fresh(ClientEventType);
const TenantId = fresh(ClientTenantId);

const Time = z.iso.datetime({ offset: true }).openapi({ example: '2025-01-31T12:00:00.000Z' });
const NullableTime = Time.nullable();

/** Any JSON value (an event payload). */
export const JsonValue = z
  .union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.unknown()), z.record(z.string(), z.unknown())])
  .openapi({ description: 'Any JSON value.', example: { orderId: 42 } });

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.enum(['validation', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'payload_too_large', 'unsupported_media_type', 'unprocessable', 'unavailable', 'internal']),
      message: z.string(),
      field: z.string().optional().openapi({ description: 'The request field (body path, query parameter or header) at fault, when there is one.' }),
    }),
  })
  .openapi('Error', { example: { error: { code: 'validation', message: 'url: is not a valid absolute URL', field: 'url' } } });

export const IdParam = z.object({
  id: z.string().min(1).max(200).openapi({ param: { name: 'id', in: 'path' }, example: 'wh_3kTq9x2Lr8Vn5bWc' }),
});

const Limit = (max: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(1, `must be from 1 to ${max}`)
    .max(max, `must be from 1 to ${max}`)
    .optional()
    .openapi({ description: `Page size (default 50, at most ${max}).`, example: 50 });
const Cursor = z.string().min(1).max(500).optional().openapi({ description: 'The `nextCursor` of the previous page.' });
const TenantQuery = TenantId.optional().openapi({ description: 'Admin tokens: only this tenant. Tenant tokens: only their own (another is 403).' });

function page<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({
      items: z.array(item),
      nextCursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
    })
    .openapi(name);
}

// ── webhooks ───────────────────────────────────────────────────────────────────────────────────────────

const EventTypeFilter = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_EVENT_TYPE_LENGTH)
  .regex(EVENT_TYPE_FILTER_PATTERN, 'must be dot-separated names of [a-zA-Z0-9_-], a prefix.* wildcard, or *');
const EventTypes = z
  .array(EventTypeFilter)
  .min(1, 'must list at least one event type (or "*")')
  .max(100)
  .openapi({ description: 'Event types to receive: exact (`order.created`), prefix wildcard (`order.*`), or `*` for all.', example: ['order.created', 'invoice.*'] });
const Url = z.string().max(2048).openapi({ description: 'Where deliveries are sent (http or https).', example: 'https://hooks.example.com/orders' });
const Description = z.string().max(1000).nullable();
const Headers = z.record(z.string(), z.string().max(4096)).openapi({ description: 'Custom request headers (stored sealed; reads return only their names). Signature and id headers cannot be overridden.' });
const SignatureScheme = z.enum(SIGNATURE_SCHEMES).openapi({ description: '`standard` (Standard Webhooks v1, default) or `objectstack` (X-Objectstack-Signature).' });
const Method = z.enum(['POST', 'PUT', 'PATCH']);
const TimeoutMs = z.number().int().min(MIN_TIMEOUT_MS).max(MAX_TIMEOUT_MS).openapi({ description: 'Per-attempt HTTP timeout in milliseconds.' });
const RetrySchedule = z
  .array(z.number().nonnegative())
  .min(1)
  .max(MAX_RETRY_SCHEDULE_LENGTH)
  .openapi({ description: 'Delays in seconds before each attempt: `[0, 5, 300]` = now, then 5 s and 5 min after failures (3 attempts).', example: [0, 5, 300, 1800, 7200] });
const RetryJitter = z.number().min(0).lt(1).openapi({ description: 'Each delay is scaled by a random factor in [1 - jitter, 1 + jitter).', example: 0.2 });

export const CreateWebhookBody = z
  .strictObject({
    url: Url,
    eventTypes: EventTypes,
    description: Description.optional(),
    headers: Headers.optional(),
    secret: z.string().optional().openapi({ description: 'Bring your own signing secret (`whsec_…` for `standard`); generated when absent.' }),
    signatureScheme: SignatureScheme.optional(),
    method: Method.optional(),
    timeoutMs: TimeoutMs.optional(),
    retrySchedule: RetrySchedule.optional(),
    retryJitter: RetryJitter.optional(),
    tenantId: TenantId.optional().openapi({ description: 'Admin tokens only (default `default`); a tenant token always creates in its own tenant.' }),
  })
  .openapi('CreateWebhook');

export const UpdateWebhookBody = z
  .strictObject({
    url: Url.optional(),
    eventTypes: EventTypes.optional(),
    description: Description.optional(),
    headers: Headers.optional(),
    method: Method.optional(),
    timeoutMs: TimeoutMs.optional(),
    retrySchedule: RetrySchedule.optional(),
    retryJitter: RetryJitter.optional(),
  })
  .openapi('UpdateWebhook');

export const RotateSecretBody = z
  .strictObject({
    graceSeconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_ROTATION_GRACE_SECONDS)
      .optional()
      .openapi({ description: 'How long the previous secrets keep signing too (default 86400 = 24 h).' }),
    secret: z.string().optional().openapi({ description: 'The new secret; generated when absent.' }),
  })
  .openapi('RotateSecret');

export const DisableWebhookBody = z.strictObject({ reason: z.string().max(500).optional() }).openapi('DisableWebhook');

export const RecoverBody = z
  .strictObject({
    since: Time.openapi({ description: 'Start of the window (deliveries created at or after).' }),
    until: Time.optional().openapi({ description: 'End of the window (created before); default now. At most 30 days after `since`.' }),
  })
  .openapi('Recover');

export const Webhook = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    url: z.string(),
    description: z.string().nullable(),
    eventTypes: z.array(z.string()),
    active: z.boolean(),
    disabledReason: z.string().nullable(),
    disabledAt: NullableTime,
    signatureScheme: SignatureScheme,
    method: z.string(),
    headerNames: z.array(z.string()).openapi({ description: 'Names of the custom headers (values are never returned).' }),
    timeoutMs: z.number().int(),
    retrySchedule: z.array(z.number()),
    retryJitter: z.number(),
    createdAt: Time,
    updatedAt: Time,
  })
  .openapi('Webhook');

export const WebhookWithSecret = Webhook.extend({
  secret: z.string().openapi({ description: 'The signing secret. Returned only here (create and rotate): store it now.' }),
}).openapi('WebhookWithSecret');

export const WebhookPage = page(Webhook, 'WebhookPage');

export const WebhookListQuery = z.object({
  limit: Limit(MAX_WEBHOOK_LIST_LIMIT),
  cursor: Cursor,
  active: z.enum(['true', 'false']).optional().openapi({ description: 'Only active (`true`) or disabled (`false`) webhooks.' }),
  tenantId: TenantQuery,
});

export const RecoveryJob = z
  .object({
    workflowId: z.string().openapi({ description: 'The recovery job (a Temporal workflow); poll `GET /v1/recoveries/{workflowId}`.' }),
    runId: z.string(),
    webhookId: z.string(),
    since: Time,
    until: Time,
  })
  .openapi('RecoveryJob');

export const RecoveryProgress = z
  .object({
    workflowId: z.string(),
    webhookId: z.string(),
    status: z.enum(['running', 'completed', 'failed', 'cancelled', 'terminated', 'timed_out', 'continued_as_new', 'unknown']),
    redelivered: z.number().int().openapi({ description: 'Deliveries sent again so far.' }),
    scanned: z.number().int().openapi({ description: 'Dead and skipped deliveries looked at so far.' }),
    done: z.boolean(),
  })
  .openapi('RecoveryProgress');

export const RecoveryIdParam = z.object({
  workflowId: z
    .string()
    .min(1)
    .max(600)
    .openapi({ param: { name: 'workflowId', in: 'path' }, example: 'recover:wh_3kTq9x2Lr8Vn5bWc:1735689600000:1735776000000' }),
});

// ── events ─────────────────────────────────────────────────────────────────────────────────────────────

export const PublishEventBody = z
  .strictObject({
    id: EventId.optional().openapi({ description: 'Your id for the event (generated when absent). Publishing the same id again is the same event.', example: 'evt_2025_0001' }),
    type: EventType.openapi({ example: 'order.created' }),
    payload: JsonValue,
    time: Time.optional().openapi({ description: 'When it happened (default now): the envelope timestamp.' }),
    tenantId: TenantId.optional().openapi({ description: 'Admin tokens only (default `default`).' }),
  })
  .openapi('PublishEvent');

export const PublishedEvent = z
  .object({
    eventId: z.string(),
    tenantId: z.string(),
    type: z.string(),
    fanOut: z.enum(['direct', 'workflow']).openapi({ description: '`direct`: the deliveries were started by this request; `workflow`: a large fan-out, started by the durable fan-out workflow.' }),
    workflowId: z.string().nullable().openapi({ description: 'The fan-out workflow starting the deliveries (`workflow` fan-outs), else null.' }),
    deliveries: z
      .array(
        z.object({
          id: z.string(),
          webhookId: z.string(),
          status: z.enum(['pending', 'skipped']).openapi({ description: '`pending` for an active webhook, `skipped` for a disabled one (recorded, not sent).' }),
        }),
      )
      .openapi({ description: 'The matching webhooks as of publishing, at most 1000 (see `deliveriesTruncated`).' }),
    deliveriesTruncated: z
      .boolean()
      .openapi({ description: 'True when more than 1000 webhooks match (the list holds the first 1000). Every matching webhook still gets the event.' }),
  })
  .openapi('PublishedEvent');

export const StoredEvent = z
  .object({
    eventId: z.string(),
    tenantId: z.string(),
    type: z.string(),
    time: Time,
    payload: JsonValue,
    status: z.enum(EVENT_STATUSES).openapi({ description: '`fanning_out` (deliveries being started), `fanned_out` (every subscriber has its delivery), `direct` (stored for one named webhook by a direct delivery)' }),
    matchedCount: z.number().int().nullable(),
    createdAt: Time,
  })
  .openapi('Event');

export const EventQuery = z.object({ tenantId: TenantQuery });

// ── deliveries ─────────────────────────────────────────────────────────────────────────────────────────

const DeliveryStatus = z.enum(DELIVERY_STATUSES);

export const Delivery = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    webhookId: z.string(),
    eventId: z.string(),
    eventType: z.string(),
    eventTime: Time,
    url: z.string(),
    method: z.string(),
    status: DeliveryStatus,
    attempts: z.number().int(),
    nextRetryAt: NullableTime,
    lastAttemptedAt: NullableTime,
    responseCode: z.number().int().nullable(),
    error: z.string().nullable(),
    durationMs: z.number().int().nullable(),
    workflowId: z.string(),
    runId: z.string().nullable(),
    createdAt: Time,
    updatedAt: Time,
  })
  .openapi('Delivery');

export const Attempt = z
  .object({
    attempt: z.number().int(),
    at: Time,
    outcome: z.enum(ATTEMPT_OUTCOMES),
    responseCode: z.number().int().nullable(),
    durationMs: z.number().int().nullable(),
    error: z.string().nullable(),
    responseBody: z.string().nullable(),
    nextRetryAt: NullableTime,
  })
  .openapi('Attempt');

export const DeliveryDetail = Delivery.extend({
  attemptLog: z.array(Attempt).openapi({ description: "This run's attempts, oldest first." }),
  payload: JsonValue.nullable().openapi({ description: 'The event payload sent (null once retention removed the event).' }),
}).openapi('DeliveryDetail');

export const DeliveryPage = page(Delivery, 'DeliveryPage');

export const DeliveryListQuery = z.object({
  status: DeliveryStatus.optional(),
  webhookId: z.string().min(1).max(200).optional(),
  eventId: z.string().min(1).max(200).optional(),
  since: Time.optional().openapi({ description: 'Created at or after.' }),
  until: Time.optional().openapi({ description: 'Created before.' }),
  limit: Limit(MAX_LIST_LIMIT),
  cursor: Cursor,
  tenantId: TenantQuery,
});

export const DeliveryAction = z
  .object({
    id: z.string(),
    workflowId: z.string(),
    runId: z.string().nullable(),
    status: z.enum(['pending', 'cancelling']).openapi({ description: '`pending`: redelivery started; `cancelling`: cancellation requested (the delivery becomes `cancelled`).' }),
  })
  .openapi('DeliveryAction');

// ── operations ─────────────────────────────────────────────────────────────────────────────────────────

const Check = z.object({ ok: z.boolean(), error: z.string().optional() });
export const Health = z
  .object({ status: z.enum(['ok', 'degraded']), checks: z.object({ temporal: Check, database: Check }) })
  .openapi('Health');
