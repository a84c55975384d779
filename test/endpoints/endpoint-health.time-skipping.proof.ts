import { describe, expect, it } from 'vitest';
import { deliveryResult } from '../../src/delivery/delivery-result.js';
import { eventually } from '../support/delivery-checks.js';
import { uniqueId } from '../support/deps.js';
import { PROBE_SLACK_MS, requestsOf, useTimeSkippingEndpointEnv } from '../support/time-skipping-endpoint-env.js';

// The breaker's cool-downs on the time-skipping server, in server time. Kept out of `npm test` (npm run
// test:proof): with deliverWebhookV4 a delivery behind the breaker wakes in a workflow task that runs a local
// activity, and the test server skips time while such a task is open, so the task expires ("Expired workflow
// task") and the run crawls past the test's timeout. The cool-down rule itself is unit-tested
// (endpoint-state.test.ts); auto-disable is proven on the dev server (endpoint-health.dev-server.test.ts).
describe('endpoint health on the time-skipping server', () => {
  const { temporal, receiver, setup, deliver, rowReaches, rowAttempts, waitReason } = useTimeSkippingEndpointEnv();

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
      await (temporal().env.sleep(openedAt + (30 + 60 + 120 + 200) * 1000 - (await temporal().env.currentTimeMs())));
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

});
