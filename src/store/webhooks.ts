import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ValidationError, WebhookNotFoundError } from '../errors.js';
import { generateSecret, parseSecret } from '../signing/standard-webhooks.js';
import { isProtectedHeaderName } from '../signing/build-request.js';
import { DEFAULT_RETRY_JITTER, DEFAULT_RETRY_SCHEDULE_SECONDS, validateRetrySchedule } from '../activities/retry-schedule.js';
import type { DataEngine } from './data-engine.js';
import { heraldWebhooks } from './schema.js';

const WEBHOOKS = heraldWebhooks.name;

/**
 * The webhook records the delivery core resolves at send time. (The full registry — filters, encryption at
 * rest, rotation, tenants — grows from here.) Secrets are returned only by `createWebhook` and to the send
 * activity through `getWebhookForSending`.
 */
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
  /** Secrets that sign right now (newest first). */
  secrets: string[];
}

export const DEFAULT_TIMEOUT_MS = 15_000;
export const MIN_TIMEOUT_MS = 1_000;
export const MAX_TIMEOUT_MS = 300_000;

const EVENT_TYPE = /^(\*|[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*(\.\*)?)$/;

export const CreateWebhookInput = z.object({
  id: z.string().regex(/^wh_[A-Za-z0-9_-]{1,60}$/, 'must look like wh_<letters, digits, _ or ->').optional(),
  tenantId: z.string().min(1).max(128).regex(/^[A-Za-z0-9_.:-]+$/, 'may hold only letters, digits and _ . : -').default('default'),
  url: z.string().max(2048),
  description: z.string().max(1000).optional(),
  eventTypes: z.array(z.string().max(128).regex(EVENT_TYPE, 'must be dot-separated [a-zA-Z0-9_-] names, a prefix.* wildcard or *')).min(1).max(100).default(['*']),
  secret: z.string().optional(),
  signatureScheme: z.enum(['standard', 'objectstack']).default('standard'),
  method: z.enum(['POST', 'PUT', 'PATCH']).default('POST'),
  headers: z.record(z.string(), z.string().max(4096)).default({}),
  timeoutMs: z.number().int().min(MIN_TIMEOUT_MS).max(MAX_TIMEOUT_MS).default(DEFAULT_TIMEOUT_MS),
  retrySchedule: z.array(z.number()).optional(),
  retryJitter: z.number().min(0).lt(1).default(DEFAULT_RETRY_JITTER),
});
export type CreateWebhookInput = z.input<typeof CreateWebhookInput>;

/** Throws a ValidationError naming the first bad field. */
export function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown, prefix = ''): z.output<T> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = prefix + (issue.path.length ? issue.path.join('.') : '(input)');
    throw new ValidationError(field, issue.message);
  }
  return parsed.data;
}

export function validateWebhookUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ValidationError('url', 'is not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ValidationError('url', `scheme must be http or https, got ${url.protocol.replace(':', '')}`);
  if (url.username || url.password) throw new ValidationError('url', 'must not carry credentials; use custom headers');
  return url.toString();
}

export async function createWebhook(engine: DataEngine, input: CreateWebhookInput, now = Date.now()): Promise<{ webhook: Webhook; secret: string }> {
  const data = parseOrThrow(CreateWebhookInput, input);
  const url = validateWebhookUrl(data.url);
  for (const name of Object.keys(data.headers)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new ValidationError(`headers.${name}`, 'is not a valid header name');
    if (isProtectedHeaderName(name)) throw new ValidationError(`headers.${name}`, 'is set by Herald and cannot be overridden');
  }
  const retrySchedule = data.retrySchedule ?? [...DEFAULT_RETRY_SCHEDULE_SECONDS];
  try {
    validateRetrySchedule(retrySchedule);
  } catch (err) {
    throw new ValidationError('retrySchedule', (err as Error).message.replace(/^retrySchedule:?\s*/, ''));
  }
  let secret: string;
  if (data.secret === undefined) {
    secret = data.signatureScheme === 'standard' ? generateSecret() : randomBytes(32).toString('hex');
  } else if (data.signatureScheme === 'standard') {
    try {
      parseSecret(data.secret);
    } catch (err) {
      throw new ValidationError('secret', (err as Error).message);
    }
    secret = data.secret;
  } else {
    if (data.secret.length < 16) throw new ValidationError('secret', 'must be at least 16 characters');
    secret = data.secret;
  }
  const id = data.id ?? `wh_${randomBytes(12).toString('base64url')}`;
  const row = {
    id,
    tenant_id: data.tenantId,
    url,
    description: data.description ?? null,
    event_types_json: JSON.stringify(data.eventTypes),
    active: true,
    disabled_reason: null,
    disabled_at: null,
    signature_scheme: data.signatureScheme,
    method: data.method,
    headers_json: JSON.stringify(data.headers),
    secrets_json: JSON.stringify([{ secret, expiresAt: null }]),
    timeout_ms: data.timeoutMs,
    retry_schedule_json: JSON.stringify(retrySchedule),
    retry_jitter: data.retryJitter,
    deleted_at: null,
    created_at: now,
    updated_at: now,
  };
  await engine.insert(WEBHOOKS, row);
  return { webhook: toWebhook(row), secret };
}

