import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DataEngine } from '../../src/store/data-engine.js';
import { openEngine } from '../../src/store/open-engine.js';
import type { DeliveryStatus } from '../../src/store/schema.js';
import { createWorker } from '../../src/worker/create-worker.js';
import type { SweepRetentionInput } from '../../src/workflows/messages.js';
import { sweepRetention } from '../../src/workflows/sweep-retention.js';
import { testActivityDeps, uniqueId } from '../support/deps.js';
import { startTimeSkippingTemporal, type TemporalForTests } from '../support/temporal.js';

// The retention sweep on the time-skipping server, over a real SQLite table whose rows were aged on purpose:
// it reads "now" from workflow time, so skipping server time ages every row without touching them. Each test
// has its own database (the sweep is global) and its own worker.

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;
const DELIVERED_MAX_AGE_MS = 7 * DAY_MS;
const DEAD_MAX_AGE_MS = 30 * DAY_MS;

describe('sweepRetention on the time-skipping server', () => {
  let temporal: TemporalForTests;
  let dir: string;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'herald-retention-'));
    temporal = await startTimeSkippingTemporal();
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  afterAll(async () => {
    await temporal?.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function setup() {
    const store = await openEngine(`sqlite:${path.join(dir, `${uniqueId('db-')}.db`)}`);
    cleanups.push(() => store.close());
    const taskQueue = uniqueId('tq-');
    const worker = await createWorker({ connection: temporal.env.nativeConnection, namespace: 'default', taskQueue, deps: testActivityDeps(store) });
    const running = worker.run();
    cleanups.push(async () => {
      worker.shutdown();
      await running;
    });
    // A plain client: the environment's own one unlocks time skipping while it awaits a result, and the idle
    // server then jumps far ahead (to the next timer it knows of), which would age every row by years. Time
    // moves here only where the test says so (env.sleep).
    const client = new Client({ connection: temporal.env.connection, namespace: 'default' });
    const sweep = (input: SweepRetentionInput) => client.workflow.execute(sweepRetention, { taskQueue, workflowId: uniqueId('sweep-'), args: [input] });
    // Rows are aged relative to the server's clock, which is what the workflow reads.
    const now = await temporal.env.currentTimeMs();
    return { store, sweep, now, fixtures: fixtures(store, now) };
  }

  function fixtures(store: DataEngine, now: number) {
    return {
      async event(id: string, ageMs: number) {
        await store.insert('herald_events', {
          id: `ev_${id}`,
          tenant_id: 'default',
          event_id: id,
          event_type: 'order.created',
          event_time: now - ageMs,
          payload_json: '{"n":1}',
          status: 'fanned_out',
          matched_count: 1,
          created_at: now - ageMs,
          updated_at: now - ageMs,
        });
      },
      /** A delivery last updated `ageMs` ago, with a two-attempt log. */
      async delivery(id: string, status: DeliveryStatus, ageMs: number, eventId: string) {
        const at = now - ageMs;
        await store.insert('herald_deliveries', {
          id,
          tenant_id: 'default',
          webhook_id: `wh_${id}`,
          event_id: eventId,
          event_type: 'order.created',
          event_time: at,
          url: 'http://127.0.0.1:9/hook',
          method: 'POST',
          status,
          attempts: 2,
          workflow_id: `delivery:wh_${id}:${eventId}`,
          run_id: `run-${id}`,
          created_at: at - HOUR_MS,
          updated_at: at,
        });
        for (const attempt of [1, 2]) {
          await store.insert('herald_delivery_attempts', {
            id: `${id}:run-${id}:${attempt}`,
            delivery_id: id,
            run_id: `run-${id}`,
            attempt,
            started_at: at - HOUR_MS,
            outcome: attempt === 1 ? 'retry' : status === 'success' ? 'success' : 'dead',
          });
        }
      },
    };
  }

  async function remaining(store: DataEngine) {
    const deliveries = (await store.find('herald_deliveries', { fields: ['id'] })).map((r) => String(r.id)).sort();
    const events = (await store.find('herald_events', { fields: ['event_id'] })).map((r) => String(r.event_id)).sort();
    const attempts = await store.find('herald_delivery_attempts', { fields: ['delivery_id'] });
    const attemptOwners = [...new Set(attempts.map((r) => String(r.delivery_id)))].sort();
    return { deliveries, events, attemptOwners, attemptCount: attempts.length };
  }

  it('deletes success rows older than deliveredMaxAge and dead/skipped/cancelled older than deadMaxAge, with their attempts; never pending or in-flight; then old unreferenced events', async () => {
    const { store, sweep, fixtures: f } = await setup();
    // Events: old and unreferenced (3, more than a page), young and unreferenced, old but still referenced,
    // old and referenced only by deliveries this sweep deletes.
    for (const id of ['orphan_old_1', 'orphan_old_2', 'orphan_old_3']) await f.event(id, 40 * DAY_MS);
    await f.event('orphan_young', 20 * DAY_MS);
    await f.event('ref_kept', 40 * DAY_MS);
    await f.event('ref_deleted', 40 * DAY_MS);
    await f.event('ref_open', 100 * DAY_MS);

    await f.delivery('s_8d', 'success', 8 * DAY_MS, 'ref_deleted');
    await f.delivery('s_9d', 'success', 9 * DAY_MS, 'ref_deleted');
    await f.delivery('s_40d', 'success', 40 * DAY_MS, 'ref_deleted');
    await f.delivery('s_6d', 'success', 6 * DAY_MS, 'ref_kept');
    await f.delivery('d_31d', 'dead', 31 * DAY_MS, 'ref_deleted');
    await f.delivery('k_31d', 'skipped', 31 * DAY_MS, 'ref_deleted');
    await f.delivery('c_31d', 'cancelled', 31 * DAY_MS, 'ref_deleted');
    await f.delivery('d_10d', 'dead', 10 * DAY_MS, 'ref_kept');
    await f.delivery('c_29d', 'cancelled', 29 * DAY_MS, 'ref_kept');
    await f.delivery('p_100d', 'pending', 100 * DAY_MS, 'ref_open');
    await f.delivery('f_100d', 'in_flight', 100 * DAY_MS, 'ref_open');

    // Pages of 2, so every loop in the workflow and activities turns more than once.
    const input = { deliveredMaxAgeMs: DELIVERED_MAX_AGE_MS, deadMaxAgeMs: DEAD_MAX_AGE_MS, batchSize: 2 };
    expect(await sweep(input)).toEqual({ deletedDeliveries: 6, deletedEvents: 4 });
    const kept = ['c_29d', 'd_10d', 'f_100d', 'p_100d', 's_6d'];
    expect(await remaining(store)).toEqual({
      deliveries: kept,
      events: ['orphan_young', 'ref_kept', 'ref_open'],
      attemptOwners: kept,
      attemptCount: 2 * kept.length,
    });

    // Again: nothing left to delete.
    expect(await sweep(input)).toEqual({ deletedDeliveries: 0, deletedEvents: 0 });

    // Two days pass on the server: s_6d and c_29d age past their limits, and ref_kept loses its last
    // references... except d_10d (12 days, dead), which still holds it. Open deliveries stay.
    await temporal.env.sleep(2 * DAY_MS);
    expect(await sweep(input)).toEqual({ deletedDeliveries: 2, deletedEvents: 0 });
    expect(await remaining(store)).toEqual({
      deliveries: ['d_10d', 'f_100d', 'p_100d'],
      events: ['orphan_young', 'ref_kept', 'ref_open'],
      attemptOwners: ['d_10d', 'f_100d', 'p_100d'],
      attemptCount: 6,
    });

    // Twenty more days: d_10d (now 32 days) goes, then ref_kept with it, and orphan_young is 42 days old.
    await temporal.env.sleep(20 * DAY_MS);
    expect(await sweep(input)).toEqual({ deletedDeliveries: 1, deletedEvents: 2 });
    expect(await remaining(store)).toEqual({ deliveries: ['f_100d', 'p_100d'], events: ['ref_open'], attemptOwners: ['f_100d', 'p_100d'], attemptCount: 4 });
  });

  it('a max age of 0 disables its group, and keeps every event', async () => {
    const { store, sweep, fixtures: f } = await setup();
    await f.event('orphan_old', 400 * DAY_MS);
    await f.event('ref', 400 * DAY_MS);
    await f.delivery('s_400d', 'success', 400 * DAY_MS, 'ref');
    await f.delivery('d_400d', 'dead', 400 * DAY_MS, 'ref');
    await f.delivery('k_400d', 'skipped', 400 * DAY_MS, 'ref');
    await f.delivery('p_400d', 'pending', 400 * DAY_MS, 'ref');

    // Both 0: nothing at all.
    expect(await sweep({ deliveredMaxAgeMs: 0, deadMaxAgeMs: 0 })).toEqual({ deletedDeliveries: 0, deletedEvents: 0 });
    expect((await remaining(store)).deliveries).toEqual(['d_400d', 'k_400d', 'p_400d', 's_400d']);

    // Successes kept forever: only the dead group goes; events stay (a kept success may still need one).
    expect(await sweep({ deliveredMaxAgeMs: 0, deadMaxAgeMs: DEAD_MAX_AGE_MS })).toEqual({ deletedDeliveries: 2, deletedEvents: 0 });
    expect(await remaining(store)).toEqual({ deliveries: ['p_400d', 's_400d'], events: ['orphan_old', 'ref'], attemptOwners: ['p_400d', 's_400d'], attemptCount: 4 });

    await f.delivery('d2_400d', 'dead', 400 * DAY_MS, 'ref');
    // Dead kept forever: only successes go; events stay.
    expect(await sweep({ deliveredMaxAgeMs: DELIVERED_MAX_AGE_MS, deadMaxAgeMs: 0 })).toEqual({ deletedDeliveries: 1, deletedEvents: 0 });
    expect(await remaining(store)).toEqual({ deliveries: ['d2_400d', 'p_400d'], events: ['orphan_old', 'ref'], attemptOwners: ['d2_400d', 'p_400d'], attemptCount: 4 });
  });
});
