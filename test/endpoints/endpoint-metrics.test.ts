/** The endpoint gate feeding /metrics: the adaptive limit and this process's in-flight requests per endpoint. */
import { expect, it } from 'vitest';
import { createEndpointGate } from '../../src/endpoints/endpoint-gate.js';
import type { EndpointPolicy } from '../../src/endpoints/endpoint-policy.js';
import { HeraldMetrics } from '../../src/metrics/metrics.js';
import { openEngine } from '../../src/store/open-engine.js';
import { sample } from '../support/prometheus.js';

const POLICY: EndpointPolicy = { rateLimitPerSecond: null, maxConcurrency: 8, breakerThreshold: 10, disableAfterDays: null };

it('exposes herald_endpoint_concurrency_limit and herald_endpoint_in_flight per webhook, and drops them on forget (real SQLite)', async () => {
  const engine = await openEngine('sqlite::memory:');
  try {
    const metrics = new HeraldMetrics();
    let now = 1_796_000_000_000;
    const gate = createEndpointGate({
      engine,
      clock: () => now,
      onConcurrencyChange: (id, limit) => metrics.setEndpointConcurrencyLimit(id, limit),
      onInFlightChange: (id, n) => metrics.setEndpointInFlight(id, n),
    });
    const first = await gate.acquire('wh_metrics', POLICY, 10_000);
    const second = await gate.acquire('wh_metrics', POLICY, 10_000);
    if (first.kind !== 'go' || second.kind !== 'go') throw new Error('expected permits');
    let text = await metrics.text();
    expect(sample(text, 'herald_endpoint_concurrency_limit{webhook_id="wh_metrics"}')).toBe(8);
    expect(sample(text, 'herald_endpoint_in_flight{webhook_id="wh_metrics"}')).toBe(2);

    now += 5;
    await gate.release(first.permit, { ok: false, throttled: true, status: 429, latencyMs: 3 }, POLICY);
    text = await metrics.text();
    expect(sample(text, 'herald_endpoint_concurrency_limit{webhook_id="wh_metrics"}')).toBe(4);
    expect(sample(text, 'herald_endpoint_in_flight{webhook_id="wh_metrics"}')).toBe(1);

    await gate.release(second.permit, { ok: true, throttled: false, status: 200, latencyMs: 3 }, POLICY);
    await gate.forget('wh_metrics');
    text = await metrics.text();
    expect(text).not.toContain('webhook_id="wh_metrics"');
  } finally {
    await engine.close();
  }
});
