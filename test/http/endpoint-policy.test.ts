import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataEngine } from '../../src/store/data-engine.js';
import { openEngine } from '../../src/store/open-engine.js';
import { heraldWebhooks } from '../../src/store/schema.js';
import { HERALD_DEFAULT_POLICY, POLICY_FIELDS } from '../../src/store/tenant-policies.js';
import { convertLegacyWebhooks } from '../../src/store/webhooks.js';
import { TEST_BOX, uniqueId } from '../support/deps.js';
import { ACME_TOKEN, ADMIN_TOKEN, caller, GLOBEX_TOKEN, testApi } from '../support/http.js';

// Endpoint policy through the REST API, over a real server listening on 127.0.0.1 and a SQLite file: the
// webhook fields (create, PATCH with "inherit", GET with effective values and `inherited`), their validation
// errors, GET/PUT /v1/tenants/{id}/policy with its auth rules, and a webhook stored in the old retry-schedule
// shape. Nothing here starts a delivery, so no Temporal server is needed (the client connects lazily).
describe('endpoint policy over HTTP', () => {
  let dir: string;
  let store: DataEngine;
  let server: ServerType;
  let base: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'herald-policy-http-'));
    store = await openEngine(`sqlite:${path.join(dir, 'herald.db')}`);
    const api = testApi({ temporal: new Client(), store, taskQueue: 'policy' });
    server = await new Promise((resolve) => {
      const s = serve({ fetch: api.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const admin = () => caller(base, ADMIN_TOKEN);
  const url = 'https://hooks.example.test/policy';

  async function put(token: string | undefined, tenant: string, body: unknown) {
    const res = await fetch(`${base}/v1/tenants/${tenant}/policy`, {
      method: 'PUT',
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  }

  it('creates a webhook with its own policy, shows the effective values and what it inherits, and PATCH "inherit" unsets a field', async () => {
    const tenantId = uniqueId('t-');
    const created = await admin().post('/v1/webhooks', { url, eventTypes: ['*'], tenantId, retrySchedule: [5, 300, 1800], rateLimitPerSecond: 40, maxConcurrency: 3 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ retrySchedule: [5, 300, 1800], rateLimitPerSecond: 40, maxConcurrency: 3, timeoutMs: 15_000, breakerThreshold: 10, disableAfterDays: 5 });
    expect(created.body.inherited).toEqual(['timeoutMs', 'breakerThreshold', 'disableAfterDays']);

    const got = await admin().get(`/v1/webhooks/${created.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ retrySchedule: [5, 300, 1800], rateLimitPerSecond: 40, inherited: ['timeoutMs', 'breakerThreshold', 'disableAfterDays'] });
    // Backward compatible: everything a webhook showed before is still there.
    for (const key of ['id', 'tenantId', 'url', 'description', 'eventTypes', 'active', 'disabledReason', 'disabledAt', 'signatureScheme', 'method', 'headerNames', 'timeoutMs', 'retrySchedule', 'retryJitter', 'createdAt', 'updatedAt']) {
      expect(got.body, key).toHaveProperty(key);
    }

    const patched = await admin().patch(`/v1/webhooks/${created.body.id}`, { rateLimitPerSecond: null, maxConcurrency: 'inherit', disableAfterDays: 2.5, retrySchedule: [] });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ rateLimitPerSecond: null, maxConcurrency: 20, disableAfterDays: 2.5, retrySchedule: [] });
    expect(patched.body.inherited).toEqual(['timeoutMs', 'maxConcurrency', 'breakerThreshold']);
  });

  it.each([
    [{ retrySchedule: [0, 5, 300] }, 'retrySchedule', 'retrySchedule: [0] is 0 s: delays are before each retry, 1–604800 s (1 s–7 d); the first attempt is always immediate — drop the leading 0'],
    [{ retrySchedule: [5, 0] }, 'retrySchedule', '[1] is 0 s'],
    [{ retrySchedule: Array.from({ length: 20 }, () => 1) }, 'retrySchedule', 'at most 19 delays (20 attempts)'],
    [{ retrySchedule: [5, 604_801] }, 'retrySchedule', '[1] is 604801 s'],
    [{ rateLimitPerSecond: 0 }, 'rateLimitPerSecond', 'must be from 1 to 10000'],
    [{ rateLimitPerSecond: 10_001 }, 'rateLimitPerSecond', 'must be from 1 to 10000'],
    [{ rateLimitPerSecond: 'fast' }, 'rateLimitPerSecond', 'or null for unlimited, or "inherit"'],
    [{ maxConcurrency: 0 }, 'maxConcurrency', 'must be from 1 to 1000'],
    [{ maxConcurrency: 1_001 }, 'maxConcurrency', 'must be from 1 to 1000'],
    [{ maxConcurrency: null }, 'maxConcurrency', 'must be a whole number from 1 to 1000'],
    [{ breakerThreshold: 2.5 }, 'breakerThreshold', 'whole number'],
    [{ disableAfterDays: 0.5 }, 'disableAfterDays', 'must be from 1 to 90 days'],
    [{ disableAfterDays: 91 }, 'disableAfterDays', 'must be from 1 to 90 days'],
    [{ timeoutMs: 999 }, 'timeoutMs', 'must be from 1000 to 300000 ms'],
  ])('refuses %j on create and update with a 400 naming %s, writing nothing', async (fields, field, message) => {
    const tenantId = uniqueId('t-');
    const refused = await admin().post('/v1/webhooks', { url, eventTypes: ['*'], tenantId, ...fields });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'validation', field });
    expect(refused.body.error.message).toContain(message);
    expect(await store.count(heraldWebhooks.name, { where: { tenant_id: tenantId } })).toBe(0);

    const created = await admin().post('/v1/webhooks', { url, eventTypes: ['*'], tenantId });
    const patch = await admin().patch(`/v1/webhooks/${created.body.id}`, fields);
    expect(patch.status).toBe(400);
    expect(patch.body.error).toMatchObject({ code: 'validation', field });
    expect((await admin().get(`/v1/webhooks/${created.body.id}`)).body).toMatchObject({ ...HERALD_DEFAULT_POLICY, inherited: [...POLICY_FIELDS] });
  });

  it('GET/PUT /v1/tenants/{id}/policy: the policy, inherited by webhooks that do not set a field, visible in GET /v1/webhooks/{id}', async () => {
    const acmeHook = (await caller(base, ACME_TOKEN).post('/v1/webhooks', { url, eventTypes: ['*'], breakerThreshold: 4 })).body;
    const empty = await caller(base, ACME_TOKEN).get('/v1/tenants/acme/policy');
    expect(empty.status).toBe(200);

    const stored = await put(ACME_TOKEN, 'acme', { retrySchedule: [10, 60, 600], timeoutMs: 4_000, rateLimitPerSecond: 100, breakerThreshold: 50, disableAfterDays: 2 });
    expect(stored.status).toBe(200);
    expect(stored.body).toMatchObject({
      tenantId: 'acme',
      settings: { retrySchedule: [10, 60, 600], timeoutMs: 4_000, rateLimitPerSecond: 100, breakerThreshold: 50, disableAfterDays: 2 },
      effective: { retrySchedule: [10, 60, 600], timeoutMs: 4_000, rateLimitPerSecond: 100, maxConcurrency: 20, breakerThreshold: 50, disableAfterDays: 2 },
    });
    expect(Date.parse(stored.body.updatedAt)).toBeGreaterThan(0);
    expect((await admin().get('/v1/tenants/acme/policy')).body).toEqual(stored.body);

    const seen = await caller(base, ACME_TOKEN).get(`/v1/webhooks/${acmeHook.id}`);
    expect(seen.body).toMatchObject({ retrySchedule: [10, 60, 600], timeoutMs: 4_000, rateLimitPerSecond: 100, maxConcurrency: 20, breakerThreshold: 4, disableAfterDays: 2 });
    expect(seen.body.inherited).toEqual(['retrySchedule', 'timeoutMs', 'rateLimitPerSecond', 'maxConcurrency', 'disableAfterDays']);

    // PUT replaces the whole policy: what it leaves out falls back to Herald's defaults.
    const replaced = await put(ADMIN_TOKEN, 'acme', { maxConcurrency: 5 });
    expect(replaced.body).toMatchObject({ settings: { maxConcurrency: 5 }, effective: { ...HERALD_DEFAULT_POLICY, maxConcurrency: 5 } });
    expect((await admin().get(`/v1/webhooks/${acmeHook.id}`)).body).toMatchObject({ ...HERALD_DEFAULT_POLICY, maxConcurrency: 5, breakerThreshold: 4 });
  });

  it('lets an admin act for any tenant and a tenant token only for its own', async () => {
    expect((await put(ADMIN_TOKEN, 'globex', { maxConcurrency: 2 })).status).toBe(200);
    expect((await caller(base, GLOBEX_TOKEN).get('/v1/tenants/globex/policy')).body.settings).toEqual({ maxConcurrency: 2 });

    const foreignGet = await caller(base, ACME_TOKEN).get('/v1/tenants/globex/policy');
    expect(foreignGet.status).toBe(403);
    expect(foreignGet.body.error).toMatchObject({ code: 'forbidden', field: 'tenantId' });
    const foreignPut = await put(ACME_TOKEN, 'globex', { maxConcurrency: 900 });
    expect(foreignPut.status).toBe(403);
    expect((await admin().get('/v1/tenants/globex/policy')).body.settings).toEqual({ maxConcurrency: 2 });

    expect((await caller(base).get('/v1/tenants/acme/policy')).status).toBe(401);
    expect((await put(undefined, 'acme', {})).status).toBe(401);
    expect((await caller(base, ADMIN_TOKEN).get('/v1/tenants/bad%20id/policy')).status).toBe(400);
  });

  it.each([
    [{ retrySchedule: [0, 5] }, 'retrySchedule', 'drop the leading 0'],
    [{ rateLimitPerSecond: 0 }, 'rateLimitPerSecond', 'must be from 1 to 10000'],
    [{ maxConcurrency: 5_000 }, 'maxConcurrency', 'must be from 1 to 1000'],
    [{ breakerThreshold: 0 }, 'breakerThreshold', 'must be from 1 to 1000'],
    [{ disableAfterDays: 100 }, 'disableAfterDays', 'must be from 1 to 90 days'],
    [{ timeoutMs: 'inherit' }, 'timeoutMs', 'must be a number'],
    [{ colour: 'red' }, 'colour', 'is not a known field'],
  ])('refuses a tenant policy of %j with a 400 naming %s, changing nothing', async (body, field, message) => {
    const tenant = uniqueId('t-');
    await put(ADMIN_TOKEN, tenant, { maxConcurrency: 8 });
    const refused = await put(ADMIN_TOKEN, tenant, body);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'validation', field });
    expect(refused.body.error.message).toContain(message);
    expect((await admin().get(`/v1/tenants/${tenant}/policy`)).body.settings).toEqual({ maxConcurrency: 8 });
  });

  it('shows a webhook stored in the old retry-schedule shape with the new meaning, before and after its conversion', async () => {
    const id = uniqueId('wh_legacy');
    // A row as a process from before this change writes it: no policy columns, so settings_format is 1.
    await store.insert(heraldWebhooks.name, {
      id,
      tenant_id: 'default',
      url,
      event_types_json: '["*"]',
      secrets_sealed: TEST_BOX.seal('[]', `${id}:secrets`),
      retry_schedule_json: '[0,60,600]',
      timeout_ms: 7_000,
      created_at: Date.now(),
      updated_at: Date.now(),
    });
    const before = await admin().get(`/v1/webhooks/${id}`);
    expect(before.body).toMatchObject({ retrySchedule: [60, 600], timeoutMs: 7_000 });
    expect(before.body.inherited).not.toContain('retrySchedule');
    expect(await convertLegacyWebhooks(store)).toBeGreaterThanOrEqual(1);
    expect((await admin().get(`/v1/webhooks/${id}`)).body).toEqual(before.body);
  });
});
