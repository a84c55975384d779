import type { WorkflowHandle } from '@temporalio/client';
import type { Next } from '@temporalio/common';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor } from '@temporalio/worker';
import type { Dispatcher } from 'undici';
import { HeraldClient } from '../../src/client/herald-client.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { eventually } from './delivery-checks.js';
import { testActivityDeps, uniqueId, TEST_BOX } from './deps.js';
import type { Receiver } from './receiver.js';
import { useTimeSkippingServer } from './time-skipping-server.js';

// Endpoint health (issue #11) on the time-skipping server: a worker, client and receivers in skipped time with
// real HTTP on loopback, for test/endpoints/*.time-skipping.*.
//
// The clock. The gate and auto-disable read `deps.clock`; with `Date.now` they would see seconds pass while the
// server skips days (a breaker wait of 30 s would come back after 30 skipped seconds to find 30 real ms gone,
// and wait again). So the worker's and the client's clock is the server's: Date.now plus an offset read from
// the server (`env.currentTimeMs()`) as each activity starts, holding the server's clock (see holdServerTime),
// and before each of the test's own client calls.

/** Real milliseconds a server-time gap may exceed its cool-down by: the 500 ms wake-up jitter (random() = 0.5) and the attempt. */
export const PROBE_SLACK_MS = 2_500;
export const MINUTE_MS = 60_000;

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

export function requestsOf(rx: Receiver, deliveryId: string): number {
  return rx.requests.filter((r) => r.headers['x-herald-delivery-id'] === deliveryId).length;
}

/** Registers the server's lifecycle hooks for the calling file and returns its helpers. */
export function useTimeSkippingEndpointEnv() {
  const server = useTimeSkippingServer();
  const receiver = () => server.receiver();

  /**
   * A worker and a client on a fresh task queue, both on the server's clock. Workflows run only inside `run(…)`,
   * which holds a whole test body: the worker polls throughout and is shut down however the body ends.
   */
  async function setup(opts: { outage?: (now: number) => boolean } = {}) {
    const taskQueue = uniqueId('tq-');
    const clock = serverClock(() => server.temporal.env.currentTimeMs());
    await clock.sync();
    // The worker's activities sync the clock once, as they start (below); the test's own client calls sync on each.
    const workerStore = plumbedStore(server.store, clock, { sync: false, ...(opts.outage ? { outage: opts.outage } : {}) });
    const clientStore = plumbedStore(server.store, clock, { sync: true });
    const base = testActivityDeps(workerStore, { clock: clock.now, temporal: server.temporal.env.client, taskQueue, searchAttributes: false });
    const log = sendLog(() => server.temporal.env.currentTimeMs(), base.dispatcher);
    const testService = server.temporal.env.connection.testService;
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
      connection: server.temporal.env.nativeConnection,
      namespace: 'default',
      taskQueue,
      deps: { ...base, dispatcher: log.dispatcher },
      overrides: { interceptors: { activity: [holdServerTime] } },
    });
    const herald = new HeraldClient({ temporal: server.temporal.env.client, store: clientStore, box: TEST_BOX, taskQueue, searchAttributes: false, clock: clock.now });
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
      const row = await server.store.findOne<{ status: string; attempts: number }>('herald_deliveries', { where: { id: deliveryId } });
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

  return { store: () => server.store, temporal: () => server.temporal, receiver, setup, deliver, rowReaches, rowAttempts, lastActivityFailure, waitReason };
}
