import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { DEFAULT_RETRY_JITTER, validateRetrySchedule } from '../delivery/retry-schedule.js';
import { ValidationError } from '../errors.js';
import { isProtectedHeaderName } from '../signing/build-request.js';
import { generateSecret, parseSecret } from '../signing/standard-webhooks.js';
import { EVENT_TYPE_FILTER_PATTERN, MAX_EVENT_TYPE_LENGTH } from '../store/event-type-filter.js';
import { POLICY_FIELDS, type PolicySettings } from '../store/tenant-policies.js';
import { INHERIT, type NewWebhook, type RegistryDeps, type SignatureScheme, type WebhookChanges } from '../store/webhooks.js';
import { resolveTenant, TenantId } from './tenant.js';
import { parseOrThrow } from './validation.js';

/**
 * The rules a webhook must meet before the registry stores it: the input's shape (zod), the URL, custom
 * headers, the endpoint policy (retry schedule, timeout, rate limit, concurrency, breaker, disable-after;
 * the same rules for a tenant's policy) and the secret. Every failure is a ValidationError naming the field,
 * and nothing is written until all of them pass.
 *
 * A policy field left out inherits (tenant policy, then Herald's default); in an update, the string
 * "inherit" stops setting it. `rateLimitPerSecond: null` is a setting: unlimited.
 */

/** The registry's deps plus the client's URL policy (HERALD_HTTPS_ONLY), which applies before the store sees a URL. */
export interface ValidatedRegistryDeps extends RegistryDeps, UrlPolicy {}

export const MIN_TIMEOUT_MS = 1_000;
export const MAX_TIMEOUT_MS = 300_000;
const DEFAULT_ROTATION_GRACE_SECONDS = 24 * 60 * 60;
export const MAX_ROTATION_GRACE_SECONDS = 7 * 24 * 60 * 60;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
export const MAX_RATE_LIMIT_PER_SECOND = 10_000;
export const MAX_CONCURRENCY = 1_000;
export const MAX_BREAKER_THRESHOLD = 1_000;
export const MIN_DISABLE_AFTER_DAYS = 1;
export const MAX_DISABLE_AFTER_DAYS = 90;

const wholeNumber = (min: number, max: number, unit = '') =>
  z
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(min, `must be from ${min} to ${max}${unit}`)
    .max(max, `must be from ${min} to ${max}${unit}`);

/** The endpoint policy fields, shape only (the retry schedule is checked further by validateRetrySchedule). */
export const PolicyFields = {
  retrySchedule: z.array(z.number({ error: 'must be a number of seconds' }), { error: 'must be an array of delays in seconds, one before each retry' }),
  timeoutMs: wholeNumber(MIN_TIMEOUT_MS, MAX_TIMEOUT_MS, ' ms'),
  rateLimitPerSecond: wholeNumber(1, MAX_RATE_LIMIT_PER_SECOND, ' requests per second (null: unlimited)').nullable(),
  maxConcurrency: wholeNumber(1, MAX_CONCURRENCY, ' requests in flight'),
  breakerThreshold: wholeNumber(1, MAX_BREAKER_THRESHOLD, ' consecutive failed attempts'),
  disableAfterDays: z
    .number({ error: 'must be a number' })
    .min(MIN_DISABLE_AFTER_DAYS, `must be from ${MIN_DISABLE_AFTER_DAYS} to ${MAX_DISABLE_AFTER_DAYS} days`)
    .max(MAX_DISABLE_AFTER_DAYS, `must be from ${MIN_DISABLE_AFTER_DAYS} to ${MAX_DISABLE_AFTER_DAYS} days`),
};

/** What each policy field accepts, for errors where the value is not even of the right type. */
export const POLICY_FIELD_RULES = {
  retrySchedule: 'must be an array of whole seconds (1 s–7 d), one before each retry',
  timeoutMs: `must be a whole number of ms from ${MIN_TIMEOUT_MS} to ${MAX_TIMEOUT_MS}`,
  rateLimitPerSecond: `must be a whole number from 1 to ${MAX_RATE_LIMIT_PER_SECOND} (requests per second), or null for unlimited`,
  maxConcurrency: `must be a whole number from 1 to ${MAX_CONCURRENCY} (requests in flight)`,
  breakerThreshold: `must be a whole number from 1 to ${MAX_BREAKER_THRESHOLD} (consecutive failed attempts)`,
  disableAfterDays: `must be a number of days from ${MIN_DISABLE_AFTER_DAYS} to ${MAX_DISABLE_AFTER_DAYS}`,
} as const;

