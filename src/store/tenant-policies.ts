import { DEFAULT_RETRY_SCHEDULE_SECONDS } from '../delivery/retry-schedule.js';
import { UniqueViolationError, type DataEngine } from './data-engine.js';
import { heraldTenantPolicies, type TenantPolicyRow } from './schema.js';

/**
 * Endpoint policy: how deliveries to an endpoint are retried, timed out, rate limited, limited in
 * concurrency, broken and disabled. Each field resolves webhook → its tenant's policy → Herald's default:
 * a webhook (or tenant) that does not set a field inherits it. This module stores tenant policies
 * (`herald_tenant_policies`) and resolves effective values; it checks nothing (the client validates, with
 * the webhook's validators).
 *
 * Representation, the same in the API and the store: a field absent (SQL NULL) is not set, i.e. inherited.
 * `rateLimitPerSecond: null` is set, to "unlimited" (stored as 0, since NULL already means "inherit").
 */
const POLICIES = heraldTenantPolicies.name;

export const POLICY_FIELDS = ['retrySchedule', 'timeoutMs', 'rateLimitPerSecond', 'maxConcurrency', 'breakerThreshold', 'disableAfterDays'] as const;
export type PolicyField = (typeof POLICY_FIELDS)[number];

/** Every policy field with its effective value. */
export interface EndpointPolicy {
  /** Seconds before each retry (src/delivery/retry-schedule.ts). */
  retrySchedule: number[];
  /** Per-attempt HTTP timeout. */
  timeoutMs: number;
  /** Requests per second to the endpoint across all workers; null = unlimited. */
  rateLimitPerSecond: number | null;
  /** Requests in flight to the endpoint across all workers. */
  maxConcurrency: number;
  /** Consecutive failed attempts across the endpoint's deliveries that open its breaker. */
  breakerThreshold: number;
  /** An endpoint failing without a single success this long is disabled. */
  disableAfterDays: number;
}

/** The fields a webhook or tenant sets itself; an absent one is inherited. */
export type PolicySettings = Partial<EndpointPolicy>;

/** What applies where neither the webhook nor its tenant sets a field. */
export const HERALD_DEFAULT_POLICY: Readonly<EndpointPolicy> = Object.freeze({
  retrySchedule: [...DEFAULT_RETRY_SCHEDULE_SECONDS],
  timeoutMs: 15_000,
  rateLimitPerSecond: null,
  maxConcurrency: 20,
  breakerThreshold: 10,
  disableAfterDays: 5,
});

/**
 * How long a process reuses a tenant policy it read (it is read on every attempt): another process's PUT is
 * seen within this; a PUT in this process at once (it clears the entry).
 */
export const TENANT_POLICY_CACHE_TTL_MS = 5_000;

/** The policy columns as both tables hold them (the webhook table names its timeout column differently). */
export interface PolicyColumns {
  retry_schedule_json: string | null;
  timeout_ms: number | null;
  rate_limit_per_second: number | null;
  max_concurrency: number | null;
  breaker_threshold: number | null;
  disable_after_days: number | null;
}

/** Stored 0: "unlimited", set explicitly (NULL is "not set"). */
const UNLIMITED_RATE = 0;

export function settingsFromColumns(c: PolicyColumns): PolicySettings {
  const s: PolicySettings = {};
  if (c.retry_schedule_json !== null) s.retrySchedule = JSON.parse(c.retry_schedule_json) as number[];
  if (c.timeout_ms !== null) s.timeoutMs = c.timeout_ms;
  if (c.rate_limit_per_second !== null) s.rateLimitPerSecond = c.rate_limit_per_second === UNLIMITED_RATE ? null : c.rate_limit_per_second;
  if (c.max_concurrency !== null) s.maxConcurrency = c.max_concurrency;
  if (c.breaker_threshold !== null) s.breakerThreshold = c.breaker_threshold;
  if (c.disable_after_days !== null) s.disableAfterDays = c.disable_after_days;
  return s;
}

/** The column value of one field's setting; `undefined` (not set) is NULL. */
export function columnValue(field: PolicyField, value: PolicySettings[PolicyField] | undefined): string | number | null {
  if (value === undefined) return null;
  if (field === 'retrySchedule') return JSON.stringify(value);
  if (field === 'rateLimitPerSecond') return value === null ? UNLIMITED_RATE : (value as number);
  return value as number;
}

const COLUMN_OF: Record<PolicyField, keyof PolicyColumns> = {
  retrySchedule: 'retry_schedule_json',
  timeoutMs: 'timeout_ms',
  rateLimitPerSecond: 'rate_limit_per_second',
  maxConcurrency: 'max_concurrency',
  breakerThreshold: 'breaker_threshold',
  disableAfterDays: 'disable_after_days',
};

