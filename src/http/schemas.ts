import { z } from '@hono/zod-openapi';
import { MAX_RETRY_DELAY_SECONDS, MAX_RETRY_SCHEDULE_LENGTH, MIN_RETRY_DELAY_SECONDS } from '../delivery/retry-schedule.js';
import { TenantId as ClientTenantId } from '../client/tenant.js';
import { EventId as ClientEventId, EventType as ClientEventType } from '../client/validation.js';
import {
  MAX_BREAKER_THRESHOLD,
  MAX_CONCURRENCY,
  MAX_DISABLE_AFTER_DAYS,
  MAX_RATE_LIMIT_PER_SECOND,
  MAX_ROTATION_GRACE_SECONDS,
  MAX_TIMEOUT_MS,
  MIN_DISABLE_AFTER_DAYS,
  MIN_TIMEOUT_MS,
  POLICY_FIELD_RULES,
} from '../client/webhook-validation.js';
import { HERALD_DEFAULT_POLICY, POLICY_FIELDS } from '../store/tenant-policies.js';
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
const D = HERALD_DEFAULT_POLICY;
const whole = (min: number, max: number, unit = '') =>
  z
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(min, `must be from ${min} to ${max}${unit}`)
    .max(max, `must be from ${min} to ${max}${unit}`);
const TimeoutMs = whole(MIN_TIMEOUT_MS, MAX_TIMEOUT_MS, ' ms').openapi({ description: `Per-attempt HTTP timeout in milliseconds (Herald's default ${D.timeoutMs}).` });
// The length and each delay's range are checked by the client (src/delivery/retry-schedule.ts), whose errors
// name the position and explain a leading 0; here they are only documented.
const RetrySchedule = z
  .array(z.number({ error: 'must be a number of seconds' }))
  .openapi({
    maxItems: MAX_RETRY_SCHEDULE_LENGTH,
    description:
      `Delays in whole seconds (${MIN_RETRY_DELAY_SECONDS}–${MAX_RETRY_DELAY_SECONDS}, i.e. 1 s–7 d) before each RETRY; the first attempt is always immediate. ` +
      '`[5, 300, 1800]` = 4 attempts: now, then 5 s, 5 min and 30 min after failures; `[]` = a single attempt; at most ' +
      `${MAX_RETRY_SCHEDULE_LENGTH} delays (${MAX_RETRY_SCHEDULE_LENGTH + 1} attempts). Herald's default is Standard Webhooks' 10 attempts, \`${JSON.stringify(D.retrySchedule)}\`. ` +
      'Earlier versions took the (ignored) delay before attempt 1 as the first element; a leading 0 is now refused, and webhooks stored in that shape were converted by dropping it.',
    example: [5, 300, 1800, 7200],
  });
const RateLimitPerSecond = whole(1, MAX_RATE_LIMIT_PER_SECOND, ' (null: unlimited)')
  .nullable()
  .openapi({ description: 'Requests per second to this endpoint across all workers; `null` = unlimited (Herald\'s default).', example: 50 });
const MaxConcurrency = whole(1, MAX_CONCURRENCY).openapi({ description: `Requests in flight to this endpoint across all workers (Herald's default ${D.maxConcurrency}).`, example: D.maxConcurrency });
const BreakerThreshold = whole(1, MAX_BREAKER_THRESHOLD).openapi({
  description: `Consecutive failed attempts across the endpoint's deliveries that open its circuit breaker (Herald's default ${D.breakerThreshold}).`,
  example: D.breakerThreshold,
});
const DisableAfterDays = z
  .number({ error: 'must be a number' })
  .min(MIN_DISABLE_AFTER_DAYS, `must be from ${MIN_DISABLE_AFTER_DAYS} to ${MAX_DISABLE_AFTER_DAYS} days`)
  .max(MAX_DISABLE_AFTER_DAYS, `must be from ${MIN_DISABLE_AFTER_DAYS} to ${MAX_DISABLE_AFTER_DAYS} days`)
  .openapi({ description: `An endpoint failing without a single success for this many days is disabled (Herald's default ${D.disableAfterDays}).`, example: D.disableAfterDays });

const INHERIT_NOTE = 'Left out: inherited from the tenant policy, then Herald\'s default. `"inherit"` (in an update) stops setting it.';
/** A policy field of a webhook write: its value, or "inherit". */
const inheritable = <T extends z.ZodType>(schema: T, rule: string) =>
  z.union([schema, z.literal('inherit')], { error: `${rule}, or "inherit"` }).optional().openapi({ description: INHERIT_NOTE });
