import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { Next } from '@temporalio/common';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor } from '@temporalio/worker';
import type { Dispatcher } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HeraldClient } from '../../src/client/herald-client.js';
import { deliveryResult } from '../../src/delivery/delivery-result.js';
import { DEFAULT_RETRY_SCHEDULE_SECONDS } from '../../src/delivery/retry-schedule.js';
import { FailureType } from '../../src/delivery/failure-types.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { openEngine } from '../../src/store/open-engine.js';
import { createWorker } from '../../src/worker/create-worker.js';
import type { DeliverWebhookResult } from '../../src/workflows/messages.js';
import { eventually } from '../support/delivery-checks.js';
import { testActivityDeps, uniqueId, TEST_BOX } from '../support/deps.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startTimeSkippingTemporal, type TemporalForTests } from '../support/temporal.js';

// Endpoint health (issue #11) on the time-skipping server: the breaker's cool-downs, auto-disable after days of
// failures, and a 10-minute outage of the delivery database, each in skipped time with real HTTP on loopback.
//
// The clock. The gate and auto-disable read `deps.clock`; with `Date.now` they would see seconds pass while the
// server skips days (a breaker wait of 30 s would come back after 30 skipped seconds to find 30 real ms gone,
// and wait again). So the worker's and the client's clock is the server's: Date.now plus an offset read from
// the server (`env.currentTimeMs()`) as each activity starts, holding the server's clock (see holdServerTime),
// and before each of the test's own client calls.

/** Real milliseconds a server-time gap may exceed its cool-down by: the 500 ms wake-up jitter (random() = 0.5) and the attempt. */
const PROBE_SLACK_MS = 2_500;
const MINUTE_MS = 60_000;

/** A clock that follows the time-skipping server: Date.now plus the offset last read from it. */
function serverClock(currentTimeMs: () => Promise<number>) {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    async sync(): Promise<void> {
      const server = await currentTimeMs();
      offset = server - Date.now();
    },
  };
}

/**
 * The delivery store as the worker (and client) see it: `sync` reads the server clock before each call, and
 * while `outage(now)` says so, every call fails the way a lost database connection does. Pure test plumbing.
 */
function plumbedStore(inner: DataEngine, clock: ReturnType<typeof serverClock>, opts: { sync: boolean; outage?: (now: number) => boolean }): DataEngine & { failedCalls: () => number } {
  const outage = opts.outage ?? (() => false);
  let failed = 0;
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'failedCalls') return () => failed;
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || prop === 'close' || prop === 'migrate') return value;
      return async (...args: unknown[]) => {
        if (opts.sync) await clock.sync();
        if (outage(clock.now())) {
          failed += 1;
          throw new Error('connect ECONNREFUSED 127.0.0.1:5432 (test outage)');
        }
        return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  }) as DataEngine & { failedCalls: () => number };
}

interface Send {
  deliveryId: string;
  /** Server time at which the request was handed to the network. */
  at: number;
}

/** Every request's server time, in send order (see serverTimeRecorder in delivery-checks.ts for why this source). */
function sendLog(currentTimeMs: () => Promise<number>, inner: Dispatcher) {
  const sends: Send[] = [];
  const dispatcher = inner.compose((dispatch) => (options, handler) => {
    const headers = (options.headers ?? {}) as Record<string, string>;
    void currentTimeMs()
      .catch(() => Number.NaN)
      .then((at) => {
        sends.push({ deliveryId: headers['x-herald-delivery-id'] ?? '', at });
        dispatch(options, handler);
      });
    return true;
  });
  return { dispatcher, sends };
}

function requestsOf(rx: Receiver, deliveryId: string): number {
  return rx.requests.filter((r) => r.headers['x-herald-delivery-id'] === deliveryId).length;
}

