import type { Client } from '@temporalio/client';
import { HeraldClient } from '../../src/client/herald-client.js';
import { parseApiTokens } from '../../src/config/api-tokens.js';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../../src/config/defaults.js';
import { createApp, type HeraldApp } from '../../src/http/create-app.js';
import type { HealthReport } from '../../src/http/health.js';
import { createIdempotencyStore, type IdempotencyStore } from '../../src/http/idempotency.js';
import { HeraldMetrics } from '../../src/metrics/metrics.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { TEST_BOX } from './deps.js';

/** Tokens of the test apps: one admin, two tenants. */
export const ADMIN_TOKEN = 'test-admin-token-00000000000000';
export const ACME_TOKEN = 'test-acme-token-000000000000000';
export const GLOBEX_TOKEN = 'test-globex-token-0000000000000';
export const TEST_API_TOKENS = `${ADMIN_TOKEN},${ACME_TOKEN}:acme,${GLOBEX_TOKEN}:globex`;

export interface TestApi {
  app: HeraldApp;
  herald: HeraldClient;
  metrics: HeraldMetrics;
  idempotency: IdempotencyStore;
}

/** The real app over a real Temporal client and store, as `npm start` builds it (tests pick the limits). */
export function testApi(opts: {
  temporal: Client;
  store: DataEngine;
  taskQueue: string;
  health?: () => Promise<HealthReport>;
  maxPayloadBytes?: number;
  metrics?: HeraldMetrics;
}): TestApi {
  const herald = new HeraldClient({ temporal: opts.temporal, store: opts.store, box: TEST_BOX, taskQueue: opts.taskQueue, ...(opts.maxPayloadBytes ? { maxPayloadBytes: opts.maxPayloadBytes } : {}) });
  const metrics = opts.metrics ?? new HeraldMetrics({ store: opts.store });
  const idempotency = createIdempotencyStore({ engine: opts.store, box: TEST_BOX });
  const app = createApp({
    herald,
    health: opts.health ?? (async () => ({ ok: true, checks: { temporal: { ok: true }, database: { ok: true } } })),
    tokens: parseApiTokens(TEST_API_TOKENS),
    idempotency,
    metrics,
    config: { maxPayloadBytes: opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES },
  });
  return { app, herald, metrics, idempotency };
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/**
 * Requests as a caller with `token` (none: no Authorization header), through `app.request` in-process, or
 * through `fetch` to `baseUrl` when given (a real listening server).
 */
export function caller(target: HeraldApp | string, token?: string) {
  async function send<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const init: RequestInit = {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    };
    const res = typeof target === 'string' ? await fetch(`${target}${path}`, init) : await target.request(path, init);
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
    return { status: res.status, body: parsed as T, headers: res.headers };
  }
  return {
    get: <T = any>(path: string, headers?: Record<string, string>) => send<T>('GET', path, undefined, headers),
    post: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) => send<T>('POST', path, body, headers),
    patch: <T = any>(path: string, body: unknown, headers?: Record<string, string>) => send<T>('PATCH', path, body, headers),
    delete: <T = any>(path: string, headers?: Record<string, string>) => send<T>('DELETE', path, undefined, headers),
  };
}
