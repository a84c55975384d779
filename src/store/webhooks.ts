import { randomBytes } from 'node:crypto';
import { fromLegacyRetrySchedule } from '../delivery/retry-schedule.js';
import { WebhookNotFoundError } from '../errors.js';
import { newestFirstPage } from './cursor.js';
import type { DataEngine } from './data-engine.js';
import { indexSubscriptions, removeSubscriptions } from './subscriptions.js';
import { heraldWebhooks, type WebhookRow } from './schema.js';
import type { SecretBox } from './secret-box.js';
import {
  cachedTenantSettings,
  columnValue,
  HERALD_DEFAULT_POLICY,
  POLICY_FIELDS,
  resolvePolicy,
  settingsFromColumns,
  type EndpointPolicy,
  type PolicyField,
  type PolicySettings,
} from './tenant-policies.js';

/**
 * The webhook registry: it stores what the client has validated (src/client/webhook-validation.ts) and
 * checks nothing but existence. Secrets and custom headers are sealed at rest (AES-256-GCM): reads return
 * neither, and only the send activity opens them (`findWebhookForSending`). Every read and write can be
 * scoped to a tenant.
 *
 * Endpoint policy (retry schedule, timeout, rate limit, concurrency, breaker threshold, disable-after): a
 * webhook stores only the fields it sets; every read returns the EFFECTIVE value of each (webhook → tenant
 * policy → Herald's default, src/store/tenant-policies.ts) and lists the inherited ones, so the sending and
 * starting paths read `webhook.retrySchedule` etc. and never resolve anything themselves.
 */
const WEBHOOKS = heraldWebhooks.name;

export type SignatureScheme = 'standard' | 'objectstack';

/** A policy field's setting in a change: a value, or 'inherit' to stop setting it. */
export const INHERIT = 'inherit';
export type PolicyChange<K extends PolicyField> = EndpointPolicy[K] | typeof INHERIT;

export interface Webhook extends EndpointPolicy {
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
  retryJitter: number;
  /** The policy fields this webhook does not set: their values above come from its tenant or Herald's defaults. */
  inherited: PolicyField[];
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
}

/** A webhook to store, already validated, defaults applied and its tenant resolved. */
export interface NewWebhook {
  /** Generated when absent. */
  id?: string;
  tenantId: string;
  url: string;
  description: string | null;
  eventTypes: string[];
  secret: string;
  signatureScheme: SignatureScheme;
  method: string;
  headers: Record<string, string>;
  retryJitter: number;
  /** The policy the webhook sets itself; absent fields are inherited. */
  policy: PolicySettings;
}

/** Validated changes to a stored webhook; absent fields stay as they are, 'inherit' unsets a policy field. */
export type WebhookChanges = Partial<Pick<NewWebhook, 'url' | 'description' | 'eventTypes' | 'method' | 'headers' | 'retryJitter'>> & {
  [K in PolicyField]?: PolicyChange<K>;
};

export const MAX_WEBHOOK_LIST_LIMIT = 500;

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

/** The webhook table's policy column of each field (its timeout column is attempt_timeout_ms, see schema.ts). */
const WEBHOOK_POLICY_COLUMN: Record<PolicyField, keyof WebhookRow> = {
  retrySchedule: 'retry_schedule_json',
  timeoutMs: 'attempt_timeout_ms',
  rateLimitPerSecond: 'rate_limit_per_second',
  maxConcurrency: 'max_concurrency',
  breakerThreshold: 'breaker_threshold',
  disableAfterDays: 'disable_after_days',
};

/** The current row format (schema.ts, `settings_format`). */
export const WEBHOOK_SETTINGS_FORMAT = 2;

/**
 * The changes that bring a row written before endpoint policy (format 1) to format 2: its retry schedule
 * loses the old leading "delay before attempt 1", and its timeout moves to attempt_timeout_ms. Old rows keep
 * their values as their own (they were stored explicitly), so nothing they do changes. undefined: current.
 */