describe('endpoint health on the time-skipping server', () => {
  let temporal: TemporalForTests;
  let store: DataEngine;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    temporal = await startTimeSkippingTemporal();
    store = await openEngine('memory:');
  });

  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  afterAll(async () => {
    await store?.close();
    await temporal?.teardown();
  });

  async function receiver(): Promise<Receiver> {
    const r = await startReceiver();
    receivers.push(r);
    return r;
  }

  /**
   * A worker and a client on a fresh task queue, both on the server's clock. Workflows run only inside `run(…)`,
   * which holds a whole test body: the worker polls throughout and is shut down however the body ends.
   */
  async function setup(opts: { outage?: (now: number) => boolean } = {}) {
    const taskQueue = uniqueId('tq-');
    const clock = serverClock(() => temporal.env.currentTimeMs());
    await clock.sync();
    // The worker's activities sync the clock once, as they start (below); the test's own client calls sync on each.
    const workerStore = plumbedStore(store, clock, { sync: false, ...(opts.outage ? { outage: opts.outage } : {}) });
    const clientStore = plumbedStore(store, clock, { sync: true });
    const base = testActivityDeps(workerStore, { clock: clock.now, temporal: temporal.env.client, taskQueue, searchAttributes: false });
    const log = sendLog(() => temporal.env.currentTimeMs(), base.dispatcher);
    const testService = temporal.env.connection.testService;
    if (!testService) throw new Error('the time-skipping environment has no test service');
    // The test server does not hold its clock while a retried activity attempt runs (it may jump to the next
    // timer — another attempt's heartbeat timeout, another delivery's retry — mid-attempt). Each activity here
    // holds it, and reads the server's time once it holds it: while any activity runs, the server's clock
    // moves only in real time, so Date.now + that offset is the server's time for every running activity.
    const holdServerTime = () => ({
      inbound: {
        async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>) {
          await testService.lockTimeSkipping({});
          try {
            await clock.sync();
            return await next(input);
          } finally {
            await testService.unlockTimeSkipping({});
          }
        },
      },
    });
    const worker = await createWorker({
      connection: temporal.env.nativeConnection,
      namespace: 'default',
      taskQueue,
      deps: { ...base, dispatcher: log.dispatcher },
      overrides: { interceptors: { activity: [holdServerTime] } },
    });
    const herald = new HeraldClient({ temporal: temporal.env.client, store: clientStore, box: TEST_BOX, taskQueue, searchAttributes: false, clock: clock.now });
    return { herald, clock, sends: log.sends, workerStore, run: <T>(body: () => Promise<T>) => worker.runUntil(body()) };
  }

  // Each test's webhook has a tenant of its own: operational events (herald.webhook.failing, …) go to the
  // tenant's other `*` webhooks, which would otherwise be the earlier tests' webhooks and their closed receivers.
  type Herald = Awaited<ReturnType<typeof setup>>['herald'];

  async function deliver(herald: Herald, webhookId: string) {
    const started = await herald.deliveries.deliver({ webhookId, eventId: uniqueId('evt_'), eventType: 'order.created', payload: { n: 1 } });
    return { ...started, handle: herald.deliveries.handle(started.workflowId) };
  }

  /** Polls the row (real time, the server's clock held) until `check` passes. */
  async function rowReaches(deliveryId: string, check: (row: { status: string; attempts: number }) => boolean) {
    await eventually(async () => {
      const row = await store.findOne<{ status: string; attempts: number }>('herald_deliveries', { where: { id: deliveryId } });
      if (!row || !check({ status: row.status, attempts: Number(row.attempts) })) throw new Error(`row ${deliveryId}: ${JSON.stringify(row && { status: row.status, attempts: row.attempts })}`);
    }, 20_000, 20);
  }

  async function rowAttempts(herald: Herald, ids: string[]): Promise<number[]> {
    return await Promise.all(ids.map(async (id) => (await herald.deliveries.get(id)).attempts));
  }

  async function lastActivityFailure(handle: WorkflowHandle): Promise<{ message: string; attempt: number } | undefined> {
    const pending = (await handle.describe()).raw.pendingActivities?.[0];
    if (!pending) return undefined;
    return { message: pending.lastFailure?.message ?? '', attempt: pending.attempt ?? 0 };
  }

  /** Why a delivery waits: its pending activity's last failure, or (waiting in the workflow) its current details. */
  async function waitReason(handle: WorkflowHandle): Promise<string> {
    const failure = await lastActivityFailure(handle);
    if (failure) return failure.message;
    return (await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata')).currentDetails;
  }

  it('breaker: opens after 3 failed attempts, probes at 30 s, 60 s, 120 s … 600 s in server time, waits spend no attempt, the backlog drains once a probe succeeds', async () => {
    const { herald, sends, run } = await setup();
    await run(async () => {
      const rx = await receiver();
      // Three first attempts, seven failed probes, then the endpoint is back.
      const FAILING_REQUESTS = 3 + 7;
      rx.respond = (_req, index) => (index < FAILING_REQUESTS ? { status: 503, body: 'down' } : { status: 200 });
      // A minute between retries, 19 of them: each delivery is back well before every probe after the first, so it
      // is the breaker (not the schedule) that decides when requests go; concurrency 1 keeps the count exact.
      const { webhook } = await herald.webhooks.create({ tenantId: uniqueId('t-'), url: rx.url, breakerThreshold: 3, maxConcurrency: 1, timeoutMs: 1_000, retrySchedule: Array(19).fill(60), retryJitter: 0 });

      // Three deliveries, one after another, each failing its first attempt: the third failure opens the breaker.
      const failing = [];
      for (let i = 0; i < 3; i++) {
        const d = await deliver(herald, webhook.id);
        await rowReaches(d.deliveryId, (row) => row.attempts === 1 && row.status === 'pending');
        failing.push(d);
      }
      expect(await herald.webhooks.health(webhook.id)).toMatchObject({ state: 'open', consecutiveFailures: 3 });
      // Two more arrive while it is open: their first attempt is a wait, nothing sent, no attempt spent.
      const waiting = [];
      for (let i = 0; i < 2; i++) {
        const d = await deliver(herald, webhook.id);
        await rowReaches(d.deliveryId, (row) => row.status === 'pending');
        waiting.push(d);
      }
      const all = [...failing, ...waiting];
      const ids = all.map((d) => d.deliveryId);
      expect(rx.requests).toHaveLength(3);
      expect(await rowAttempts(herald, ids)).toEqual([1, 1, 1, 0, 0]);
      await eventually(async () => expect(sends).toHaveLength(3));
      const openedAt = sends[2]!.at;

      // Into the open breaker, just before the fourth probe (30 + 60 + 120 + 240 s after it opened): every delivery
      // has woken several times (a minute apart on the schedule), but only the three probes were sent.
      await (temporal.env.sleep(openedAt + (30 + 60 + 120 + 200) * 1000 - (await temporal.env.currentTimeMs())));
      expect(rx.requests).toHaveLength(6);
      const midway = await rowAttempts(herald, ids);
      expect(midway.reduce((a, b) => a + b, 0)).toBe(6);
      ids.forEach((id, i) => expect(midway[i], id).toBe(requestsOf(rx, id)));
      // deliverWebhookV4 waits for the breaker in the workflow: the words are its current details.
      const waitingNow = await Promise.all(all.map((d) => waitReason(d.handle)));
      const breakerWaits = waitingNow.filter((text) => /^breaker open/.test(text));
      expect(breakerWaits.length).toBeGreaterThan(0);
      for (const wait of breakerWaits) expect(wait).toMatch(/no attempt (is )?spent( waiting)?$/);
      expect(await herald.webhooks.health(webhook.id)).toMatchObject({ state: 'open' });

      const results = await (Promise.all(all.map((d) => deliveryResult(d.handle))));

      // The backlog drained: all five delivered, each row counting exactly the requests its delivery sent.
      expect(results.map((r) => r.status)).toEqual(['success', 'success', 'success', 'success', 'success']);
      const finalAttempts = await rowAttempts(herald, ids);
      ids.forEach((id, i) => {
        expect(finalAttempts[i], id).toBe(requestsOf(rx, id));
        expect(results[i]!.attempts, id).toBe(finalAttempts[i]);
      });
      // 3 failures, 7 failed probes, the probe that closed it, then the other four deliveries once each.
      expect(rx.requests).toHaveLength(FAILING_REQUESTS + 1 + 4);
      expect(sends).toHaveLength(rx.requests.length);

      // Probe gaps in server time: 30 s, then doubling, capped at 10 minutes (plus the wake-up jitter).
      const cooldownsS = [30, 60, 120, 240, 480, 600, 600, 600];
      const probeGaps = cooldownsS.map((_, i) => sends[3 + i]!.at - sends[2 + i]!.at);
      probeGaps.forEach((gap, i) => {
        expect(gap, `gap before probe ${i + 1}`).toBeGreaterThanOrEqual(cooldownsS[i]! * 1000);
        expect(gap, `gap before probe ${i + 1}`).toBeLessThan(cooldownsS[i]! * 1000 + PROBE_SLACK_MS);
      });
      // Nothing was sent between the probes: the seven probe intervals hold exactly one request each.
      expect(sends.slice(3, FAILING_REQUESTS + 1).every((s, i) => s.at > sends[2 + i]!.at)).toBe(true);
      // After the successful probe the waiting four went within a lease (16 s) plus jitter, not on the 60 s schedule.
      const closedAt = sends[FAILING_REQUESTS]!.at;
      for (const s of sends.slice(FAILING_REQUESTS + 1)) expect(s.at - closedAt).toBeLessThan(17_500);
      expect(await herald.webhooks.health(webhook.id)).toMatchObject({ state: 'healthy', consecutiveFailures: 0 });
    });
  }, 240_000);

  it('auto-disable: failing for a day (disableAfterDays 1) disables the webhook, its waiting deliveries end skipped (FAILED, HeraldWebhookDisabled); enable + recover delivers them', async () => {
    const { herald, clock, sends, run } = await setup();
    await run(async () => {
      const rx = await receiver();
      let up = false;
      rx.respond = () => (up ? { status: 200 } : { status: 503, body: 'down' });
      // Two hours between retries, 19 of them (the most a schedule may have): more than a day of failing, and at most
      // 13 attempts per delivery in it (every failed probe is followed by a 2-hour sleep), so none runs out.
      const { webhook } = await herald.webhooks.create({ tenantId: uniqueId('t-'), url: rx.url, breakerThreshold: 3, maxConcurrency: 1, disableAfterDays: 1, retrySchedule: Array(19).fill(7200), retryJitter: 0 });
      const since = clock.now();
      const deliveries = [];
      for (let i = 0; i < 3; i++) {
        const d = await deliver(herald, webhook.id);
        await rowReaches(d.deliveryId, (row) => row.attempts === 1 && row.status === 'pending');
        deliveries.push(d);
      }
      await eventually(async () => expect(sends).toHaveLength(3));
      const failingSince = sends[0]!.at;

      const results = await (Promise.all(deliveries.map((d) => deliveryResult(d.handle))));

      // A day (and at most one schedule step) later: disabled, with a reason that says since when and for how long.
      const now = clock.now();
      expect(now - failingSince).toBeGreaterThanOrEqual(24 * 60 * MINUTE_MS);
      expect(now - failingSince).toBeLessThan(25 * 60 * MINUTE_MS + MINUTE_MS);
      const disabled = await herald.webhooks.get(webhook.id);
      expect(disabled.active).toBe(false);
      expect(disabled.disabledReason).toBe(`failing without a success since ${new Date(failingSince).toISOString().slice(0, 16)}Z (1 day)`);
      expect(disabled.disabledAt).toBeGreaterThanOrEqual(failingSince + 24 * 60 * MINUTE_MS);
      // Every request failed; nothing is dead: each delivery is skipped, its row counting the requests it sent.
      expect(rx.requests.length).toBeGreaterThan(3);
      for (const [i, d] of deliveries.entries()) {
        const row = await herald.deliveries.get(d.deliveryId);
        expect(row.status, d.deliveryId).toBe('skipped');
        expect(row.error).toBe(`skipped: webhook disabled (${disabled.disabledReason})`);
        expect(row.attempts).toBe(requestsOf(rx, d.deliveryId));
        expect(results[i]).toMatchObject({ deliveryId: d.deliveryId, status: 'skipped', attempts: row.attempts });
        const failure = await d.handle.result().then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(failure).toBeInstanceOf(WorkflowFailedError);
        expect((failure as WorkflowFailedError).cause).toMatchObject({ type: FailureType.WebhookDisabled, nonRetryable: true });
      }
      expect((await herald.deliveries.list({ webhookId: webhook.id, status: 'dead' })).items).toHaveLength(0);

      // Recover is refused while disabled; once enabled (and the endpoint answers) it redelivers all three.
      await expect(herald.recover(webhook.id, { since, until: clock.now() + 1 })).rejects.toMatchObject({ name: 'ConflictError' });
      up = true;
      const before = rx.requests.length;
      const enabled = await herald.webhooks.enable(webhook.id);
      expect(enabled.active).toBe(true);
      expect(await herald.webhooks.health(webhook.id)).toMatchObject({ state: 'healthy', consecutiveFailures: 0 });
      const job = await herald.recover(webhook.id, { since, until: clock.now() + 1 });
      const recovered = await job.result();
      expect(recovered).toMatchObject({ webhookId: webhook.id, redelivered: 3, scanned: 3 });
      const again = await (Promise.all(deliveries.map((d) => deliveryResult(herald.deliveries.handle(d.workflowId)))));
      expect(again.map((r) => [r.status, r.attempts, r.responseCode])).toEqual([
        ['success', 1, 200],
        ['success', 1, 200],
        ['success', 1, 200],
      ]);
      expect(rx.requests.length - before).toBe(3);
      for (const d of deliveries) expect((await herald.deliveries.get(d.deliveryId)).status).toBe('success');
    });
  }, 240_000);

  it('the delivery database away for 10 minutes after a 503: no delivery dead, attempts = requests sent, the pending activity says "delivery database unavailable"', async () => {
    let outage: { from: number; until: number } | undefined;
    const { herald, clock, workerStore, run } = await setup({ outage: (now) => outage !== undefined && now >= outage.from && now < outage.until });
    await run(async () => {
      const rx = await receiver();
      const seen = new Set<string>();
      // Each delivery's first request fails; every later one succeeds.
      rx.respond = (req) => {
        const id = String(req.headers['x-herald-delivery-id']);
        if (seen.has(id)) return { status: 200 };
        seen.add(id);
        return { status: 503, body: 'down' };
      };
      const { webhook } = await herald.webhooks.create({ tenantId: uniqueId('t-'), url: rx.url });
      expect(webhook.retrySchedule).toEqual([...DEFAULT_RETRY_SCHEDULE_SECONDS]);
      const deliveries = [];
      for (let i = 0; i < 3; i++) deliveries.push(await deliver(herald, webhook.id));
      for (const d of deliveries) await rowReaches(d.deliveryId, (row) => row.attempts === 1 && row.status === 'pending');
      // Let the first attempts return their slots, then the database goes away for 10 minutes of server time,
      // while the deliveries sleep their 5 s before attempt 2.
      await new Promise((r) => setTimeout(r, 200));
      await clock.sync();
      outage = { from: clock.now(), until: clock.now() + 10 * MINUTE_MS };
      expect(rx.requests).toHaveLength(3);

      // Five minutes in: nothing more sent, nothing more counted, and each delivery's activity says why it waits.
      await (temporal.env.sleep(5 * MINUTE_MS));
      expect(rx.requests).toHaveLength(3);
      expect(workerStore.failedCalls()).toBeGreaterThan(3 * 5);
      for (const d of deliveries) {
        const row = await store.findOne<{ status: string; attempts: number }>('herald_deliveries', { where: { id: d.deliveryId } });
        expect({ status: row!.status, attempts: Number(row!.attempts) }).toEqual({ status: 'pending', attempts: 1 });
        const last = await lastActivityFailure(d.handle);
        expect(last?.message, d.deliveryId).toMatch(/^delivery database unavailable \(.*ECONNREFUSED.*\); retrying without spending an attempt$/);
        // Retried many times (1, 2, 4 … 30 s apart), none of them an attempt.
        expect(last!.attempt).toBeGreaterThan(5);
      }

      const results: DeliverWebhookResult[] = await (Promise.all(deliveries.map((d) => deliveryResult(d.handle))));

      expect(clock.now()).toBeGreaterThanOrEqual(outage.until);
      expect(results.map((r) => r.status)).toEqual(['success', 'success', 'success']);
      for (const [i, d] of deliveries.entries()) {
        const row = await herald.deliveries.get(d.deliveryId);
        expect(requestsOf(rx, d.deliveryId)).toBe(2);
        expect(row.attempts).toBe(requestsOf(rx, d.deliveryId));
        expect(results[i]!.attempts).toBe(2);
        expect(row.attemptLog.map((a) => [a.attempt, a.outcome, a.responseCode])).toEqual([
          [1, 'retry', 503],
          [2, 'success', 200],
        ]);
        // Attempt 2 went out only after the database came back.
        expect(row.attemptLog[1]!.startedAt).toBeGreaterThanOrEqual(outage.until);
      }
      expect((await herald.deliveries.list({ webhookId: webhook.id, status: 'dead' })).items).toHaveLength(0);
    });
  }, 240_000);

  it('a delivery cancelled with its request in flight: cancelled, and the attempt log says the outcome of that attempt is unknown', async () => {
    const { herald, run } = await setup();
    await run(async () => {
      const rx = await receiver();
      // Attempt 1 fails at once; attempt 2 (the regular activity, which heartbeats) hangs until it is cancelled.
      rx.respond = (_req, index) => (index === 0 ? { status: 503 } : { status: 200, delayMs: 30_000 });
      const { webhook } = await herald.webhooks.create({ tenantId: uniqueId('t-'), url: rx.url, timeoutMs: 60_000, retrySchedule: [5], retryJitter: 0 });
      const d = await deliver(herald, webhook.id);

      const cancelWhenInFlight = (async () => {
        await eventually(async () => expect(rx.requests).toHaveLength(2), 30_000, 20);
        await rowReaches(d.deliveryId, (row) => row.status === 'in_flight' && row.attempts === 2);
        await herald.deliveries.cancel(d.deliveryId);
      })();
      const [result] = await (Promise.all([deliveryResult(d.handle), cancelWhenInFlight]));

      expect(result).toMatchObject({ status: 'cancelled', attempts: 2 });
      const row = await herald.deliveries.get(d.deliveryId);
      expect(row.status).toBe('cancelled');
      expect(row.attempts).toBe(2);
      expect(row.attemptLog).toHaveLength(2);
      expect(row.attemptLog[0]).toMatchObject({ attempt: 1, outcome: 'retry', responseCode: 503 });
      expect(row.attemptLog[1]).toMatchObject({ attempt: 2, responseCode: null });
      expect(row.attemptLog[1]!.error).toMatch(/^outcome unknown/);
    });
  }, 240_000);
});