export function columnsFromSettings(s: PolicySettings): PolicyColumns {
  const c = {} as Record<keyof PolicyColumns, string | number | null>;
  for (const field of POLICY_FIELDS) c[COLUMN_OF[field]] = columnValue(field, s[field]);
  return c as unknown as PolicyColumns;
}

/** Effective values: the webhook's own, else the tenant's, else Herald's; `inherited` lists the fields not its own. */
export function resolvePolicy(own: PolicySettings, tenant: PolicySettings): { policy: EndpointPolicy; inherited: PolicyField[] } {
  const policy = {} as Record<PolicyField, unknown>;
  const inherited: PolicyField[] = [];
  for (const field of POLICY_FIELDS) {
    if (own[field] !== undefined) policy[field] = own[field];
    else {
      inherited.push(field);
      policy[field] = tenant[field] !== undefined ? tenant[field] : HERALD_DEFAULT_POLICY[field];
    }
  }
  const resolved = policy as unknown as EndpointPolicy;
  return { policy: { ...resolved, retrySchedule: [...resolved.retrySchedule] }, inherited };
}

export interface TenantPolicy {
  tenantId: string;
  /** What the tenant sets; absent fields are Herald's defaults. */
  settings: PolicySettings;
  /** What its webhooks inherit: the settings over Herald's defaults. */
  effective: EndpointPolicy;
  /** null while the tenant has never set a policy. */
  updatedAt: number | null;
}

function toTenantPolicy(tenantId: string, row: TenantPolicyRow | null | undefined): TenantPolicy {
  const settings = row ? settingsFromColumns(row) : {};
  return { tenantId, settings, effective: resolvePolicy({}, settings).policy, updatedAt: row?.updated_at ?? null };
}

/** The tenant's policy, read now (not cached); every tenant has one, empty until set. */
export async function getTenantPolicy(engine: DataEngine, tenantId: string): Promise<TenantPolicy> {
  const row = await engine.findOne<TenantPolicyRow>(POLICIES, { where: { id: tenantId } });
  return toTenantPolicy(tenantId, row);
}

/** Replaces the tenant's policy with `settings` (validated by the caller): fields left out are unset. */
export async function putTenantPolicy(engine: DataEngine, tenantId: string, settings: PolicySettings, now: number): Promise<TenantPolicy> {
  const columns = columnsFromSettings(settings);
  forget(engine, tenantId);
  for (let tries = 0; ; tries++) {
    const existing = await engine.findOne<TenantPolicyRow>(POLICIES, { where: { id: tenantId } });
    if (existing) {
      await engine.update(POLICIES, { ...columns, updated_at: now }, { where: { id: tenantId }, multi: false });
      forget(engine, tenantId);
      return toTenantPolicy(tenantId, { ...existing, ...columns, updated_at: now });
    }
    try {
      const row: TenantPolicyRow = { id: tenantId, ...columns, created_at: now, updated_at: now };
      await engine.insert(POLICIES, row);
      forget(engine, tenantId);
      return toTenantPolicy(tenantId, row);
    } catch (err) {
      // A concurrent first PUT inserted it: update that row instead.
      if (!(err instanceof UniqueViolationError) || tries > 0) throw err;
    }
  }
}

// ── the per-process cache ──────────────────────────────────────────────────────────────────────────────

interface CacheEntry {
  settings: Promise<PolicySettings>;
  expiresAt: number;
}

const caches = new WeakMap<DataEngine, Map<string, CacheEntry>>();

function cacheOf(engine: DataEngine): Map<string, CacheEntry> {
  let cache = caches.get(engine);
  if (!cache) caches.set(engine, (cache = new Map()));
  return cache;
}

function forget(engine: DataEngine, tenantId: string): void {
  caches.get(engine)?.delete(tenantId);
}

/**
 * What the tenant sets, read at most once per TENANT_POLICY_CACHE_TTL_MS per process (concurrent readers
 * share one read; a failed read is not kept).
 */
export function cachedTenantSettings(engine: DataEngine, tenantId: string, now: number = Date.now()): Promise<PolicySettings> {
  const cache = cacheOf(engine);
  const hit = cache.get(tenantId);
  if (hit && hit.expiresAt > now) return hit.settings;
  const settings = getTenantPolicy(engine, tenantId).then((p) => p.settings);
  const entry = { settings, expiresAt: now + TENANT_POLICY_CACHE_TTL_MS };
  cache.set(tenantId, entry);
  settings.catch(() => {
    if (cache.get(tenantId) === entry) cache.delete(tenantId);
  });
  return settings;
}