function formatUpgrade(row: WebhookRow): Partial<WebhookRow> | undefined {
  if (row.settings_format >= WEBHOOK_SETTINGS_FORMAT) return undefined;
  return {
    retry_schedule_json: row.retry_schedule_json === null ? null : JSON.stringify(fromLegacyRetrySchedule(JSON.parse(row.retry_schedule_json) as number[])),
    attempt_timeout_ms: row.timeout_ms,
    settings_format: WEBHOOK_SETTINGS_FORMAT,
  };
}

/** The row as format 2, whatever it was stored as (a row an older process wrote reads correctly before its conversion). */
function currentRow(row: WebhookRow): WebhookRow {
  const upgrade = formatUpgrade(row);
  return upgrade ? { ...row, ...upgrade } : row;
}

function ownPolicy(row: WebhookRow): PolicySettings {
  return settingsFromColumns({
    retry_schedule_json: row.retry_schedule_json,
    timeout_ms: row.attempt_timeout_ms,
    rate_limit_per_second: row.rate_limit_per_second,
    max_concurrency: row.max_concurrency,
    breaker_threshold: row.breaker_threshold,
    disable_after_days: row.disable_after_days,
  });
}

/** Header names are kept readable beside the sealed values, so reads can list them without the key. */
function toWebhook(stored: WebhookRow, tenantPolicy: PolicySettings): Webhook {
  const row = currentRow(stored);
  const { policy, inherited } = resolvePolicy(ownPolicy(row), tenantPolicy);
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
    headerNames: row.header_names_json ? (JSON.parse(row.header_names_json) as string[]) : [],
    retryJitter: row.retry_jitter,
    ...policy,
    inherited,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Where-clause of one live (not deleted) webhook, within `tenantId` when given. */
function liveWebhook(id: string, tenantId: string | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, deleted_at: null, ...extra, ...(tenantId !== undefined ? { tenant_id: tenantId } : {}) };
}

/** Rows → webhooks with effective policy: one (cached) tenant policy read per distinct tenant. */
async function rowsToWebhooks(engine: DataEngine, rows: readonly WebhookRow[]): Promise<Webhook[]> {
  const tenants = new Map<string, Promise<PolicySettings>>();
  for (const row of rows) if (!tenants.has(row.tenant_id)) tenants.set(row.tenant_id, cachedTenantSettings(engine, row.tenant_id));
  const settings = new Map<string, PolicySettings>();
  for (const [tenantId, read] of tenants) settings.set(tenantId, await read);
  return rows.map((row) => toWebhook(row, settings.get(row.tenant_id)!));
}

async function rowToWebhook(engine: DataEngine, row: WebhookRow): Promise<Webhook> {
  return toWebhook(row, await cachedTenantSettings(engine, row.tenant_id));
}

/** The columns of policy settings, as a write sets them (only the fields given). */
function policyColumns(changes: { [K in PolicyField]?: PolicyChange<K> }): Partial<WebhookRow> {
  const out: Record<string, unknown> = {};
  for (const field of POLICY_FIELDS) {
    const value = changes[field];
    if (value === undefined) continue;
    out[WEBHOOK_POLICY_COLUMN[field]] = value === INHERIT ? null : columnValue(field, value);
  }
  return out as Partial<WebhookRow>;
}

