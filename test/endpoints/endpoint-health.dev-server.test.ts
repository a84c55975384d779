import { Webhook as StandardWebhook } from 'standardwebhooks';
import { spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { WorkflowFailedError } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeraldClient } from '../../src/client/herald-client.js';
import { deliveryResult } from '../../src/delivery/delivery-result.js';
import { FailureType } from '../../src/delivery/failure-types.js';
import { ENDPOINT_READY_SIGNAL } from '../../src/delivery/signals.js';
import { HeraldMetrics } from '../../src/metrics/metrics.js';
import type { Delivery } from '../../src/store/deliveries.js';
import { eventually } from '../support/delivery-checks.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { testActivityDeps, uniqueId } from '../support/deps.js';
import { useDevServerFixture } from '../support/dev-server-fixture.js';
import { ADMIN_TOKEN, caller, testApi } from '../support/http.js';
import { sample } from '../support/prometheus.js';
import type { ReceivedRequest, Receiver, Responder } from '../support/receiver.js';

// Issue #11's dev-server proof of endpoint health: a real Temporal dev server, two workers polling one task
// queue (each with its own endpoint gate and metrics, sharing only the SQLite delivery table, as two worker
// processes would), deliverWebhookV4 runs, and receivers on 127.0.0.1 that record what reaches them.

/**
 * The worker's real metrics, also noting when each endpoint-gate permit was granted: the gate reports its
 * in-flight count synchronously as it grants (and as permits return), so each rise is one grant.
 */
class GrantRecordingMetrics extends HeraldMetrics {
  readonly grants = new Map<string, number[]>();
  readonly #inFlight = new Map<string, number>();

  override setEndpointInFlight(webhookId: string, inFlight: number): void {
    if (inFlight > (this.#inFlight.get(webhookId) ?? 0)) {
      const times = this.grants.get(webhookId) ?? [];
      times.push(Date.now());
      this.grants.set(webhookId, times);
    }
    this.#inFlight.set(webhookId, inFlight);
    super.setEndpointInFlight(webhookId, inFlight);
  }
}

/**
 * A receiver in its own process, answering 200 and noting when each request arrived: the test process runs
 * both workers, whose event loop is busy, and would note arrivals late (and so bunched).
 */
const ARRIVALS_SCRIPT = `
const http = require('node:http');
const arrivals = [];
const server = http.createServer((req, res) => {
  if (req.url === '/arrivals') { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify(arrivals)); return; }
  const at = Date.now();
  req.resume();
  req.on('end', () => { arrivals.push({ id: String(req.headers['webhook-id']), at }); res.writeHead(200); res.end('ok'); });
});
server.listen(0, '127.0.0.1', () => process.stdout.write('port ' + server.address().port + '\\n'));
`;

async function startArrivalsReceiver(): Promise<{ url: string; arrivals(): Promise<{ id: string; at: number }[]>; close(): void }> {
  const child = spawn(process.execPath, ['-e', ARRIVALS_SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`the receiver process exited (${code}) before listening`)));
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    url: `${base}/hook`,
    arrivals: async () => (await (await fetch(`${base}/arrivals`)).json()) as { id: string; at: number }[],
    close: () => child.kill('SIGKILL'),
  };
}

