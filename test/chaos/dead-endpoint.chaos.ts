import { describe, expect, it } from 'vitest';
import { forEachLimited } from '../../src/delivery/for-each-limited.js';
import { uniqueId } from '../support/deps.js';
import { useDevServerFixture } from '../support/dev-server-fixture.js';
import type { ReceivedRequest } from '../support/receiver.js';

// `npm run test:chaos` (not part of `npm test`): a dead endpoint holding thousands of open deliveries beside a
// healthy one (issue #11). Its breaker opens after `breakerThreshold` failures; from then on it receives only
// probes, its deliveries wait without spending attempts, the healthy endpoint keeps (nearly) its throughput, and
// when the dead one comes back every delivery arrives once. HERALD_CHAOS_DEAD_DELIVERIES sets the backlog
// (default 5,000), HERALD_CHAOS_HEALTHY_EVENTS the healthy sample (default 300).

const DEAD_DELIVERIES = Number(process.env['HERALD_CHAOS_DEAD_DELIVERIES'] ?? 5000);
const HEALTHY_EVENTS = Number(process.env['HERALD_CHAOS_HEALTHY_EVENTS'] ?? 300);
const PUBLISH_CONCURRENCY = 16;
const THRESHOLD = 10;
/** How long the dead endpoint stays down once its backlog is in place (its breaker's cool-down reaches 60–120 s). */
const DOWN_AFTER_BACKLOG_MS = 60_000;