const orInherit = <T extends z.ZodType>(schema: T, rule: string) => z.union([z.literal(INHERIT), schema], { error: `${rule}, or "inherit"` });

/** Each policy field, optional, or "inherit". */
const InheritablePolicy = {
  retrySchedule: orInherit(PolicyFields.retrySchedule, POLICY_FIELD_RULES.retrySchedule).optional(),
  timeoutMs: orInherit(PolicyFields.timeoutMs, POLICY_FIELD_RULES.timeoutMs).optional(),
  rateLimitPerSecond: orInherit(PolicyFields.rateLimitPerSecond, POLICY_FIELD_RULES.rateLimitPerSecond).optional(),
  maxConcurrency: orInherit(PolicyFields.maxConcurrency, POLICY_FIELD_RULES.maxConcurrency).optional(),
  breakerThreshold: orInherit(PolicyFields.breakerThreshold, POLICY_FIELD_RULES.breakerThreshold).optional(),
  disableAfterDays: orInherit(PolicyFields.disableAfterDays, POLICY_FIELD_RULES.disableAfterDays).optional(),
};

/** A tenant's policy as PUT replaces it: each field optional (left out = Herald's default). */
export const TenantPolicyInput = z.strictObject({
  retrySchedule: PolicyFields.retrySchedule.optional(),
  timeoutMs: PolicyFields.timeoutMs.optional(),
  rateLimitPerSecond: PolicyFields.rateLimitPerSecond.optional(),
  maxConcurrency: PolicyFields.maxConcurrency.optional(),
  breakerThreshold: PolicyFields.breakerThreshold.optional(),
  disableAfterDays: PolicyFields.disableAfterDays.optional(),
});
export type TenantPolicyInput = z.input<typeof TenantPolicyInput>;

const EventTypes = z
  .array(z.string().min(1, 'must not be empty').max(MAX_EVENT_TYPE_LENGTH).regex(EVENT_TYPE_FILTER_PATTERN, 'must be dot-separated names of [a-zA-Z0-9_-], a prefix.* wildcard, or *'))
  .min(1, 'must list at least one event type (or "*")')
  .max(100);

const Mutable = {
  url: z.string().max(2048),
  description: z.string().max(1000).nullable(),
  eventTypes: EventTypes,
  method: z.enum(['POST', 'PUT', 'PATCH']),
  headers: z.record(z.string(), z.string().max(4096)),
  retryJitter: z.number().min(0).lt(1),
};

export const CreateWebhookInput = z.strictObject({
  id: z.string().regex(/^wh_[A-Za-z0-9_-]{1,60}$/, 'must look like wh_<letters, digits, _ or ->').optional(),
  tenantId: TenantId.optional(),
  url: Mutable.url,
  description: Mutable.description.optional(),
  eventTypes: EventTypes.default(['*']),
  secret: z.string().optional(),
  signatureScheme: z.enum(['standard', 'objectstack']).default('standard'),
  method: Mutable.method.default('POST'),
  headers: Mutable.headers.default({}),
  ...InheritablePolicy,
  retryJitter: Mutable.retryJitter.default(DEFAULT_RETRY_JITTER),
});
export type CreateWebhookInput = z.input<typeof CreateWebhookInput>;

export const UpdateWebhookInput = z.strictObject({
  url: Mutable.url.optional(),
  description: Mutable.description.optional(),
  eventTypes: Mutable.eventTypes.optional(),
  method: Mutable.method.optional(),
  headers: Mutable.headers.optional(),
  ...InheritablePolicy,
  retryJitter: Mutable.retryJitter.optional(),
});
export type UpdateWebhookInput = z.input<typeof UpdateWebhookInput>;

// Strict, so a misspelt option (`grace`) is refused instead of rotating with the default 24 h grace.
const RotateSecretOptions = z.strictObject({ graceSeconds: z.unknown().optional(), secret: z.string().optional() });
export type RotateSecretOptions = { graceSeconds?: number; secret?: string };

/** The URL policy that depends on configuration. */
export interface UrlPolicy {
  /** Refuse http:// URLs (HERALD_HTTPS_ONLY). */
  httpsOnly: boolean;
}

function validateWebhookUrl(raw: string, { httpsOnly }: UrlPolicy): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ValidationError('url', 'is not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ValidationError('url', `scheme must be http or https, got ${url.protocol.replace(':', '')}`);
  if (httpsOnly && url.protocol !== 'https:') throw new ValidationError('url', 'must be https (HERALD_HTTPS_ONLY is set)');
  if (url.username || url.password) throw new ValidationError('url', 'must not carry credentials; use custom headers');
  return url.toString();
}

