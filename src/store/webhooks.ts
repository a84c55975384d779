import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { DEFAULT_RETRY_JITTER, DEFAULT_RETRY_SCHEDULE_SECONDS, validateRetrySchedule } from '../delivery/retry-schedule.js';
import { ForbiddenError, ValidationError, WebhookNotFoundError } from '../errors.js';
import { isProtectedHeaderName } from '../signing/build-request.js';
import { generateSecret, parseSecret } from '../signing/standard-webhooks.js';
import type { DataEngine } from './data-engine.js';
import { EVENT_TYPE_FILTER_PATTERN, MAX_EVENT_TYPE_LENGTH } from './event-type-filter.js';
import { newestFirstPage } from './cursor.js';
import { indexSubscriptions, removeSubscriptions } from './subscriptions.js';
import { heraldWebhooks, type WebhookRow } from './schema.js';
import type { SecretBox } from './secret-box.js';

/**
 * The webhook registry. Secrets and custom headers are sealed at rest (AES-256-GCM): reads return neither,
 * `create` and `rotateSecret` return the new secret once, and only the send activity opens them
 * (`findWebhookForSending`). Every read and write can be scoped to a tenant.
 */
const WEBHOOKS = heraldWebhooks.name;

export type SignatureScheme = 'standard' | 'objectstack';

export interface Webhook {
  id: string;
  tenantId: string;
  url: string;
  description: string | null;
  eventTypes: string[];
  active: boolean;
  disabledReason: string | null;
  disabledAt: number | null;
  signatureScheme: SignatureScheme;
  method: string;
  /** Custom header names only; values are credentials as often as not. */
  headerNames: string[];
  timeoutMs: number;
  retrySchedule: number[];
  retryJitter: number;
  createdAt: number;
  updatedAt: number;
}

export interface WebhookForSending extends Webhook {
  headers: Record<string, string>;
  /** Secrets that sign right now, newest first. */
  secrets: string[];
}

interface SealedSecret {
  secret: string;
  /** Epoch ms after which the secret no longer signs; null for the current one. */
  expiresAt: number | null;
}

/** What the registry needs: the engine, the key that seals credentials, the clock. */
export interface RegistryDeps {
  engine: DataEngine;
  box: SecretBox;
  clock: () => number;
  /** Refuse http:// URLs (HERALD_HTTPS_ONLY). */
  httpsOnly?: boolean;
}

export const DEFAULT_TIMEOUT_MS = 15_000;
export const MIN_TIMEOUT_MS = 1_000;
export const MAX_TIMEOUT_MS = 300_000;
export const DEFAULT_ROTATION_GRACE_SECONDS = 24 * 60 * 60;
export const MAX_ROTATION_GRACE_SECONDS = 7 * 24 * 60 * 60;
export const MAX_WEBHOOK_LIST_LIMIT = 500;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
export const TENANT_ID_PATTERN = /^[A-Za-z0-9_.:-]+$/;

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
  timeoutMs: z.number().int().min(MIN_TIMEOUT_MS).max(MAX_TIMEOUT_MS),
  retrySchedule: z.array(z.number()),
  retryJitter: z.number().min(0).lt(1),
};

export const CreateWebhookInput = z.strictObject({
  id: z.string().regex(/^wh_[A-Za-z0-9_-]{1,60}$/, 'must look like wh_<letters, digits, _ or ->').optional(),
  tenantId: z.string().min(1).max(128).regex(TENANT_ID_PATTERN, 'may hold only letters, digits and _ . : -').optional(),
  url: Mutable.url,
  description: Mutable.description.optional(),
  eventTypes: EventTypes.default(['*']),
  secret: z.string().optional(),
  signatureScheme: z.enum(['standard', 'objectstack']).default('standard'),
  method: Mutable.method.default('POST'),
  headers: Mutable.headers.default({}),
  timeoutMs: Mutable.timeoutMs.default(DEFAULT_TIMEOUT_MS),
  retrySchedule: Mutable.retrySchedule.optional(),
  retryJitter: Mutable.retryJitter.default(DEFAULT_RETRY_JITTER),
});
export type CreateWebhookInput = z.input<typeof CreateWebhookInput>;

export const UpdateWebhookInput = z.strictObject({
  url: Mutable.url.optional(),
  description: Mutable.description.optional(),
  eventTypes: Mutable.eventTypes.optional(),
  method: Mutable.method.optional(),
  headers: Mutable.headers.optional(),
  timeoutMs: Mutable.timeoutMs.optional(),
  retrySchedule: Mutable.retrySchedule.optional(),
  retryJitter: Mutable.retryJitter.optional(),
});
export type UpdateWebhookInput = z.input<typeof UpdateWebhookInput>;

