import { describe, expect, it } from 'vitest';
import { register as defaultRegistry } from 'prom-client';
import { HeraldMetrics } from '../../src/metrics/metrics.js';
import { recordDeliveryCreated } from '../../src/store/deliveries.js';
import type { DataEngine } from '../../src/store/data-engine.js';
import { openEngine } from '../../src/store/open-engine.js';
import { heraldDeliveries } from '../../src/store/schema.js';
import { sample } from '../support/prometheus.js';

async function seed(store: DataEngine, statuses: string[]) {
  for (const [i, status] of statuses.entries()) {
    const id = `dlv_${i}`;
    await recordDeliveryCreated(store, {
      deliveryId: id,
      tenantId: 'default',
      webhookId: `wh_${i}`,
      eventId: `evt_${i}`,
      eventType: 'order.created',
      eventTimeMs: 0,
      url: 'https://example.com/',
      method: 'POST',
      workflowId: `delivery:wh_${i}:evt_${i}`,
      runId: 'run',
    });
    await store.update(heraldDeliveries.name, { status }, { where: { id } });
  }
}

describe('HeraldMetrics', () => {
  it('counts deliveries by status from the delivery table at scrape time (real SQLite)', async () => {
    const store = await openEngine('sqlite::memory:');
    const metrics = new HeraldMetrics({ store });
    await seed(store, ['pending', 'pending', 'in_flight', 'success', 'dead', 'dead', 'dead', 'skipped']);
    let text = await metrics.text();
    expect(sample(text, 'herald_deliveries{status="pending"}')).toBe(2);
    expect(sample(text, 'herald_deliveries{status="in_flight"}')).toBe(1);
    expect(sample(text, 'herald_deliveries{status="success"}')).toBe(1);
    expect(sample(text, 'herald_deliveries{status="dead"}')).toBe(3);
    expect(sample(text, 'herald_deliveries{status="cancelled"}')).toBe(0);
    expect(sample(text, 'herald_deliveries{status="skipped"}')).toBe(1);
    expect(sample(text, 'herald_deliveries_open')).toBe(3);
    expect(sample(text, 'herald_store_up')).toBe(1);

    // The next scrape sees the table as it is then.
    await store.update(heraldDeliveries.name, { status: 'success' }, { where: { status: 'pending' }, multi: true });
    text = await metrics.text();
    expect(sample(text, 'herald_deliveries{status="pending"}')).toBe(0);
    expect(sample(text, 'herald_deliveries{status="success"}')).toBe(3);
    expect(sample(text, 'herald_deliveries_open')).toBe(1);

    // A database that does not answer fails no scrape: store_up says so and the table gauges are absent.
    await store.close();
    text = await metrics.text();
    expect(sample(text, 'herald_store_up')).toBe(0);
    expect(sample(text, 'herald_deliveries{status="success"}')).toBeUndefined();
  });

  it('counts attempts by outcome, their latency, retries scheduled and deaths', async () => {
    const metrics = new HeraldMetrics();
    metrics.recordAttempt({ outcome: 'retry', durationMs: 120 });
    metrics.recordAttempt({ outcome: 'retry', durationMs: 80 });
    metrics.recordAttempt({ outcome: 'success', durationMs: 30 });
    metrics.recordAttempt({ outcome: 'dead', durationMs: 40 });
    metrics.recordAttempt({ outcome: 'refused', durationMs: null });
    const text = await metrics.text();
    expect(sample(text, 'herald_delivery_attempts_total{outcome="retry"}')).toBe(2);
    expect(sample(text, 'herald_delivery_attempts_total{outcome="success"}')).toBe(1);
    expect(sample(text, 'herald_delivery_attempts_total{outcome="gone"}')).toBe(0);
    expect(sample(text, 'herald_delivery_retries_scheduled_total')).toBe(2);
    expect(sample(text, 'herald_deliveries_dead_total')).toBe(2);
    expect(sample(text, 'herald_delivery_attempt_duration_seconds_count{outcome="retry"}')).toBe(2);
    expect(sample(text, 'herald_delivery_attempt_duration_seconds_sum{outcome="retry"}')).toBeCloseTo(0.2);
    expect(sample(text, 'herald_delivery_attempt_duration_seconds_bucket{le="0.05",outcome="success"}')).toBe(1);
    // A refused attempt has no duration to observe.
    expect(sample(text, 'herald_delivery_attempt_duration_seconds_count{outcome="refused"}')).toBeUndefined();
    // Nothing lands in prom-client's global registry: two Herald instances in one process do not collide.
    expect(await defaultRegistry.metrics()).not.toContain('herald_');
    expect(() => new HeraldMetrics()).not.toThrow();
  });
});