describe('a dead endpoint beside a healthy one', () => {
  const dev = useDevServerFixture('dead-endpoint');

  it(`${DEAD_DELIVERIES} deliveries wait on an open breaker; the healthy endpoint keeps its throughput; all arrive once`, async () => {
    const log = (line: string) => console.log(`[t+${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}`);
    const t0 = Date.now();
    let deadUp = false;
    const healthy = await dev.receiver(() => ({ status: 200 }));
    const dead = await dev.receiver(() => (deadUp ? { status: 200 } : { status: 503, body: 'down' }));
    const { taskQueue } = await dev.runningWorker({ overrides: { maxConcurrentActivityTaskExecutions: 100, maxConcurrentLocalActivityExecutions: 100 } });
    const herald = dev.client({ taskQueue });
    const tenantId = uniqueId('dead-');
    const { webhook: healthyHook } = await herald.webhooks.create({ tenantId, url: healthy.url, eventTypes: ['order.*'], retryJitter: 0 });
    const { webhook: deadHook } = await herald.webhooks.create({ tenantId, url: dead.url, eventTypes: ['audit.*'], breakerThreshold: THRESHOLD });

    /** Healthy throughput: `HEALTHY_EVENTS` events published, first publish → last 2xx, in deliveries/s. */
    async function healthyRate(label: string): Promise<number> {
      const before = healthy.requests.length;
      const started = Date.now();
      await forEachLimited(Array.from({ length: HEALTHY_EVENTS }, (_, i) => i), PUBLISH_CONCURRENCY, async (i) => {
        await herald.events.publish({ tenantId, id: uniqueId(`evt_${label.replace(/\W+/g, "_")}_${i}_`), type: 'order.created', payload: { i } });
      });
      await healthy.waitForRequests(before + HEALTHY_EVENTS, 300_000);
      const last = Math.max(...healthy.requests.slice(before).map((r) => r.at));
      const rate = HEALTHY_EVENTS / ((last - started) / 1000);
      log(`healthy endpoint, ${label}: ${HEALTHY_EVENTS} deliveries at ${rate.toFixed(1)}/s`);
      return rate;
    }

    const baseline = await healthyRate('alone');

    // The backlog: every delivery to the dead endpoint, published as fast as publish goes.
    const backlogStarted = Date.now();
    const deadIds: string[] = [];
    await forEachLimited(Array.from({ length: DEAD_DELIVERIES }, (_, i) => i), PUBLISH_CONCURRENCY, async (i) => {
      const published = await herald.events.publish({ tenantId, id: `evt_dead_${i}_${tenantId}`, type: 'audit.logged', payload: { i } });
      deadIds.push(published.eventId);
    });
    const health = await herald.webhooks.health(deadHook.id);
    log(`backlog of ${DEAD_DELIVERIES} published in ${((Date.now() - backlogStarted) / 1000).toFixed(1)} s; dead endpoint ${health.state}, ${dead.requests.length} requests so far`);
    expect(health.state).toBe('open');
    const openedRequests = dead.requests.length;

    // "Holding" the backlog: every delivery has made its first workflow task and waits for the breaker.
    const settleDeadline = Date.now() + 300_000;
    for (;;) {
      const waiting = await dev.store.find('herald_deliveries', { where: { webhook_id: deadHook.id, status: 'pending' }, fields: ['id'], limit: DEAD_DELIVERIES });
      if (waiting.length >= DEAD_DELIVERIES - THRESHOLD - 20 || Date.now() > settleDeadline) break;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    await new Promise((r) => setTimeout(r, 5_000));
    log(`backlog settled: ${DEAD_DELIVERIES} deliveries waiting`);
    const beside = await healthyRate('beside the open breaker');
    const ratio = beside / baseline;
    log(`healthy throughput beside the backlog: ${(ratio * 100).toFixed(0)} % of alone`);

    // Only probes while it is down: at most one request per cool-down (≥ 30 s apart, less the gate's jitter).
    const waitUntil = backlogStarted + DOWN_AFTER_BACKLOG_MS;
    while (Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 1_000));
    const whileOpen = dead.requests.slice(openedRequests);
    const gaps = whileOpen.slice(1).map((r, i) => r.at - whileOpen[i]!.at);
    log(`while open: ${whileOpen.length} requests (probes), gaps ${gaps.map((g) => `${(g / 1000).toFixed(0)} s`).join(', ') || '-'}`);
    expect(openedRequests).toBeLessThanOrEqual(THRESHOLD + 20); // the threshold plus what was in flight as it opened
    for (const gap of gaps) expect(gap).toBeGreaterThan(25_000);

    // Rows spent no attempt while waiting: the failed ones made at most the attempts that sent requests.
    const attempts = await dev.store.find('herald_deliveries', { where: { webhook_id: deadHook.id }, fields: ['attempts'], limit: DEAD_DELIVERIES });
    const spent = attempts.reduce((sum, row) => sum + Number(row['attempts']), 0);
    log(`attempts recorded on the backlog: ${spent} (requests that reached it: ${dead.requests.length})`);
    expect(spent).toBe(dead.requests.length);

    // It comes back: the next probe closes the breaker and the backlog drains, each delivery once.
    deadUp = true;
    const upAt = Date.now();
    log('dead endpoint back up');
    const deadline = Date.now() + 15 * 60_000;
    const delivered = () => new Set(dead.requests.filter((r) => r.at >= upAt).map((r) => String(r.headers['webhook-id'])));
    while (delivered().size < DEAD_DELIVERIES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2_000));
    const okByEvent = new Map<string, number>();
    for (const r of dead.requests.filter((req: ReceivedRequest) => req.at >= upAt)) okByEvent.set(String(r.headers['webhook-id']), (okByEvent.get(String(r.headers['webhook-id'])) ?? 0) + 1);
    const twice = [...okByEvent.values()].filter((n) => n > 1).length;
    log(`drained ${okByEvent.size}/${DEAD_DELIVERIES} in ${((Date.now() - upAt) / 1000).toFixed(0)} s after recovery; delivered twice: ${twice}`);
    expect(okByEvent.size).toBe(DEAD_DELIVERIES);
    expect(new Set(deadIds).size).toBe(DEAD_DELIVERIES);
    expect(twice).toBe(0);
    expect((await herald.webhooks.health(deadHook.id)).state).toBe('healthy');
    log(`RESULT healthy throughput beside ${DEAD_DELIVERIES} waiting deliveries: ${(ratio * 100).toFixed(0)} % of alone (target ≥ 90 %)`);
    expect(ratio).toBeGreaterThanOrEqual(0.9);
  });
});
