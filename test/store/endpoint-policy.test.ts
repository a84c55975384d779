import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNewWebhook } from '../../src/client/webhook-validation.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { MemoryEngine, MemoryStorage } from '../../src/store/memory-engine.js';
import { openEngine } from '../../src/store/open-engine.js';
import { HERALD_OBJECTS, heraldWebhooks, type ObjectDefinition, type WebhookRow } from '../../src/store/schema.js';
import { cachedTenantSettings, getTenantPolicy, HERALD_DEFAULT_POLICY, POLICY_FIELDS, putTenantPolicy, TENANT_POLICY_CACHE_TTL_MS } from '../../src/store/tenant-policies.js';
import {
  convertLegacyWebhooks,
  createWebhook,
  findWebhook,
  findWebhookForSending,
  findWebhooksByIds,
  listWebhookPage,
  listWebhooks,
  updateWebhook,
  type RegistryDeps,
} from '../../src/store/webhooks.js';
import { ObjectQLEngine } from '../../src/objectstack/objectql-engine.js';
import { bootObjectQL } from '../objectstack/objectql-support.js';
import { TEST_BOX, uniqueId } from '../support/deps.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';

/** herald_webhooks as it was before endpoint policy: what an old database holds. */
const WEBHOOKS_BEFORE_POLICY: ObjectDefinition = {
  ...heraldWebhooks,
  columns: heraldWebhooks.columns.filter(
    (c) => !['attempt_timeout_ms', 'rate_limit_per_second', 'max_concurrency', 'breaker_threshold', 'disable_after_days', 'settings_format'].includes(c.name),
  ),
};