const InheritablePolicy = {
  retrySchedule: inheritable(RetrySchedule, POLICY_FIELD_RULES.retrySchedule),
  timeoutMs: inheritable(TimeoutMs, POLICY_FIELD_RULES.timeoutMs),
  rateLimitPerSecond: inheritable(RateLimitPerSecond, POLICY_FIELD_RULES.rateLimitPerSecond),
  maxConcurrency: inheritable(MaxConcurrency, POLICY_FIELD_RULES.maxConcurrency),
  breakerThreshold: inheritable(BreakerThreshold, POLICY_FIELD_RULES.breakerThreshold),
  disableAfterDays: inheritable(DisableAfterDays, POLICY_FIELD_RULES.disableAfterDays),
};
const PolicyField = z.enum(POLICY_FIELDS);
const EffectivePolicy = {
  retrySchedule: z.array(z.number()).openapi({ description: 'Effective: seconds before each retry (attempts = length + 1).' }),
  timeoutMs: z.number().int().openapi({ description: 'Effective per-attempt timeout (ms).' }),
  rateLimitPerSecond: z.number().int().nullable().openapi({ description: 'Effective rate limit; null = unlimited.' }),
  maxConcurrency: z.number().int(),
  breakerThreshold: z.number().int(),
  disableAfterDays: z.number(),
};
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
    ...InheritablePolicy,
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
    ...InheritablePolicy,
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
    ...EffectivePolicy,
    retryJitter: z.number(),
    inherited: z.array(PolicyField).openapi({
      description: 'The policy fields this webhook does not set: their values above come from its tenant\'s policy or Herald\'s defaults.',
      example: ['retrySchedule', 'rateLimitPerSecond'],
    }),
    createdAt: Time,
    updatedAt: Time,
  })
  .openapi('Webhook');

export const EndpointHealth = z
  .object({
    state: z.enum(['healthy', 'failing', 'open', 'disabled']).openapi({
      description: '`failing`: recent attempts failed; `open`: the breaker is open (deliveries wait, spending no attempt, until a probe succeeds); `disabled`: the webhook is off.',
    }),
    consecutiveFailures: z.number().int(),
    failingSince: NullableTime.openapi({ description: 'First failure since the last success; auto-disable counts `disableAfterDays` from here.' }),
    lastSuccessAt: NullableTime,
    nextProbeAt: NullableTime.openapi({ description: 'When the open breaker lets one probe request through.' }),
    effectiveConcurrency: z.number().int().nullable().openapi({ description: 'The adaptive limit of requests in flight (at most maxConcurrency); null before the first send.' }),
    inFlight: z.number().int(),
  })
  .openapi('EndpointHealth');

export const WebhookWithHealth = Webhook.extend({ health: EndpointHealth }).openapi('WebhookWithHealth');

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
  eventType: z.string().min(1).max(200).optional().openapi({ description: 'Exact event type (no wildcards), e.g. `order.created`.' }),
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

// ── tenant policy ──────────────────────────────────────────────────────────────────────────────────────

export const TenantParam = z.object({
  id: TenantId.openapi({ param: { name: 'id', in: 'path' }, example: 'acme' }),
});

const PolicySettingsShape = {
  retrySchedule: RetrySchedule.optional(),
  timeoutMs: TimeoutMs.optional(),
  rateLimitPerSecond: RateLimitPerSecond.optional(),
  maxConcurrency: MaxConcurrency.optional(),
  breakerThreshold: BreakerThreshold.optional(),
  disableAfterDays: DisableAfterDays.optional(),
};

export const PutTenantPolicyBody = z
  .strictObject(PolicySettingsShape)
  .openapi('PutTenantPolicy', {
    description: 'The whole policy: fields left out are unset (Herald\'s defaults apply). `{}` clears it.',
    example: { retrySchedule: [10, 60, 600], rateLimitPerSecond: 100 },
  });

export const TenantPolicy = z
  .object({
    tenantId: z.string(),
    settings: z.object(PolicySettingsShape).openapi({ description: 'What the tenant sets; fields not listed are Herald\'s defaults.' }),
    effective: z.object(EffectivePolicy).openapi({ description: 'What the tenant\'s webhooks inherit where they set nothing: the settings over Herald\'s defaults.' }),
    updatedAt: NullableTime.openapi({ description: 'null while the tenant has never set a policy.' }),
  })
  .openapi('TenantPolicy');