describe('endpoint health on the dev server', () => {
  const dev = useDevServerFixture('endpoint-health');
  let herald: HeraldClient;
  let taskQueue: string;
  const workerMetrics = [new GrantRecordingMetrics(), new GrantRecordingMetrics()];
  let secondRun: Promise<void> | undefined;
  let stopSecond: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ taskQueue } = await dev.runningWorker({ deps: { metrics: workerMetrics[0]! } }));
    // The SDK refuses two workers of one task queue on one connection: the second gets its own, as a second
    // worker process would.
    const connection = await NativeConnection.connect({ address: dev.temporal.address });
    const second = await createWorker({ connection, namespace: 'default', taskQueue, deps: testActivityDeps(dev.store, { temporal: dev.temporal.env.client, taskQueue, metrics: workerMetrics[1]! }) });
    secondRun = second.run();
    stopSecond = async () => {
      if (second.getState() === 'RUNNING') second.shutdown();
      await secondRun?.catch(() => undefined);
      await connection.close();
    };
    herald = dev.client({ taskQueue });
  });

  afterAll(async () => {
    await stopSecond?.();
  });

  /** What the receiver answered, by request: the webhook-id header, status and arrival time. */
  interface Answer {
    id: string;
    status: number;
    at: number;
  }

  /** Sets `rx.respond` to `respond` and records each answer it gives. */
  function scripted(rx: Receiver, respond: Responder): Answer[] {
    const answers: Answer[] = [];
    rx.respond = (req, index) => {
      const answer = respond(req, index);
      answers.push({ id: String(req.headers['webhook-id']), status: answer.status, at: req.at });
      return answer;
    };
    return answers;
  }

  /** The most arrivals any 1-second window [t, t + 1000) holds. */
  function busiestSecond(times: number[]): number {
    const sorted = [...times].sort((a, b) => a - b);
    let best = 0;
    for (let i = 0, j = 0; i < sorted.length; i++) {
      while (j < sorted.length && sorted[j]! - sorted[i]! < 1000) j++;
      best = Math.max(best, j - i);
    }
    return best;
  }

  /** Every delivery row of a webhook (paged). */
  async function deliveriesOf(webhookId: string): Promise<Delivery[]> {
    const all: Delivery[] = [];
    let cursor: string | undefined;
    do {
      const page = await herald.deliveries.list({ webhookId, limit: 100, ...(cursor ? { cursor } : {}) });
      all.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return all;
  }

  /** Publishes `count` events, at most 25 publishes at a time; returns their ids. */
  /** Moves the endpoint's next probe time: a compare-and-set on the state row's version, as the gate writes. */
  async function moveProbeTime(webhookId: string, to: number): Promise<void> {
    const state = await dev.store.findOne('herald_endpoint_state', { where: { id: webhookId } });
    const moved = await dev.store.update('herald_endpoint_state', { next_probe_at: to, version: Number(state!.version) + 1 }, { where: { id: webhookId, version: state!.version } });
    expect(moved).toBe(1);
  }

  /** Until each delivery waits behind the breaker, its current details matching `details` (and, if asked, no activity pending). */
  async function waitBehindBreaker(client: HeraldClient, workflowIds: string[], details: string | RegExp, opts: { noActivity: boolean }): Promise<void> {
    for (const workflowId of workflowIds) {
      const handle = client.deliveries.handle(workflowId);
      await eventually(async () => {
        const { currentDetails } = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
        if (typeof details === 'string') expect(currentDetails).toBe(details);
        else expect(currentDetails).toMatch(details);
        if (opts.noActivity) expect((await handle.describe()).raw.pendingActivities ?? []).toEqual([]);
      }, 15_000, 200);
    }
  }

  async function publishMany(tenantId: string, type: string, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let from = 0; from < count; from += 25) {
      const batch = Array.from({ length: Math.min(25, count - from) }, (_, k) => herald.events.publish({ tenantId, type, payload: { n: from + k } }));
      ids.push(...(await Promise.all(batch)).map((p) => p.eventId));
    }
    return ids;
  }

  const typeOf = (r: ReceivedRequest) => (JSON.parse(r.body) as { type: string }).type;
  const successes = (text: string) => sample(text, 'herald_delivery_attempts_total{outcome="success"}') ?? 0;

  it('rateLimitPerSecond 5 across 2 workers: 200 events, never more than 5 in any 1-second window, each once, no attempt spent waiting', async () => {
    const tenantId = uniqueId('t-');
    const rx = await startArrivalsReceiver();
    try {
      const { webhook } = await herald.webhooks.create({ tenantId, url: rx.url, eventTypes: ['order.created'], rateLimitPerSecond: 5, retryJitter: 0 });
      const successesBefore = await Promise.all(workerMetrics.map(async (m) => successes(await m.text())));

      const loopDelay = monitorEventLoopDelay({ resolution: 10 });
      loopDelay.enable();
      const started = Date.now();
      const eventIds = await publishMany(tenantId, 'order.created', 200);
      const published = Date.now();
      await eventually(async () => expect(await rx.arrivals()).toHaveLength(200), 75_000, 250);
      const finished = Date.now();
      loopDelay.disable();
      console.log(`rate limit: worker process event-loop delay p50 ${(loopDelay.percentile(50) / 1e6).toFixed(0)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, max ${(loopDelay.max / 1e6).toFixed(0)} ms`);
      // Anything extra (a duplicate) would arrive right behind the last one.
      await new Promise((r) => setTimeout(r, 1_500));
      const arrivals = await rx.arrivals();

      const times = arrivals.map((a) => a.at);
      const granted = workerMetrics.flatMap((m) => m.grants.get(webhook.id) ?? []);
      const span = (Math.max(...times) - Math.min(...times)) / 1000;
      const lags = [...times].sort((a, b) => a - b).map((t, i) => t - [...granted].sort((a, b) => a - b)[i]!);
      console.log(
        `rate limit: published 200 in ${published - started} ms; 200 arrived in ${finished - started} ms (${(199 / span).toFixed(2)}/s first to last); ` +
          `busiest second: ${busiestSecond(times)} arrivals, ${busiestSecond(granted)} grants; grant→arrival (by rank) max ${Math.max(...lags)} ms`,
      );
      // One grant per request, plus the few a slow moment made stale before their request went (renewed).
      expect(granted.length).toBeGreaterThanOrEqual(200);
      expect(granted.length).toBeLessThan(220);
      // The gates granted at most 5 in any second, across both workers. What the endpoint itself sees in its
      // busiest second is logged above, not asserted: on a loaded 2-core machine a request can reach it over a
      // second after its grant (the log prints the lag), so its 1-second windows can hold more than the limit.
      // That gap is a known limit of the gate (the issue's note says so), not something this test may hide.
      expect(busiestSecond(granted), 'grants by the endpoint gates in the busiest second').toBeLessThanOrEqual(5);
      expect(arrivals).toHaveLength(200);
      expect(new Set(arrivals.map((a) => a.id))).toEqual(new Set(eventIds));

      // Waiting for a token was never an attempt: every row made exactly one, and it succeeded.
      const rows = await eventually(async () => {
        const items = await deliveriesOf(webhook.id);
        expect(items).toHaveLength(200);
        for (const d of items) expect(d.status).toBe('success');
        return items;
      }, 15_000);
      expect(rows.map((d) => d.attempts)).toEqual(Array(200).fill(1));
      // Both workers sent some of them: the limit held across two gates sharing only the table.
      const successesAfter = await Promise.all(workerMetrics.map(async (m) => successes(await m.text())));
      const perWorker = successesAfter.map((n, i) => n - successesBefore[i]!);
      console.log(`rate limit: sends per worker ${perWorker.join(' / ')}`);
      expect(perWorker[0]! + perWorker[1]!).toBe(200);
      for (const n of perWorker) expect(n).toBeGreaterThan(0);
    } finally {
      rx.close();
    }
  }, 120_000);

  it('adaptive concurrency: an endpoint answering 429 above 3 in flight gets fewer concurrent requests; the limit gauge drops below 20; all 60 arrive', async () => {
    const K = 3;
    const RESPONSE_MS = 200;
    const tenantId = uniqueId('t-');
    const rx = await dev.receiver();
    let inFlight = 0;
    /** In flight (this request included) as each request arrived, by arrival order. */
    const observed: number[] = [];
    const answers = scripted(rx, () => {
      inFlight += 1;
      observed.push(inFlight);
      const status = inFlight > K ? 429 : 200;
      // Created before the receiver's own reply timer of the same delay, so it fires just before the reply.
      setTimeout(() => (inFlight -= 1), RESPONSE_MS);
      return { status, delayMs: RESPONSE_MS };
    });
    const { webhook } = await herald.webhooks.create({
      tenantId,
      url: rx.url,
      eventTypes: ['order.created'],
      maxConcurrency: 20,
      retrySchedule: Array<number>(15).fill(1),
      retryJitter: 0,
    });
    const series = `herald_endpoint_concurrency_limit{webhook_id="${webhook.id}"}`;

    const gauges: number[] = [];
    const healthLimits: number[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const m of workerMetrics) {
          const v = sample(await m.text(), series);
          if (v !== undefined) gauges.push(v);
        }
        const h = await herald.webhooks.health(webhook.id);
        if (h.effectiveConcurrency !== null) healthLimits.push(h.effectiveConcurrency);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    const started = Date.now();
    const eventIds = await Promise.all(Array.from({ length: 60 }, (_, n) => herald.events.publish({ tenantId, type: 'order.created', payload: { n } }).then((p) => p.eventId)));
    try {
      await eventually(
        async () => {
          expect(new Set(answers.filter((a) => a.status === 200).map((a) => a.id)).size).toBe(60);
        },
        50_000,
        200,
      );
    } finally {
      watching = false;
      await watcher;
    }
    const elapsed = Date.now() - started;

    const firstBurst = observed.slice(0, 20);
    const secondHalf = observed.slice(Math.floor(observed.length / 2));
    const throttled = (part: Answer[]) => part.filter((a) => a.status === 429).length;
    const half = Math.floor(answers.length / 2);
    console.log(
      `adaptive: ${answers.length} requests for 60 events in ${elapsed} ms; max in flight first 20 ${Math.max(...firstBurst)}, second half ${Math.max(...secondHalf)}; ` +
        `429s first half ${throttled(answers.slice(0, half))}, second half ${throttled(answers.slice(half))}; gauge min ${Math.min(...gauges)}, health min ${Math.min(...healthLimits)}`,
    );
    expect(Math.max(...firstBurst)).toBeGreaterThan(K);
    expect(Math.max(...secondHalf)).toBeLessThan(Math.max(...firstBurst));
    expect(throttled(answers.slice(half))).toBeLessThan(throttled(answers.slice(0, half)));
    expect(gauges[0]).toBe(20);
    expect(Math.min(...gauges)).toBeLessThan(20);
    expect(Math.min(...healthLimits)).toBeLessThan(20);

    // Every event arrived, answered 200 exactly once; the rows agree.
    const okIds = answers.filter((a) => a.status === 200).map((a) => a.id);
    expect(okIds).toHaveLength(60);
    expect(new Set(okIds)).toEqual(new Set(eventIds));
    const rows = await eventually(async () => {
      const items = await deliveriesOf(webhook.id);
      for (const d of items) expect(d.status).toBe('success');
      expect(items).toHaveLength(60);
      return items;
    }, 15_000);
    // Each attempt is one request: the table counted no waits.
    expect(rows.reduce((sum, d) => sum + d.attempts, 0)).toBe(answers.length);
  }, 120_000);

  it('breaker: an endpoint down gets probes, not 20 retries; its deliveries wait without spending attempts; it drains once after the probe; operators hear failing and recovered', async () => {
    const tenantId = uniqueId('t-');
    const [rx, opsRx, allRx] = await Promise.all([dev.receiver(), dev.receiver(), dev.receiver()]);
    let down = true;
    const answers = scripted(rx, () => ({ status: down ? 503 : 200 }));
    const ops = await herald.webhooks.create({ tenantId, url: opsRx.url, eventTypes: ['herald.*'], retryJitter: 0 });
    await herald.webhooks.create({ tenantId, url: allRx.url, eventTypes: ['*'], retryJitter: 0 });
    const { webhook } = await herald.webhooks.create({
      tenantId,
      url: rx.url,
      eventTypes: ['order.*'],
      breakerThreshold: 3,
      retrySchedule: [1, 1, 1, 1, 1],
      retryJitter: 0,
    });

    const started = Date.now();
    const eventIds = await publishMany(tenantId, 'order.created', 20);
    const open = await eventually(
      async () => {
        const h = await herald.webhooks.health(webhook.id);
        expect(h.state).toBe('open');
        return h;
      },
      20_000,
      100,
    );
    const openedAt = Date.now();
    expect(open.consecutiveFailures).toBeGreaterThanOrEqual(3);
    expect(open.nextProbeAt).not.toBeNull();
    expect(open.nextProbeAt! - openedAt).toBeGreaterThan(20_000);
    expect(open.nextProbeAt! - openedAt).toBeLessThanOrEqual(31_000);
    // The HTTP API shows the same.
    const api = testApi({ temporal: dev.temporal.env.client, store: dev.store, taskQueue });
    const shown = await caller(api.app, ADMIN_TOKEN).get(`/v1/webhooks/${webhook.id}`);
    expect(shown.status).toBe(200);
    expect(shown.body.health).toMatchObject({ state: 'open', nextProbeAt: new Date(open.nextProbeAt!).toISOString() });

    // Let the first round settle (sends admitted before the breaker opened), then watch ~10 s of the open breaker.
    await new Promise((r) => setTimeout(r, 1_500));
    const firstRound = rx.requests.length;
    await new Promise((r) => setTimeout(r, 10_000));
    const whileOpen = rx.requests.length - firstRound;
    console.log(`breaker: opened ${openedAt - started} ms after publishing; ${firstRound} requests before, ${whileOpen} during 10 s open; probe due in ${open.nextProbeAt! - Date.now()} ms`);
    expect(firstRound).toBeLessThanOrEqual(20);
    expect(whileOpen).toBeLessThanOrEqual(1);

    // Every waiting delivery says why; the table counted only the requests actually sent.
    const waiting = await deliveriesOf(webhook.id);
    expect(waiting).toHaveLength(20);
    for (const d of waiting) expect(d.status).not.toBe('success');
    expect(waiting.reduce((sum, d) => sum + d.attempts, 0)).toBe(rx.requests.length);
    for (const d of waiting) expect(d.attempts).toBeLessThanOrEqual(1);
    // Why each waits, where the Web UI shows it: deliverWebhookV4 waits for the breaker in the workflow (a timer,
    // with the words as its current details); a delivery still in its retry activity has them as its last failure.
    const reasons = await Promise.all(
      waiting.map(async (d) => {
        const handle = herald.deliveries.handle(d.workflowId);
        const pending = (await handle.describe()).raw.pendingActivities?.[0];
        if (pending) return { where: 'activity', text: pending.lastFailure?.message ?? '(no last failure)' };
        const { currentDetails } = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
        return { where: 'details', text: currentDetails };
      }),
    );
    console.log(`breaker: ${reasons.filter((r) => r.where === 'activity').length} waiting in their retry activity, ${reasons.filter((r) => r.where === 'details').length} in a timer`);
    for (const r of reasons) expect(r.text).toMatch(r.where === 'activity' ? /^breaker open until .*; no attempt spent$/ : /^breaker open until .*; no attempt is spent waiting$/);

    // The endpoint comes back: the probe after the cool-down closes the breaker and the backlog drains.
    down = false;
    await eventually(
      async () => {
        expect(new Set(answers.filter((a) => a.status === 200).map((a) => a.id)).size).toBe(20);
      },
      open.nextProbeAt! - Date.now() + 40_000,
      200,
    );
    await new Promise((r) => setTimeout(r, 1_000));
    const okAnswers = answers.filter((a) => a.status === 200);
    const probeAt = Math.min(...okAnswers.map((a) => a.at));
    const lastAt = Math.max(...okAnswers.map((a) => a.at));
    console.log(`breaker: the probe arrived ${probeAt - open.nextProbeAt!} ms after nextProbeAt; the last of the 20 ${lastAt - probeAt} ms after the probe`);
    if (lastAt - probeAt > 5_000) {
      // Why the slowest came late, in its own history (times after the probe).
      const slowest = okAnswers.find((a) => a.at === lastAt)!;
      const row = (await deliveriesOf(webhook.id)).find((d) => d.id === slowest.id);
      const history = row ? await herald.deliveries.handle(row.workflowId).fetchHistory() : undefined;
      const events = (history?.events ?? []).map((e) => {
        const at = e.eventTime?.seconds ? Number(e.eventTime.seconds) * 1000 + Math.floor((e.eventTime.nanos ?? 0) / 1e6) - probeAt : 0;
        const timer = e.timerStartedEventAttributes?.startToFireTimeout?.seconds;
        return `${String(e.eventType).replace('EVENT_TYPE_', '')}@${at}${timer ? `(${String(timer)}s)` : ''}`;
      });
      console.log(`breaker: the slowest (${slowest.id}): ${events.join(' ')}`);
    }
    // The probe was the first request after the breaker opened, at its time, and the backlog followed it well
    // before the probe's lease (45 s) would have ended: locally within a second (the close's signal wakes it);
    // two loaded CI runs saw the last one 14.5 s after the probe, not diagnosed (the slowest one's history is
    // printed above when it happens). The signal's own timing is proven by the hour-long waits test below.
    expect(answers.slice(firstRound + whileOpen).filter((a) => a.status === 503)).toEqual([]);
    expect(probeAt).toBeGreaterThanOrEqual(open.nextProbeAt! - 50);
    expect(lastAt - probeAt).toBeLessThanOrEqual(25_000);
    expect(okAnswers.map((a) => a.id).sort()).toEqual([...eventIds].sort());
    const rows = await eventually(async () => {
      const items = await deliveriesOf(webhook.id);
      for (const d of items) expect(d.status).toBe('success');
      return items;
    }, 10_000);
    expect(rows.reduce((sum, d) => sum + d.attempts, 0)).toBe(rx.requests.length);
    await eventually(async () => {
      expect(await herald.webhooks.health(webhook.id)).toMatchObject({ state: 'healthy', consecutiveFailures: 0, nextProbeAt: null });
    }, 5_000);

    // The operator webhook heard both transitions, signed; `*` heard only the tenant's events.
    const opEvents = await eventually(async () => {
      const types = opsRx.requests.map(typeOf);
      expect(types).toEqual(expect.arrayContaining(['herald.webhook.failing', 'herald.webhook.recovered']));
      return opsRx.requests;
    }, 15_000);
    expect(opEvents).toHaveLength(2);
    for (const r of opEvents) {
      const headers = r.headers as Record<string, string>;
      const envelope = new StandardWebhook(ops.secret).verify(r.body, {
        'webhook-id': headers['webhook-id']!,
        'webhook-timestamp': headers['webhook-timestamp']!,
        'webhook-signature': headers['webhook-signature']!,
      }) as { type: string; data: Record<string, unknown> };
      expect(envelope.data).toMatchObject({ webhookId: webhook.id, url: webhook.url });
      // The failures counted when it opened (the threshold); requests already in flight may fail after that.
      if (envelope.type === 'herald.webhook.failing') expect(envelope.data).toMatchObject({ consecutiveFailures: 3, nextProbeAt: new Date(open.nextProbeAt!).toISOString() });
    }
    await allRx.waitForRequests(20, 10_000);
    expect(allRx.requests.map(typeOf)).toEqual(Array(20).fill('order.created'));
  }, 120_000);

  it('breaker close wakes the deliveries waiting behind it: waits of an hour end with the endpoint-ready signal seconds after the probe succeeds', async () => {
    const rx = await dev.receiver();
    let down = true;
    const answers = scripted(rx, () => ({ status: down ? 503 : 200 }));
    const { webhook } = await herald.webhooks.create({ url: rx.url, breakerThreshold: 1, retrySchedule: [3], retryJitter: 0 });
    const deliver = (name: string) => herald.deliveries.deliver({ webhookId: webhook.id, eventId: uniqueId(`evt_${name}_`), eventType: 'order.created', payload: { name } });

    // One failure opens the breaker; its probe time is then moved an hour ahead (a compare-and-set on the
    // state row's version, as the gate writes), so every delivery that meets it waits an hour.
    const first = await deliver('first');
    await eventually(async () => expect((await herald.webhooks.health(webhook.id)).state).toBe('open'), 20_000, 100);
    const hourAhead = Date.now() + 3_600_000;
    await moveProbeTime(webhook.id, hourAhead);
    const waiting = [first, await deliver('second'), await deliver('third')];
    // Each waits in its workflow (no activity retrying), for about an hour, and says so.
    const until = `breaker open until ${new Date(hourAhead).toISOString().slice(11, 19)} UTC after 1 consecutive failure; no attempt is spent waiting`;
    await waitBehindBreaker(herald, waiting.map((d) => d.workflowId), until, { noActivity: true });
    expect(answers).toHaveLength(1);

    // The endpoint is back and the probe is due: the next delivery is the probe, and its success closes the
    // breaker, which signals the three waiting an hour; they send within seconds, each once.
    down = false;
    await moveProbeTime(webhook.id, Date.now());
    const probe = await deliver('probe');
    const probeDone = Date.now();
    await eventually(async () => expect(answers.filter((a) => a.status === 200)).toHaveLength(4), 20_000, 100);
    const okAt = answers.filter((a) => a.status === 200).map((a) => a.at);
    console.log(`breaker wake: the three waiting deliveries sent ${Math.max(...okAt) - Math.min(...okAt)} ms after the probe`);
    expect(Math.max(...okAt) - probeDone).toBeLessThan(15_000);
    for (const d of [...waiting, probe]) {
      const row = await eventually(async () => {
        const r = await herald.deliveries.get(d.deliveryId);
        expect(r.status).toBe('success');
        return r;
      }, 10_000);
      expect(row.attempts).toBe(d === first ? 2 : 1);
    }
    // The waiting ones were woken by the signal, not by their timers.
    for (const d of waiting) {
      const history = await herald.deliveries.handle(d.workflowId).fetchHistory();
      expect(history.events?.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'heraldEndpointReady')).toBe(true);
    }
    expect(new Set(answers.filter((a) => a.status === 200).map((a) => a.id)).size).toBe(4);
  }, 120_000);

  it('an operator disabling the webhook wakes its deliveries waiting behind the breaker: they end skipped in seconds, not at the end of their hour', async () => {
    const rx = await dev.receiver(() => ({ status: 503 }));
    const { webhook } = await herald.webhooks.create({ url: rx.url, breakerThreshold: 1, retrySchedule: [3], retryJitter: 0 });
    const first = await herald.deliveries.deliver({ webhookId: webhook.id, eventId: uniqueId('evt_op_'), eventType: 'order.created', payload: {} });
    await eventually(async () => expect((await herald.webhooks.health(webhook.id)).state).toBe('open'), 20_000, 100);
    await moveProbeTime(webhook.id, Date.now() + 3_600_000);
    const second = await herald.deliveries.deliver({ webhookId: webhook.id, eventId: uniqueId('evt_op_'), eventType: 'order.created', payload: {} });
    await waitBehindBreaker(herald, [first.workflowId, second.workflowId], /^breaker open until /, { noActivity: false });
    const disabledAt = Date.now();
    await herald.webhooks.disable(webhook.id, 'endpoint retired');
    const results = await Promise.all([first, second].map((d) => deliveryResult(herald.deliveries.handle(d.workflowId))));
    expect(results.map((r) => r.status)).toEqual(['skipped', 'skipped']);
    expect(Date.now() - disabledAt).toBeLessThan(15_000);
    expect(rx.requests).toHaveLength(1);
  }, 60_000);

  it('auto-disable: failing without a success for disableAfterDays (1; the worker\'s clock a day on) disables the webhook; its waiting deliveries end skipped, FAILED with HeraldWebhookDisabled; enable + recover delivers them', async () => {
    // A worker of its own whose clock can jump a day: the gate and auto-disable read the activities' clock.
    let skewMs = 0;
    const { taskQueue: skewedQueue } = await dev.runningWorker({ deps: { clock: () => Date.now() + skewMs } });
    const client = dev.client({ taskQueue: skewedQueue });
    const rx = await dev.receiver();
    let up = false;
    const answers = scripted(rx, () => ({ status: up ? 200 : 503 }));
    const { webhook } = await client.webhooks.create({ url: rx.url, breakerThreshold: 1, disableAfterDays: 1, retrySchedule: [2], retryJitter: 0 });
    const since = Date.now() - 1;
    const deliver = (name: string) => client.deliveries.deliver({ webhookId: webhook.id, eventId: uniqueId(`evt_${name}_`), eventType: 'order.created', payload: { name } });

    const first = await deliver('first');
    await eventually(async () => expect((await client.webhooks.health(webhook.id)).state).toBe('open'), 20_000, 100);
    const failingSince = answers[0]!.at;
    const waiting = [first, await deliver('second'), await deliver('third')];
    await waitBehindBreaker(client, waiting.map((d) => d.workflowId), /^breaker open until /, { noActivity: true });
    expect(answers).toHaveLength(1);

    // A day and a minute pass for the worker. Each waiting delivery is woken (the signal a closing breaker sends;
    // here it stands in for their timers ending): the first to look disables the endpoint, all end skipped.
    skewMs = 24 * 3_600_000 + 60_000;
    await Promise.all(waiting.map((d) => client.deliveries.handle(d.workflowId).signal(ENDPOINT_READY_SIGNAL)));
    const results = await Promise.all(waiting.map((d) => deliveryResult(client.deliveries.handle(d.workflowId))));
    const disabled = await client.webhooks.get(webhook.id);
    expect(disabled.active).toBe(false);
    expect(disabled.disabledReason).toBe(`failing without a success since ${new Date(failingSince).toISOString().slice(0, 16)}Z (1 day)`);
    expect(answers).toHaveLength(1);
    for (const [i, d] of waiting.entries()) {
      const row = await client.deliveries.get(d.deliveryId);
      expect(row.status).toBe('skipped');
      expect(row.error).toBe(`skipped: webhook disabled (${disabled.disabledReason})`);
      expect(results[i]).toMatchObject({ status: 'skipped', attempts: i === 0 ? 1 : 0 });
      const failure = await client.deliveries.handle(d.workflowId).result().then(() => undefined, (err: unknown) => err);
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      expect((failure as WorkflowFailedError).cause).toMatchObject({ type: FailureType.WebhookDisabled, nonRetryable: true });
    }
    expect(await client.webhooks.health(webhook.id)).toMatchObject({ state: 'disabled' });

    // Recover is refused while disabled; enabled again (healthy, the endpoint answering), it redelivers all three.
    await expect(client.recover(webhook.id, { since, until: Date.now() + 1 })).rejects.toMatchObject({ name: 'ConflictError' });
    up = true;
    skewMs = 0;
    await client.webhooks.enable(webhook.id);
    expect(await client.webhooks.health(webhook.id)).toMatchObject({ state: 'healthy', consecutiveFailures: 0 });
    const job = await client.recover(webhook.id, { since, until: Date.now() + 1 });
    expect(await job.result()).toMatchObject({ webhookId: webhook.id, redelivered: 3 });
    for (const d of waiting) {
      const again = await deliveryResult(client.deliveries.handle(d.workflowId));
      expect(again).toMatchObject({ status: 'success', attempts: 1, responseCode: 200 });
    }
    expect(answers.filter((a) => a.status === 200)).toHaveLength(3);
  }, 120_000);

  it('tenant policy: a webhook that sets nothing inherits retrySchedule [1] and rateLimitPerSecond 2; a failing delivery makes exactly 2 attempts', async () => {
    const tenantId = uniqueId('t-');
    const [failRx, okRx] = await Promise.all([dev.receiver(() => ({ status: 500 })), dev.receiver()]);
    const policy = await herald.tenants.putPolicy(tenantId, { retrySchedule: [1], rateLimitPerSecond: 2 });
    expect(policy.settings).toEqual({ retrySchedule: [1], rateLimitPerSecond: 2 });
    const failing = await herald.webhooks.create({ tenantId, url: failRx.url, eventTypes: ['order.failed'] });
    const limited = await herald.webhooks.create({ tenantId, url: okRx.url, eventTypes: ['order.created'] });

    const api = testApi({ temporal: dev.temporal.env.client, store: dev.store, taskQueue });
    for (const { webhook } of [failing, limited]) {
      const res = await caller(api.app, ADMIN_TOKEN).get(`/v1/webhooks/${webhook.id}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ retrySchedule: [1], rateLimitPerSecond: 2, health: { state: 'healthy' } });
      expect(res.body.inherited).toEqual(expect.arrayContaining(['retrySchedule', 'rateLimitPerSecond', 'maxConcurrency', 'breakerThreshold']));
    }

    const failed = await herald.events.publish({ tenantId, type: 'order.failed', payload: { n: 0 } });
    const dead = await eventually(async () => {
      const d = await herald.deliveries.get(failed.deliveries[0]!.id);
      expect(d.status).toBe('dead');
      return d;
    }, 20_000, 200);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(dead.attempts).toBe(2);
    expect(dead.attemptLog.map((a) => a.attempt)).toEqual([1, 2]);
    expect(failRx.requests).toHaveLength(2);
    expect(failRx.requests[1]!.at - failRx.requests[0]!.at).toBeGreaterThanOrEqual(900);

    // The inherited rate limit holds too: 8 events, never more than 2 in a second.
    const ids = await publishMany(tenantId, 'order.created', 8);
    await okRx.waitForRequests(8, 20_000);
    expect(new Set(okRx.requests.map((r) => r.headers['webhook-id']))).toEqual(new Set(ids));
    expect(busiestSecond(okRx.requests.map((r) => r.at))).toBeLessThanOrEqual(2);
  }, 60_000);
});
