import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHealth } from '../../src/http/health.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { openEngine } from '../../src/store/open-engine.js';
import { testApi } from '../support/http.js';
import { startDevTemporal, type TemporalForTests } from '../support/temporal.js';

// /healthz asks a real Temporal server and a real database, and names what is down.
describe('GET /healthz', () => {
  let temporal: TemporalForTests;
  let store: DataEngine;

  beforeAll(async () => {
    temporal = await startDevTemporal();
    store = await openEngine('sqlite::memory:');
  });
  afterAll(async () => {
    await temporal?.teardown().catch(() => undefined);
  });

  // No token needed for /healthz.
  const app = () => testApi({ temporal: temporal.env.client, store, taskQueue: 'healthz', health: () => checkHealth({ connection: temporal.env.connection, namespace: 'default', store }) }).app;

  it('is 200 when Temporal and the database answer', async () => {
    const res = await app().request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', checks: { temporal: { ok: true }, database: { ok: true } } });
  });

  it('is 503 naming the database when it is down', async () => {
    await store.close();
    const res = await app().request('/healthz');
    expect(res.status).toBe(503);
    const body = (await res.json()) as { checks: { database: { ok: boolean; error: string }; temporal: { ok: boolean } } };
    expect(body.checks.temporal.ok).toBe(true);
    expect(body.checks.database.ok).toBe(false);
    expect(body.checks.database.error).toBeTruthy();
  });

  it('is 503 naming Temporal when the server is gone', async () => {
    store = await openEngine('sqlite::memory:');
    await (temporal as unknown as { server: { stop(): Promise<void> } }).server.stop();
    const res = await app().request('/healthz');
    expect(res.status).toBe(503);
    const body = (await res.json()) as { checks: { database: { ok: boolean }; temporal: { ok: boolean; error: string } } };
    expect(body.checks.database.ok).toBe(true);
    expect(body.checks.temporal.ok).toBe(false);
    await store.close();
  });
});