type WebhookRow = Record<string, unknown>;

function toWebhook(row: WebhookRow): Webhook {
  const headers = JSON.parse(String(row.headers_json ?? '{}')) as Record<string, string>;
  return {
    id: String(row.id),
    tenantId: String(row.tenant_id),
    url: String(row.url),
    description: (row.description as string | null) ?? null,
    eventTypes: JSON.parse(String(row.event_types_json)) as string[],
    active: Boolean(row.active),
    disabledReason: (row.disabled_reason as string | null) ?? null,
    disabledAt: (row.disabled_at as number | null) ?? null,
    signatureScheme: row.signature_scheme as SignatureScheme,
    method: String(row.method),
    headerNames: Object.keys(headers),
    timeoutMs: Number(row.timeout_ms),
    retrySchedule: row.retry_schedule_json ? (JSON.parse(String(row.retry_schedule_json)) as number[]) : [...DEFAULT_RETRY_SCHEDULE_SECONDS],
    retryJitter: Number(row.retry_jitter),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** A live (not deleted) webhook, optionally scoped to a tenant; undefined when there is none. */
export async function findWebhook(engine: DataEngine, id: string, tenantId?: string): Promise<Webhook | undefined> {
  const row = await engine.findOne(WEBHOOKS, { where: { id, deleted_at: null, ...(tenantId ? { tenant_id: tenantId } : {}) } });
  return row ? toWebhook(row) : undefined;
}

export async function getWebhook(engine: DataEngine, id: string, tenantId?: string): Promise<Webhook> {
  const webhook = await findWebhook(engine, id, tenantId);
  if (!webhook) throw new WebhookNotFoundError(id);
  return webhook;
}

/** For the send activity only: the webhook with its headers and currently valid secrets. */
export async function findWebhookForSending(engine: DataEngine, id: string, now = Date.now()): Promise<WebhookForSending | undefined> {
  const row = await engine.findOne(WEBHOOKS, { where: { id, deleted_at: null } });
  if (!row) return undefined;
  const secrets = (JSON.parse(String(row.secrets_json)) as { secret: string; expiresAt: number | null }[])
    .filter((s) => s.expiresAt === null || s.expiresAt > now)
    .map((s) => s.secret);
  return { ...toWebhook(row), headers: JSON.parse(String(row.headers_json ?? '{}')) as Record<string, string>, secrets };
}

export async function disableWebhook(engine: DataEngine, id: string, reason: string, now = Date.now()): Promise<void> {
  await engine.update(WEBHOOKS, { active: false, disabled_reason: reason, disabled_at: now, updated_at: now }, { where: { id, active: true }, multi: false });
}

export async function enableWebhook(engine: DataEngine, id: string, now = Date.now()): Promise<void> {
  await engine.update(WEBHOOKS, { active: true, disabled_reason: null, disabled_at: null, updated_at: now }, { where: { id }, multi: false });
}

/** Soft delete: deliveries keep pointing at the row, but nothing can be sent or redelivered to it. */
export async function deleteWebhook(engine: DataEngine, id: string, tenantId?: string, now = Date.now()): Promise<void> {
  const changed = await engine.update(
    WEBHOOKS,
    { deleted_at: now, active: false, updated_at: now },
    { where: { id, deleted_at: null, ...(tenantId ? { tenant_id: tenantId } : {}) }, multi: false },
  );
  if (!changed) throw new WebhookNotFoundError(id);
}