// The registry's endpoint policy and the tenant policy store over each real engine (memory, a SQLite file,
// Postgres, and an ObjectStack app's ObjectQL engine over SQLite, whose adapter migrates differently): inheritance webhook → tenant → Herald, the "inherit"/"unlimited" representation, and the one-time
// conversion of webhooks stored in the old retry-schedule shape, from a database created by the old schema.
describe.each(['memory', 'sqlite', 'postgres', 'objectql'] as const)('endpoint policy (%s)', (kind) => {
  let dir: string;
  let postgres: TestPostgres | undefined;
  let memory: MemoryStorage;
  const apps: Awaited<ReturnType<typeof bootObjectQL>>[] = [];
  let engine: DataEngine;
  let deps: RegistryDeps;
  const opened: DataEngine[] = [];

  /** Another connection to the same database (another process, as far as caches go), with `objects`. */
  async function connect(objects: readonly ObjectDefinition[] = HERALD_OBJECTS): Promise<DataEngine> {
    let e: DataEngine;
    if (kind === 'memory' || kind === 'objectql') {
      // ObjectQL: each connection is its own app (as another process would be) over the same SQLite file.
      if (kind === 'objectql') apps.push(await bootObjectQL({ kind: 'sqlite', filename: path.join(dir, 'app.db') }));
      e = kind === 'memory' ? new MemoryEngine({ objects, storage: memory }) : new ObjectQLEngine(apps.at(-1)!, { objects });
      await e.migrate();
    } else {
      e = await openEngine(kind === 'sqlite' ? `sqlite:${path.join(dir, 'herald.db')}` : postgres!.url, { objects });
    }
    opened.push(e);
    return e;
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'herald-policy-'));
    memory = new MemoryStorage();
    if (kind === 'postgres') postgres = await startPostgres();
    // The old schema first, with a row of the old shape, as a database from before this change.
    const old = await connect([WEBHOOKS_BEFORE_POLICY]);
    const legacy = (id: string, overrides: Partial<WebhookRow>) => ({
      id,
      tenant_id: 'legacy',
      url: `https://example.test/${id}`,
      event_types_json: '["*"]',
      secrets_sealed: TEST_BOX.seal(JSON.stringify([{ secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', expiresAt: null }]), `${id}:secrets`),
      created_at: 1_700_000_000_000,
      updated_at: 1_700_000_000_000,
      ...overrides,
    });
    await old.insert(heraldWebhooks.name, legacy('wh_legacy_schedule', { retry_schedule_json: '[0,5,300]', timeout_ms: 5_000 }));
    await old.insert(heraldWebhooks.name, legacy('wh_legacy_default', { retry_schedule_json: null }));
    engine = await connect();
    deps = { engine, box: TEST_BOX, clock: Date.now };
  });
  afterAll(async () => {
    for (const e of opened) await e.close().catch(() => undefined);
    for (const app of apps) await app.destroy();
    await postgres?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const create = async (tenantId: string, input: Record<string, unknown> = {}) =>
    createWebhook(deps, parseNewWebhook({ url: 'https://example.test/hook', tenantId, ...input } as never, { httpsOnly: false, scope: undefined }));

  it('reads an old-shape row correctly before and after its one conversion, and converts each row once', async () => {
    // Before the conversion: read on the fly (the old leading 0 dropped), the values still the webhook's own.
    const before = await findWebhook(engine, 'wh_legacy_schedule');
    expect(before).toMatchObject({ retrySchedule: [5, 300], timeoutMs: 5_000 });
    expect(before!.inherited).toEqual(['rateLimitPerSecond', 'maxConcurrency', 'breakerThreshold', 'disableAfterDays']);
    const raw = await engine.findOne<WebhookRow>(heraldWebhooks.name, { where: { id: 'wh_legacy_schedule' } });
    expect(raw).toMatchObject({ settings_format: 1, retry_schedule_json: '[0,5,300]', attempt_timeout_ms: null });

    expect(await convertLegacyWebhooks(engine)).toBe(2);
    expect(await convertLegacyWebhooks(engine)).toBe(0);
    // Another process converting concurrently would find nothing left either.
    expect(await convertLegacyWebhooks(await connect())).toBe(0);

    const converted = await engine.findOne<WebhookRow>(heraldWebhooks.name, { where: { id: 'wh_legacy_schedule' } });
    expect(converted).toMatchObject({ settings_format: 2, retry_schedule_json: '[5,300]', attempt_timeout_ms: 5_000 });
    // Not dropped twice.
    expect(await findWebhook(engine, 'wh_legacy_schedule')).toMatchObject({ retrySchedule: [5, 300], timeoutMs: 5_000 });
    // An old row without a schedule had the default; it still does, now by inheritance.
    const byDefault = await findWebhook(engine, 'wh_legacy_default');
    expect(byDefault).toMatchObject({ retrySchedule: HERALD_DEFAULT_POLICY.retrySchedule, timeoutMs: 15_000 });
    expect(byDefault!.inherited).toEqual(['retrySchedule', 'rateLimitPerSecond', 'maxConcurrency', 'breakerThreshold', 'disableAfterDays']);
  });

  it('converts an old-shape row in the same write when it is updated before the conversion ran', async () => {
    const old = await connect([WEBHOOKS_BEFORE_POLICY]);
    const id = uniqueId('wh_old_');
    await old.insert(heraldWebhooks.name, {
      id,
      tenant_id: 'legacy',
      url: 'https://example.test/old',
      event_types_json: '["*"]',
      secrets_sealed: TEST_BOX.seal('[]', `${id}:secrets`),
      retry_schedule_json: '[0,60,600]',
      created_at: 1,
      updated_at: 1,
    });
    const updated = await updateWebhook(deps, id, { maxConcurrency: 3 });
    expect(updated).toMatchObject({ retrySchedule: [60, 600], maxConcurrency: 3 });
    expect(await engine.findOne(heraldWebhooks.name, { where: { id } })).toMatchObject({ settings_format: 2, retry_schedule_json: '[60,600]', max_concurrency: 3 });
  });

  it("gives a webhook that sets nothing Herald's defaults, every field listed as inherited", async () => {
    const webhook = await create(uniqueId('t-'));
    expect(webhook).toMatchObject({ ...HERALD_DEFAULT_POLICY, inherited: [...POLICY_FIELDS] });
    expect(HERALD_DEFAULT_POLICY).toEqual({
      retrySchedule: [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400],
      timeoutMs: 15_000,
      rateLimitPerSecond: null,
      maxConcurrency: 20,
      breakerThreshold: 10,
      disableAfterDays: 5,
    });
  });

  it('resolves webhook → tenant policy → Herald default on every read path, per tenant', async () => {
    const tenant = uniqueId('t-');
    const other = uniqueId('t-');
    const inheriting = await create(tenant);
    const own = await create(tenant, { retrySchedule: [1, 2], rateLimitPerSecond: null, maxConcurrency: 7 });
    const elsewhere = await create(other);
    expect(own.inherited).toEqual(['timeoutMs', 'breakerThreshold', 'disableAfterDays']);

    const policy = await putTenantPolicy(engine, tenant, { retrySchedule: [10, 60], timeoutMs: 3_000, rateLimitPerSecond: 50, maxConcurrency: 2, disableAfterDays: 1.5 }, 1_000);
    expect(policy).toMatchObject({ tenantId: tenant, updatedAt: 1_000, effective: { retrySchedule: [10, 60], rateLimitPerSecond: 50, breakerThreshold: 10 } });

    const tenantValues = { retrySchedule: [10, 60], timeoutMs: 3_000, rateLimitPerSecond: 50, maxConcurrency: 2, breakerThreshold: 10, disableAfterDays: 1.5 };
    // The PUT is seen at once in this process (its cache entry is dropped).
    expect(await findWebhook(engine, inheriting.id)).toMatchObject(tenantValues);
    expect(await findWebhook(engine, own.id)).toMatchObject({ retrySchedule: [1, 2], rateLimitPerSecond: null, maxConcurrency: 7, timeoutMs: 3_000, disableAfterDays: 1.5 });
    expect(await findWebhook(engine, elsewhere.id)).toMatchObject(HERALD_DEFAULT_POLICY);

    const sending = await findWebhookForSending(deps, inheriting.id, Date.now());
    expect(sending).toMatchObject(tenantValues);
    expect(sending!.secrets).toHaveLength(1);
    const byIds = await findWebhooksByIds(engine, [inheriting.id, elsewhere.id, own.id]);
    expect(byIds.find((w) => w.id === inheriting.id)).toMatchObject(tenantValues);
    expect(byIds.find((w) => w.id === elsewhere.id)).toMatchObject(HERALD_DEFAULT_POLICY);
    const page = await listWebhookPage(engine, { tenantId: tenant, createdAtOrBefore: Date.now(), afterId: null, limit: 10 });
    expect(page.find((w) => w.id === inheriting.id)).toMatchObject(tenantValues);
    const listed = await listWebhooks(engine, { tenantId: tenant });
    expect(listed.items.map((w) => w.id).sort()).toEqual([inheriting.id, own.id].sort());
    expect(listed.items.find((w) => w.id === inheriting.id)).toMatchObject(tenantValues);
  });

  it('stores "unlimited" apart from "inherit": null is a setting, "inherit" unsets it', async () => {
    const tenant = uniqueId('t-');
    await putTenantPolicy(engine, tenant, { rateLimitPerSecond: 25 }, 1);
    const webhook = await create(tenant, { rateLimitPerSecond: null });
    expect(webhook).toMatchObject({ rateLimitPerSecond: null });
    expect(webhook.inherited).not.toContain('rateLimitPerSecond');
    expect(await engine.findOne(heraldWebhooks.name, { where: { id: webhook.id } })).toMatchObject({ rate_limit_per_second: 0 });

    const inheriting = await updateWebhook(deps, webhook.id, { rateLimitPerSecond: 'inherit' });
    expect(inheriting).toMatchObject({ rateLimitPerSecond: 25 });
    expect(inheriting.inherited).toContain('rateLimitPerSecond');
    expect(await engine.findOne(heraldWebhooks.name, { where: { id: webhook.id } })).toMatchObject({ rate_limit_per_second: null });

    const limited = await updateWebhook(deps, webhook.id, { rateLimitPerSecond: 5, retrySchedule: [], timeoutMs: 2_000 });
    expect(limited).toMatchObject({ rateLimitPerSecond: 5, retrySchedule: [], timeoutMs: 2_000 });
    const reset = await updateWebhook(deps, webhook.id, { retrySchedule: 'inherit', timeoutMs: 'inherit' });
    expect(reset).toMatchObject({ retrySchedule: HERALD_DEFAULT_POLICY.retrySchedule, timeoutMs: 15_000, rateLimitPerSecond: 5 });
  });

  it('replaces the whole tenant policy on PUT, and has an empty one until set', async () => {
    const tenant = uniqueId('t-');
    expect(await getTenantPolicy(engine, tenant)).toEqual({ tenantId: tenant, settings: {}, effective: HERALD_DEFAULT_POLICY, updatedAt: null });
    await putTenantPolicy(engine, tenant, { breakerThreshold: 3, rateLimitPerSecond: null }, 10);
    expect((await getTenantPolicy(engine, tenant)).settings).toEqual({ breakerThreshold: 3, rateLimitPerSecond: null });
    const replaced = await putTenantPolicy(engine, tenant, { maxConcurrency: 4 }, 20);
    expect(replaced).toEqual({ tenantId: tenant, settings: { maxConcurrency: 4 }, effective: { ...HERALD_DEFAULT_POLICY, maxConcurrency: 4 }, updatedAt: 20 });
    expect(await getTenantPolicy(engine, tenant)).toEqual(replaced);
    // Concurrent first PUTs of one tenant converge on one row.
    const raced = uniqueId('t-');
    await Promise.all([1, 2, 3].map((n) => putTenantPolicy(engine, raced, { maxConcurrency: n }, n)));
    expect(await engine.count('herald_tenant_policies', { where: { id: raced } })).toBe(1);
  });

  it("another process sees a tenant's new policy within the cache TTL", async () => {
    const tenant = uniqueId('t-');
    const elsewhere = await connect();
    const t0 = Date.now();
    expect(await cachedTenantSettings(elsewhere, tenant, t0)).toEqual({});
    await putTenantPolicy(engine, tenant, { maxConcurrency: 9 }, t0);
    expect(await cachedTenantSettings(engine, tenant, t0)).toEqual({ maxConcurrency: 9 });
    // The other process still has its entry…
    expect(await cachedTenantSettings(elsewhere, tenant, t0 + TENANT_POLICY_CACHE_TTL_MS - 1)).toEqual({});
    // …until it expires.
    expect(await cachedTenantSettings(elsewhere, tenant, t0 + TENANT_POLICY_CACHE_TTL_MS)).toEqual({ maxConcurrency: 9 });
    expect(TENANT_POLICY_CACHE_TTL_MS).toBeLessThanOrEqual(5_000);
  });
});