export async function createWebhook(deps: RegistryDeps, webhook: NewWebhook): Promise<Webhook> {
  const id = webhook.id ?? `wh_${randomBytes(12).toString('base64url')}`;
  const now = deps.clock();
  const row: WebhookRow = {
    id,
    tenant_id: webhook.tenantId,
    url: webhook.url,
    description: webhook.description,
    event_types_json: JSON.stringify(webhook.eventTypes),
    active: true,
    disabled_reason: null,
    disabled_at: null,
    signature_scheme: webhook.signatureScheme,
    method: webhook.method,
    header_names_json: JSON.stringify(Object.keys(webhook.headers)),
    headers_sealed: sealHeaders(deps.box, id, webhook.headers),
    secrets_sealed: sealSecrets(deps.box, id, [{ secret: webhook.secret, expiresAt: null }]),
    timeout_ms: HERALD_DEFAULT_POLICY.timeoutMs, // format 1's column, unused in format 2
    retry_schedule_json: null,
    attempt_timeout_ms: null,
    rate_limit_per_second: null,
    max_concurrency: null,
    breaker_threshold: null,
    disable_after_days: null,
    ...policyColumns(webhook.policy),
    settings_format: WEBHOOK_SETTINGS_FORMAT,
    retry_jitter: webhook.retryJitter,
    deleted_at: null,
    created_at: now,
    updated_at: now,
  };
  await deps.engine.insert(WEBHOOKS, row);
  const created = await rowToWebhook(deps.engine, row);
  await indexSubscriptions(deps.engine, created);
  return created;
}

/** A live (not deleted) webhook, optionally scoped to a tenant; undefined when there is none. */
export async function findWebhook(engine: DataEngine, id: string, tenantId?: string): Promise<Webhook | undefined> {
  const row = await engine.findOne<WebhookRow>(WEBHOOKS, { where: liveWebhook(id, tenantId) });
  return row ? await rowToWebhook(engine, row) : undefined;
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
  const page = await newestFirstPage(engine, WEBHOOKS, { and, limit: filter.limit, cursor: filter.cursor, maxLimit: MAX_WEBHOOK_LIST_LIMIT }, (row: WebhookRow) => ({ id: row.id, createdAt: row.created_at, row }));
  return { items: await rowsToWebhooks(engine, page.items.map((item) => item.row)), nextCursor: page.nextCursor };
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
  return rowsToWebhooks(engine, rows);
}

export async function updateWebhook(deps: RegistryDeps, id: string, data: WebhookChanges, tenantId?: string): Promise<Webhook> {
  const row = await deps.engine.findOne<WebhookRow>(WEBHOOKS, { where: liveWebhook(id, tenantId) });
  if (!row) throw new WebhookNotFoundError(id);
  // A format 1 row is converted in the same write, so a new-shape schedule never sits beside the old format.
  const changes: Partial<WebhookRow> = { ...formatUpgrade(row), updated_at: deps.clock() };
  if (data.url !== undefined) changes.url = data.url;
  if (data.description !== undefined) changes.description = data.description;
  if (data.eventTypes !== undefined) changes.event_types_json = JSON.stringify(data.eventTypes);
  if (data.method !== undefined) changes.method = data.method;
  if (data.headers !== undefined) {
    changes.headers_sealed = sealHeaders(deps.box, id, data.headers);
    changes.header_names_json = JSON.stringify(Object.keys(data.headers));
  }
  Object.assign(changes, policyColumns(data));
  if (data.retryJitter !== undefined) changes.retry_jitter = data.retryJitter;
  await deps.engine.update(WEBHOOKS, changes, { where: { id, deleted_at: null }, multi: false });
  const updated = await rowToWebhook(deps.engine, { ...row, ...changes });
  if (data.eventTypes !== undefined) await indexSubscriptions(deps.engine, updated);
  return updated;
}

/**
 * Rotation: the new secret signs at once, and the previous ones keep signing too (several signatures in
 * `webhook-signature`) until `graceSeconds` have passed, so receivers can switch without losing a message.
 */
export async function rotateWebhookSecret(deps: RegistryDeps, id: string, rotation: { secret: string; graceSeconds: number }, tenantId?: string): Promise<Webhook> {
  const row = await deps.engine.findOne<WebhookRow>(WEBHOOKS, { where: liveWebhook(id, tenantId) });
  if (!row) throw new WebhookNotFoundError(id);
  const now = deps.clock();
  const expiresAt = now + rotation.graceSeconds * 1000;
  const kept = openSecrets(deps.box, row)
    .filter((s) => s.expiresAt === null || s.expiresAt > now)
    .map((s) => ({ secret: s.secret, expiresAt: s.expiresAt === null ? expiresAt : Math.min(s.expiresAt, expiresAt) }))
    .filter((s) => s.expiresAt > now);
  const secrets: SealedSecret[] = [{ secret: rotation.secret, expiresAt: null }, ...kept];
  const changes = { secrets_sealed: sealSecrets(deps.box, id, secrets), updated_at: now };
  await deps.engine.update(WEBHOOKS, changes, { where: { id, deleted_at: null }, multi: false });
  return rowToWebhook(deps.engine, { ...row, ...changes });
}

