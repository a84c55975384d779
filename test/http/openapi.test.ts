import SwaggerParser from '@apidevtools/swagger-parser';
import { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataEngine } from '../../src/store/data-engine.js';
import { openEngine } from '../../src/store/open-engine.js';
import { caller, testApi, type TestApi } from '../support/http.js';

// The OpenAPI document is generated from the routes that serve requests; these tests check that it is valid
// OpenAPI (an independent validator, @apidevtools/swagger-parser), that it lists exactly the routes Hono
// serves, and that /docs renders every one of them without fetching anything from elsewhere. No request
// here reaches Temporal (its client connects lazily), so no server is started.
describe('GET /openapi.json and /docs', () => {
  let store: DataEngine;
  let api: TestApi;
  let doc: Record<string, any>;

  beforeAll(async () => {
    store = await openEngine('sqlite::memory:');
    api = testApi({ temporal: new Client(), store, taskQueue: 'openapi' });
    const res = await caller(api.app).get('/openapi.json');
    expect(res.status).toBe(200);
    doc = res.body;
  });
  afterAll(async () => {
    await store?.close();
  });

  /** `METHOD /path/{param}` of every route the Hono app serves (middleware and the operator page's HTML at /ui excluded). */
  function servedRoutes(): string[] {
    return [...new Set(api.app.routes.filter((r) => r.method !== 'ALL' && !r.path.startsWith('/ui')).map((r) => `${r.method} ${r.path.replace(/:([^/]+)/g, '{$1}')}`))].sort();
  }

  function documentedRoutes(): string[] {
    return Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
  }

  it('is a valid OpenAPI 3.1 document (swagger-parser)', async () => {
    expect(doc.openapi).toBe('3.1.0');
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
    // The validator is not a rubber stamp: a document with a dangling $ref fails it.
    const broken = structuredClone(doc);
    broken.paths['/v1/webhooks'].post.requestBody.content['application/json'].schema = { $ref: '#/components/schemas/Nope' };
    await expect(SwaggerParser.validate(broken as never)).rejects.toThrow(/Nope/);
  });

  it('lists exactly the routes the app serves', () => {
    const served = servedRoutes();
    expect(documentedRoutes()).toEqual(served);
    // …and they are the contract (plus GET /v1/events/{id}).
    expect(served).toEqual(
      [
        'DELETE /v1/webhooks/{id}',
        'GET /docs',
        'GET /healthz',
        'GET /metrics',
        'GET /openapi.json',
        'GET /v1/deliveries',
        'GET /v1/deliveries/{id}',
        'GET /v1/events/{id}',
        'GET /v1/recoveries/{workflowId}',
        'GET /v1/tenants/{id}/policy',
        'GET /v1/webhooks',
        'GET /v1/webhooks/{id}',
        'PATCH /v1/webhooks/{id}',
        'POST /v1/deliveries/{id}/cancel',
        'POST /v1/deliveries/{id}/redeliver',
        'POST /v1/events',
        'POST /v1/webhooks',
        'POST /v1/webhooks/{id}/disable',
        'POST /v1/webhooks/{id}/enable',
        'POST /v1/webhooks/{id}/recover',
        'POST /v1/webhooks/{id}/rotate-secret',
        'PUT /v1/tenants/{id}/policy',
      ].sort(),
    );
  });

  it('describes every route: auth on /v1 only, a schema for each JSON body, the error shape, Idempotency-Key on POSTs', () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(op.summary, where).toBeTruthy();
        if (path.startsWith('/v1/')) {
          expect(op.security, where).toEqual([{ bearerAuth: [] }]);
          expect(op.responses['401']?.content['application/json'].schema, where).toEqual({ $ref: '#/components/schemas/Error' });
          expect(op.responses['400']?.content['application/json'].schema, where).toEqual({ $ref: '#/components/schemas/Error' });
        } else {
          expect(op.security, where).toBeUndefined();
        }
        if (method === 'post' && path.startsWith('/v1/')) {
          expect(op.parameters?.some((p: { name: string; in: string }) => p.name === 'Idempotency-Key' && p.in === 'header'), where).toBe(true);
        }
        const success = Object.entries(op.responses as Record<string, any>).filter(([status]) => status.startsWith('2'));
        expect(success.length, where).toBeGreaterThan(0);
        for (const [status, response] of success) {
          if (status === '204') continue;
          const schema = Object.values(response.content as Record<string, { schema: unknown }>)[0]?.schema;
          expect(schema, `${where} ${status}`).toBeTruthy();
        }
      }
    }
    expect(doc.paths['/v1/webhooks'].post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/CreateWebhook' });
    expect(doc.components.schemas.CreateWebhook.required).toEqual(['url', 'eventTypes']);
    // The retry schedule's meaning (delays before each retry) and the policy fields are documented.
    const create = doc.components.schemas.CreateWebhook.properties;
    expect(JSON.stringify(create.retrySchedule)).toMatch(/before each RETRY; the first attempt is always immediate.*\[5, 300, 1800\]` = 4 attempts/);
    for (const field of ['rateLimitPerSecond', 'maxConcurrency', 'breakerThreshold', 'disableAfterDays', 'timeoutMs']) expect(create[field], field).toBeTruthy();
    expect(doc.components.schemas.Webhook.properties.inherited.items.enum).toEqual(['retrySchedule', 'timeoutMs', 'rateLimitPerSecond', 'maxConcurrency', 'breakerThreshold', 'disableAfterDays']);
    expect(doc.paths['/v1/tenants/{id}/policy'].put.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/PutTenantPolicy' });
    expect(doc.components.schemas.Delivery.properties.createdAt).toMatchObject({ type: 'string', format: 'date-time' });
    expect(doc.paths['/v1/deliveries'].get.parameters.map((p: { name: string }) => p.name).sort()).toEqual(
      ['cursor', 'eventId', 'eventType', 'limit', 'since', 'status', 'tenantId', 'until', 'webhookId'].sort(),
    );
  });

  it('serves /docs: one self-contained page naming every route', async () => {
    const res = await caller(api.app).get('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = res.body as string;
    for (const route of servedRoutes()) {
      const [method, path] = route.split(' ');
      expect(html, route).toContain(`<code>${method} ${path}</code>`);
    }
    // Offline: no scripts, no stylesheets or images from elsewhere.
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)="https?:/i);
    expect(html).toContain('href="/openapi.json"');
  });
});