function validateHeaders(headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name)) throw new ValidationError(`headers.${name}`, 'is not a valid header name');
    if (isProtectedHeaderName(name)) throw new ValidationError(`headers.${name}`, 'is set by Herald and cannot be overridden');
    if (/[\r\n\0]/.test(value)) throw new ValidationError(`headers.${name}`, 'value must not contain CR, LF or NUL');
  }
}

function validateSchedule(schedule: readonly number[]): void {
  try {
    validateRetrySchedule(schedule);
  } catch (err) {
    throw new ValidationError('retrySchedule', (err as Error & { reason?: string }).reason ?? (err as Error).message.replace(/^retrySchedule:?\s*/, ''));
  }
}

/** A secret the scheme can sign with: Standard Webhooks' `whsec_` format, or 16–256 characters for objectstack. */
export function checkSecret(scheme: SignatureScheme, secret: string): void {
  if (scheme === 'standard') {
    try {
      parseSecret(secret);
    } catch (err) {
      throw new ValidationError('secret', (err as Error).message);
    }
  } else if (secret.length < 16 || secret.length > 256) {
    throw new ValidationError('secret', 'must be 16–256 characters');
  }
}

export function newSecret(scheme: SignatureScheme): string {
  return scheme === 'standard' ? generateSecret() : randomBytes(32).toString('hex');
}

/** A create request as the registry stores it: defaults applied, tenant resolved, a secret chosen. */
export function parseNewWebhook(input: CreateWebhookInput, caller: UrlPolicy & { scope: string | undefined }): NewWebhook {
  const data = parseOrThrow(CreateWebhookInput, input);
  const tenantId = resolveTenant(caller.scope, data.tenantId);
  const url = validateWebhookUrl(data.url, caller);
  validateHeaders(data.headers);
  const policy: PolicySettings = {};
  for (const field of POLICY_FIELDS) {
    const value = data[field];
    if (value !== undefined && value !== INHERIT) (policy as Record<string, unknown>)[field] = value;
  }
  if (policy.retrySchedule !== undefined) validateSchedule(policy.retrySchedule);
  const secret = data.secret ?? newSecret(data.signatureScheme);
  checkSecret(data.signatureScheme, secret);
  return {
    ...(data.id !== undefined ? { id: data.id } : {}),
    tenantId,
    url,
    description: data.description ?? null,
    eventTypes: data.eventTypes,
    secret,
    signatureScheme: data.signatureScheme,
    method: data.method,
    headers: data.headers,
    retryJitter: data.retryJitter,
    policy,
  };
}

/** An update request as the registry applies it: only the fields given, each checked. */
export function parseWebhookPatch(patch: UpdateWebhookInput, policy: UrlPolicy): WebhookChanges {
  const data = parseOrThrow(UpdateWebhookInput, patch);
  if (data.url !== undefined) data.url = validateWebhookUrl(data.url, policy);
  if (data.headers !== undefined) validateHeaders(data.headers);
  if (data.retrySchedule !== undefined && data.retrySchedule !== INHERIT) validateSchedule(data.retrySchedule);
  return data;
}

/** A tenant policy as PUT stores it: every field checked by the webhook's rules; left out = not set. */
export function parseTenantPolicy(input: TenantPolicyInput): PolicySettings {
  const data = parseOrThrow(TenantPolicyInput, input ?? {});
  if (data.retrySchedule !== undefined) validateSchedule(data.retrySchedule);
  const policy: PolicySettings = {};
  for (const field of POLICY_FIELDS) if (data[field] !== undefined) (policy as Record<string, unknown>)[field] = data[field];
  return policy;
}

/** The grace period of a rotation, checked; the new secret is checked against the webhook's scheme later. */
export function parseRotation(options: RotateSecretOptions): { graceSeconds: number; secret: string | undefined } {
  parseOrThrow(RotateSecretOptions, options);
  const graceSeconds = options.graceSeconds ?? DEFAULT_ROTATION_GRACE_SECONDS;
  if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_ROTATION_GRACE_SECONDS) {
    throw new ValidationError('graceSeconds', `must be a whole number of seconds from 0 to ${MAX_ROTATION_GRACE_SECONDS} (7 days)`);
  }
  return { graceSeconds, secret: options.secret };
}