/** For the send activity only: the webhook with its custom headers and the secrets that sign now. */
export async function findWebhookForSending(deps: Pick<RegistryDeps, 'engine' | 'box'>, id: string, now: number): Promise<WebhookForSending | undefined> {
  const row = await deps.engine.findOne<WebhookRow>(WEBHOOKS, { where: { id, deleted_at: null } });
  if (!row) return undefined;
  const secrets = openSecrets(deps.box, row)
    .filter((s) => s.expiresAt === null || s.expiresAt > now)
    .map((s) => s.secret);
  return { ...(await rowToWebhook(deps.engine, row)), headers: openHeaders(deps.box, row), secrets };
}

/** Stops new deliveries; returns false when it was already disabled (or is gone). */
export async function disableWebhook(engine: DataEngine, id: string, reason: string, now: number, tenantId?: string): Promise<boolean> {
  const changed = await engine.update(
    WEBHOOKS,
    { active: false, disabled_reason: reason, disabled_at: now, updated_at: now },
    { where: liveWebhook(id, tenantId, { active: true }), multi: false },
  );
  return changed > 0;
}

export async function enableWebhook(engine: DataEngine, id: string, now: number, tenantId?: string): Promise<boolean> {
  const changed = await engine.update(
    WEBHOOKS,
    { active: true, disabled_reason: null, disabled_at: null, updated_at: now },
    { where: liveWebhook(id, tenantId, { active: false }), multi: false },
  );
  return changed > 0;
}

/** Soft delete: deliveries keep pointing at the row, but nothing can be sent or redelivered to it. */
export async function deleteWebhook(engine: DataEngine, id: string, now: number, tenantId?: string): Promise<void> {
  const changed = await engine.update(
    WEBHOOKS,
    { deleted_at: now, active: false, updated_at: now },
    { where: liveWebhook(id, tenantId), multi: false },
  );
  if (!changed) throw new WebhookNotFoundError(id);
  await removeSubscriptions(engine, id);
}

/** The live webhooks among `ids` (active or not), in id order: publish's subscribers, found by the index. */
export async function findWebhooksByIds(engine: DataEngine, ids: readonly string[]): Promise<Webhook[]> {
  if (ids.length === 0) return [];
  const rows = await engine.find<WebhookRow>(WEBHOOKS, { where: { id: { $in: [...ids] }, deleted_at: null }, orderBy: [{ field: 'id', order: 'asc' }] });
  return rowsToWebhooks(engine, rows);
}

/**
 * Converts every row written before endpoint policy (settings_format 1) to format 2, once: a page at a time,
 * each row with a write conditional on its format, so concurrent or repeated runs convert each row once and
 * a finished run finds nothing. Runs at start (src/runtime/run-herald.ts, src/objectstack/attach-herald.ts);
 * reads convert a format 1 row on the fly until then. Returns how many rows this run converted.
 */
export async function convertLegacyWebhooks(engine: DataEngine, pageSize = 500): Promise<number> {
  let converted = 0;
  for (;;) {
    const rows = await engine.find<WebhookRow>(WEBHOOKS, { where: { settings_format: { $lt: WEBHOOK_SETTINGS_FORMAT } }, orderBy: [{ field: 'id', order: 'asc' }], limit: pageSize });
    for (const row of rows) {
      converted += await engine.update(WEBHOOKS, formatUpgrade(row)!, { where: { id: row.id, settings_format: row.settings_format }, multi: false });
    }
    if (rows.length < pageSize) return converted;
  }
}
