import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdempotencyStore, IDEMPOTENCY_TTL_MS, idempotencyRowId, IN_PROGRESS_TIMEOUT_MS, requestHash } from '../../src/http/idempotency.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { openEngine } from '../../src/store/open-engine.js';
import { heraldIdempotencyKeys } from '../../src/store/schema.js';
import { TEST_BOX, uniqueId } from '../support/deps.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';

// The Idempotency-Key store over each real engine (memory, a SQLite file, Postgres), with a hand-driven
// clock for expiry and takeover. The HTTP behaviour (replayed responses, 409s) is tested through the app
// in api.dev-server.test.ts.
describe.each(['memory', 'sqlite', 'postgres'] as const)('idempotency key store (%s)', (kind) => {
  let dir: string;
  let postgres: TestPostgres | undefined;
  let engine: DataEngine;
  let now = 1_700_000_000_000;
  const clock = () => now;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'herald-idem-'));
    if (kind === 'postgres') postgres = await startPostgres();
    engine = await openEngine(kind === 'memory' ? 'memory:' : kind === 'sqlite' ? `sqlite:${path.join(dir, 'herald.db')}` : postgres!.url);
  });
  afterAll(async () => {
    await engine?.close();
    await postgres?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const response = { status: 201, headers: { 'content-type': 'application/json', location: '/v1/webhooks/wh_1' }, body: '{"secret":"whsec_not-in-plaintext"}' };

  it('claims a new key, replays the completed response, and refuses another request under the key', async () => {
    const store = createIdempotencyStore({ engine, box: TEST_BOX, clock });
    const key = uniqueId('k-');
    const hash = requestHash('POST', '/v1/webhooks', '{"url":"x"}');
    const first = await store.begin('admin', key, hash);
    expect(first.kind).toBe('proceed');
    // A repeat while the first runs is a conflict, not a second run.
    expect(await store.begin('admin', key, hash)).toMatchObject({ kind: 'conflict', reason: expect.stringMatching(/still being processed/) });
    if (first.kind !== 'proceed') throw new Error('unreachable');
    await store.complete(first.id, first.createdAt, response);
    expect(await store.begin('admin', key, hash)).toEqual({ kind: 'replay', response });
    expect(await store.begin('admin', key, requestHash('POST', '/v1/webhooks', '{"url":"y"}'))).toMatchObject({
      kind: 'conflict',
      reason: expect.stringMatching(/different request/),
    });
    // Another scope's key of the same name is its own.
    expect((await store.begin('tenant:acme', key, hash)).kind).toBe('proceed');
  });

  it('stores the response sealed, never in plaintext', async () => {
    const store = createIdempotencyStore({ engine, box: TEST_BOX, clock });
    const key = uniqueId('k-');
    const begun = await store.begin('admin', key, 'h');
    if (begun.kind !== 'proceed') throw new Error('expected proceed');
    await store.complete(begun.id, begun.createdAt, response);
    const row = await engine.findOne(heraldIdempotencyKeys.name, { where: { id: idempotencyRowId('admin', key) } });
    expect(row).toMatchObject({ status: 'completed', response_status: 201 });
    expect(JSON.stringify(row)).not.toContain('whsec_not-in-plaintext');
  });

  it('forgets a released key, so a failed request can be retried under it', async () => {
    const store = createIdempotencyStore({ engine, box: TEST_BOX, clock });
    const key = uniqueId('k-');
    const begun = await store.begin('admin', key, 'h1');
    if (begun.kind !== 'proceed') throw new Error('expected proceed');
    await store.release(begun.id, begun.createdAt);
    // Even with another body: nothing was kept.
    expect((await store.begin('admin', key, 'h2')).kind).toBe('proceed');
  });

  it('expires keys after 24 h, and sweeps them', async () => {
    const store = createIdempotencyStore({ engine, box: TEST_BOX, clock });
    const key = uniqueId('k-');
    const begun = await store.begin('admin', key, 'h1');
    if (begun.kind !== 'proceed') throw new Error('expected proceed');
    await store.complete(begun.id, begun.createdAt, response);
    now += IDEMPOTENCY_TTL_MS - 1;
    expect((await store.begin('admin', key, 'h1')).kind).toBe('replay');
    now += 1;
    // Expired: the key is free again, for any request.
    expect((await store.begin('admin', key, 'h2')).kind).toBe('proceed');

    const old = uniqueId('k-');
    await store.begin('admin', old, 'h');
    now += IDEMPOTENCY_TTL_MS;
    expect(await store.sweep()).toBeGreaterThanOrEqual(2);
    expect(await engine.count(heraldIdempotencyKeys.name, { where: { expires_at: { $lte: now } } })).toBe(0);
  });

  it('lets a request take over a key whose first request died mid-way', async () => {
    const store = createIdempotencyStore({ engine, box: TEST_BOX, clock });
    const key = uniqueId('k-');
    expect((await store.begin('admin', key, 'h')).kind).toBe('proceed');
    now += IN_PROGRESS_TIMEOUT_MS - 1;
    expect((await store.begin('admin', key, 'h')).kind).toBe('conflict');
    now += 2;
    const takeover = await store.begin('admin', key, 'h');
    expect(takeover.kind).toBe('proceed');
    // …exactly once.
    expect((await store.begin('admin', key, 'h')).kind).toBe('conflict');
  });

  it('gives one of many concurrent first requests the key', async () => {
    const store = createIdempotencyStore({ engine, box: TEST_BOX, clock });
    const key = uniqueId('k-');
    const results = await Promise.all(Array.from({ length: 10 }, () => store.begin('admin', key, 'h')));
    expect(results.filter((r) => r.kind === 'proceed')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'conflict')).toHaveLength(9);
  });
});
