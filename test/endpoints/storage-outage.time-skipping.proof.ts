import { describe, expect, it } from 'vitest';
import { deliveryResult } from '../../src/delivery/delivery-result.js';
import { DEFAULT_RETRY_SCHEDULE_SECONDS } from '../../src/delivery/retry-schedule.js';
import type { DeliverWebhookResult } from '../../src/workflows/messages.js';
import { eventually } from '../support/delivery-checks.js';
import { uniqueId } from '../support/deps.js';
import { MINUTE_MS, requestsOf, useTimeSkippingEndpointEnv } from '../support/time-skipping-endpoint-env.js';

// Outages that must not spend a delivery's attempts, on the time-skipping server (minutes in milliseconds):
// the delivery database away for 10 minutes, and a cancel while a request is in flight.
describe('storage outage and lost attempts on the time-skipping server', () => {
  const { temporal, store, receiver, setup, deliver, rowReaches, lastActivityFailure } = useTimeSkippingEndpointEnv();

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
      await (temporal().env.sleep(5 * MINUTE_MS));
      expect(rx.requests).toHaveLength(3);
      expect(workerStore.failedCalls()).toBeGreaterThan(3 * 5);
      for (const d of deliveries) {
        const row = await store().findOne<{ status: string; attempts: number }>('herald_deliveries', { where: { id: d.deliveryId } });
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