/** Throws a ValidationError naming the first bad field. */
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

export function validateWebhookUrl(raw: string, httpsOnly = false): string {
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

function validateSchedule(schedule: number[]): void {
  try {
    validateRetrySchedule(schedule);
  } catch (err) {
    throw new ValidationError('retrySchedule', (err as Error & { reason?: string }).reason ?? (err as Error).message.replace(/^retrySchedule:?\s*/, ''));
  }
}

function checkSecret(scheme: SignatureScheme, secret: string): void {
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

function newSecret(scheme: SignatureScheme): string {
  return scheme === 'standard' ? generateSecret() : randomBytes(32).toString('hex');
}

function sealSecrets(box: SecretBox, id: string, secrets: SealedSecret[]): string {
  return box.seal(JSON.stringify(secrets), `${id}:secrets`);
}

function openSecrets(box: SecretBox, row: WebhookRow): SealedSecret[] {
  return JSON.parse(box.open(row.secrets_sealed, `${row.id}:secrets`)) as SealedSecret[];
}

function sealHeaders(box: SecretBox, id: string, headers: Record<string, string>): string | null {
  return Object.keys(headers).length ? box.seal(JSON.stringify(headers), `${id}:headers`) : null;
}

function openHeaders(box: SecretBox, row: WebhookRow): Record<string, string> {
  return row.headers_sealed ? (JSON.parse(box.open(row.headers_sealed, `${row.id}:headers`)) as Record<string, string>) : {};
}

/** Header names are kept readable beside the sealed values, so reads can list them without the key. */
function toWebhook(row: WebhookRow, headerNames: string[]): Webhook {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    url: row.url,
    description: row.description,
    eventTypes: JSON.parse(row.event_types_json) as string[],
    active: row.active,
    disabledReason: row.disabled_reason,
    disabledAt: row.disabled_at,
    signatureScheme: row.signature_scheme,
    method: row.method,
    headerNames,
    timeoutMs: row.timeout_ms,
    retrySchedule: row.retry_schedule_json ? (JSON.parse(row.retry_schedule_json) as number[]) : [...DEFAULT_RETRY_SCHEDULE_SECONDS],
    retryJitter: row.retry_jitter,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function rowToWebhook(row: WebhookRow): Webhook {
  return toWebhook(row, row.header_names_json ? (JSON.parse(row.header_names_json) as string[]) : []);
}

/** Resolves the tenant a write goes to: a scoped caller's own, or (admin) the one asked for, or 'default'. */
export function resolveTenant(scope: string | undefined, requested: string | undefined, field = 'tenantId'): string {
  if (scope !== undefined) {
    if (requested !== undefined && requested !== scope) throw new ForbiddenError(`${field}: this caller may only act for tenant ${scope}`, field);
    return scope;
  }
  return requested ?? 'default';
}

export async function createWebhook(deps: RegistryDeps, input: CreateWebhookInput, scope?: string): Promise<{ webhook: Webhook; secret: string }> {
  const data = parseOrThrow(CreateWebhookInput, input);
  const tenantId = resolveTenant(scope, data.tenantId);
  const url = validateWebhookUrl(data.url, deps.httpsOnly);
  validateHeaders(data.headers);
  const retrySchedule = data.retrySchedule ?? [...DEFAULT_RETRY_SCHEDULE_SECONDS];
  validateSchedule(retrySchedule);
  const secret = data.secret ?? newSecret(data.signatureScheme);
  checkSecret(data.signatureScheme, secret);
  const id = data.id ?? `wh_${randomBytes(12).toString('base64url')}`;
  const now = deps.clock();
  const row: WebhookRow = {
    id,
    tenant_id: tenantId,
    url,
    description: data.description ?? null,
    event_types_json: JSON.stringify(data.eventTypes),
    active: true,
    disabled_reason: null,
    disabled_at: null,
    signature_scheme: data.signatureScheme,
    method: data.method,
    header_names_json: JSON.stringify(Object.keys(data.headers)),
    headers_sealed: sealHeaders(deps.box, id, data.headers),
    secrets_sealed: sealSecrets(deps.box, id, [{ secret, expiresAt: null }]),
    timeout_ms: data.timeoutMs,
    retry_schedule_json: JSON.stringify(retrySchedule),
    retry_jitter: data.retryJitter,
    deleted_at: null,
    created_at: now,
    updated_at: now,
  };
  await deps.engine.insert(WEBHOOKS, row);
  const webhook = rowToWebhook(row);
  await indexSubscriptions(deps.engine, webhook);
  return { webhook, secret };
}

/** A live (not deleted) webhook, optionally scoped to a tenant; undefined when there is none. */
export async function findWebhook(engine: DataEngine, id: string, tenantId?: string): Promise<Webhook | undefined> {
  const row = await engine.findOne<WebhookRow>(WEBHOOKS, { where: { id, deleted_at: null, ...(tenantId !== undefined ? { tenant_id: tenantId } : {}) } });
  return row ? rowToWebhook(row) : undefined;
}

export async function getWebhook(engine: DataEngine, id: string, tenantId?: string): Promise<Webhook> {
  const webhook = await findWebhook(engine, id, tenantId);
  if (!webhook) throw new WebhookNotFoundError(id);
  return webhook;
}

/** Newest first, paged by an opaque cursor. */
export async function listWebhooks(
  engine: DataEngine,
  filter: { tenantId?: string; active?: boolean; limit?: number; cursor?: string } = {},
): Promise<{ items: Webhook[]; nextCursor: string | null }> {
  const and: Record<string, unknown>[] = [{ deleted_at: null }];
  if (filter.tenantId !== undefined) and.push({ tenant_id: filter.tenantId });
  if (filter.active !== undefined) and.push({ active: filter.active });
  return newestFirstPage(engine, WEBHOOKS, { and, limit: filter.limit, cursor: filter.cursor, maxLimit: MAX_WEBHOOK_LIST_LIMIT }, rowToWebhook);
}

/**
 * One page of a tenant's live webhooks (active or not) that existed at `createdAtOrBefore`, in id order,
 * for the fan-out's walk.
 */
export async function listWebhookPage(
  engine: DataEngine,
  page: { tenantId: string; createdAtOrBefore: number; afterId: string | null; limit: number },
): Promise<Webhook[]> {
  const rows = await engine.find<WebhookRow>(WEBHOOKS, {
    where: {
      tenant_id: page.tenantId,
      deleted_at: null,
      created_at: { $lte: page.createdAtOrBefore },
      ...(page.afterId !== null ? { id: { $gt: page.afterId } } : {}),
    },
    orderBy: [{ field: 'id', order: 'asc' }],
    limit: page.limit,
  });
  return rows.map(rowToWebhook);
}

export async function updateWebhook(deps: RegistryDeps, id: string, patch: UpdateWebhookInput, tenantId?: string): Promise<Webhook> {
  const data = parseOrThrow(UpdateWebhookInput, patch);
  const row = await deps.engine.findOne<WebhookRow>(WEBHOOKS, { where: { id, deleted_at: null, ...(tenantId !== undefined ? { tenant_id: tenantId } : {}) } });
  if (!row) throw new WebhookNotFoundError(id);
  const changes: Partial<WebhookRow> = { updated_at: deps.clock() };
  if (data.url !== undefined) changes.url = validateWebhookUrl(data.url, deps.httpsOnly);
  if (data.description !== undefined) changes.description = data.description;
  if (data.eventTypes !== undefined) changes.event_types_json = JSON.stringify(data.eventTypes);
  if (data.method !== undefined) changes.method = data.method;
  if (data.headers !== undefined) {
    validateHeaders(data.headers);
    changes.headers_sealed = sealHeaders(deps.box, id, data.headers);
    changes.header_names_json = JSON.stringify(Object.keys(data.headers));
  }
  if (data.timeoutMs !== undefined) changes.timeout_ms = data.timeoutMs;
  if (data.retrySchedule !== undefined) {
    validateSchedule(data.retrySchedule);
    changes.retry_schedule_json = JSON.stringify(data.retrySchedule);
  }
  if (data.retryJitter !== undefined) changes.retry_jitter = data.retryJitter;
  await deps.engine.update(WEBHOOKS, changes, { where: { id, deleted_at: null }, multi: false });
  const webhook = rowToWebhook({ ...row, ...changes });
  if (data.eventTypes !== undefined) await indexSubscriptions(deps.engine, webhook);
  return webhook;
}

// Strict, so a misspelt option (`grace`) is refused instead of rotating with the default 24 h grace.
const RotateSecretOptions = z.strictObject({ graceSeconds: z.unknown().optional(), secret: z.string().optional() });

/**
 * Rotation: the new secret signs at once, and the previous ones keep signing too (several signatures in
 * `webhook-signature`) until `graceSeconds` have passed, so receivers can switch without losing a message.
 */
export async function rotateWebhookSecret(
  deps: RegistryDeps,
  id: string,
  options: { graceSeconds?: number; secret?: string } = {},
  tenantId?: string,
): Promise<{ webhook: Webhook; secret: string }> {
  parseOrThrow(RotateSecretOptions, options);
  const grace = options.graceSeconds ?? DEFAULT_ROTATION_GRACE_SECONDS;
  if (!Number.isInteger(grace) || grace < 0 || grace > MAX_ROTATION_GRACE_SECONDS) {
    throw new ValidationError('graceSeconds', `must be a whole number of seconds from 0 to ${MAX_ROTATION_GRACE_SECONDS} (7 days)`);
  }
  const row = await deps.engine.findOne<WebhookRow>(WEBHOOKS, { where: { id, deleted_at: null, ...(tenantId !== undefined ? { tenant_id: tenantId } : {}) } });
  if (!row) throw new WebhookNotFoundError(id);
  const secret = options.secret ?? newSecret(row.signature_scheme);
  checkSecret(row.signature_scheme, secret);
  const now = deps.clock();
  const expiresAt = now + grace * 1000;
  const kept = openSecrets(deps.box, row)
    .filter((s) => s.expiresAt === null || s.expiresAt > now)
    .map((s) => ({ secret: s.secret, expiresAt: s.expiresAt === null ? expiresAt : Math.min(s.expiresAt, expiresAt) }))
    .filter((s) => s.expiresAt > now);
  const secrets: SealedSecret[] = [{ secret, expiresAt: null }, ...kept];
  const changes = { secrets_sealed: sealSecrets(deps.box, id, secrets), updated_at: now };
  await deps.engine.update(WEBHOOKS, changes, { where: { id, deleted_at: null }, multi: false });
  return { webhook: rowToWebhook({ ...row, ...changes }), secret };
}

/** For the send activity only: the webhook with its custom headers and the secrets that sign now. */
export async function findWebhookForSending(deps: Pick<RegistryDeps, 'engine' | 'box'>, id: string, now: number): Promise<WebhookForSending | undefined> {
  const row = await deps.engine.findOne<WebhookRow>(WEBHOOKS, { where: { id, deleted_at: null } });
  if (!row) return undefined;
  const secrets = openSecrets(deps.box, row)
    .filter((s) => s.expiresAt === null || s.expiresAt > now)
    .map((s) => s.secret);
  return { ...rowToWebhook(row), headers: openHeaders(deps.box, row), secrets };
}

/** Stops new deliveries; returns false when it was already disabled (or is gone). */
export async function disableWebhook(engine: DataEngine, id: string, reason: string, now: number, tenantId?: string): Promise<boolean> {
  const changed = await engine.update(
    WEBHOOKS,
    { active: false, disabled_reason: reason, disabled_at: now, updated_at: now },
    { where: { id, active: true, deleted_at: null, ...(tenantId !== undefined ? { tenant_id: tenantId } : {}) }, multi: false },
  );
  return changed > 0;
}

export async function enableWebhook(engine: DataEngine, id: string, now: number, tenantId?: string): Promise<boolean> {
  const changed = await engine.update(
    WEBHOOKS,
    { active: true, disabled_reason: null, disabled_at: null, updated_at: now },
    { where: { id, active: false, deleted_at: null, ...(tenantId !== undefined ? { tenant_id: tenantId } : {}) }, multi: false },
  );
  return changed > 0;
}

/** Soft delete: deliveries keep pointing at the row, but nothing can be sent or redelivered to it. */
export async function deleteWebhook(engine: DataEngine, id: string, now: number, tenantId?: string): Promise<void> {
  const changed = await engine.update(
    WEBHOOKS,
    { deleted_at: now, active: false, updated_at: now },
    { where: { id, deleted_at: null, ...(tenantId !== undefined ? { tenant_id: tenantId } : {}) }, multi: false },
  );
  if (!changed) throw new WebhookNotFoundError(id);
  await removeSubscriptions(engine, id);
}

/** The live webhooks among `ids` (active or not), in id order: publish's subscribers, found by the index. */
export async function findWebhooksByIds(engine: DataEngine, ids: readonly string[]): Promise<Webhook[]> {
  if (ids.length === 0) return [];
  const rows = await engine.find<WebhookRow>(WEBHOOKS, { where: { id: { $in: [...ids] }, deleted_at: null }, orderBy: [{ field: 'id', order: 'asc' }] });
  return rows.map(rowToWebhook);
}
