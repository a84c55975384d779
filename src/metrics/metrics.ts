import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DataEngine } from '../store/data-engine.js';
import { DELIVERY_STATUSES, heraldDeliveries, type AttemptOutcome } from '../store/schema.js';

/**
 * Herald's Prometheus metrics, in a registry of their own (never prom-client's global default one, so two
 * Herald instances in one process — tests — do not collide).
 *
 * Two kinds:
 * - counted where things happen: delivery attempts (by outcome, with latency), retries scheduled, deliveries
 *   that went dead, HTTP requests. These live in the process that does them: the worker's activities record
 *   attempts through `AttemptMetrics`, so scrape the process that runs the worker (`npm start` runs both).
 * - computed at scrape time from the delivery table: deliveries by status and open deliveries, so they are
 *   right whichever process made the rows and survive restarts.
 */

/** What the send activity records per attempt; `HeraldMetrics` implements it (activities take it optionally). */
export interface AttemptMetrics {
  recordAttempt(attempt: { outcome: AttemptOutcome; durationMs: number | null }): void;
  /** The endpoint gate's adaptive limit per endpoint (null drops the series). */
  setEndpointConcurrencyLimit?(webhookId: string, limit: number | null): void;
  /** Requests this process has in flight per endpoint. */
  setEndpointInFlight?(webhookId: string, inFlight: number): void;
}

export interface HeraldMetricsOptions {
  /** The delivery table the scrape-time gauges count; without it they are not registered. */
  store?: DataEngine;
  /** Prefix of every metric name (default `herald_`). */
  prefix?: string;
}

/** Attempt latency buckets (seconds): webhook receivers answer in milliseconds to the 5-minute timeout. */
const ATTEMPT_DURATION_BUCKETS_SECONDS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const HTTP_DURATION_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Outcomes after which the delivery will not be attempted again without an operator. */
const FINAL_FAILURES: ReadonlySet<AttemptOutcome> = new Set(['dead', 'gone', 'refused']);

export class HeraldMetrics implements AttemptMetrics {
  readonly registry = new Registry();
  readonly #attempts: Counter<'outcome'>;
  readonly #attemptDuration: Histogram<'outcome'>;
  readonly #retriesScheduled: Counter;
  readonly #dead: Counter;
  readonly #starts: Counter<'eager'>;
  readonly #httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly #httpDuration: Histogram<'method' | 'route'>;
  readonly #endpointLimit: Gauge<'webhook_id'>;
  readonly #endpointInFlight: Gauge<'webhook_id'>;

  /** A delivery workflow this process started; `eager` when the server handed its first task straight back. */
  recordStart(started: { eager: boolean }): void {
    this.#starts.inc({ eager: String(started.eager) });
  }

  constructor(options: HeraldMetricsOptions = {}) {
    const p = options.prefix ?? 'herald_';
    const registers = [this.registry];
    this.#attempts = new Counter({
      name: `${p}delivery_attempts_total`,
      help: 'Delivery attempts made by this process, by outcome (success, retry, dead, gone, refused).',
      labelNames: ['outcome'],
      registers,
    });
    this.#starts = new Counter({
      name: `${p}delivery_starts_total`,
      help: 'Delivery workflows started by this process, by whether the server started them eagerly (first workflow task handed straight to this process).',
      labelNames: ['eager'],
      registers,
    });
    this.#attemptDuration = new Histogram({
      name: `${p}delivery_attempt_duration_seconds`,
      help: 'Duration of delivery attempts (request sent to response read), by outcome.',
      labelNames: ['outcome'],
      buckets: ATTEMPT_DURATION_BUCKETS_SECONDS,
      registers,
    });
    this.#retriesScheduled = new Counter({
      name: `${p}delivery_retries_scheduled_total`,
      help: 'Failed attempts after which a retry was scheduled.',
      registers,
    });
    this.#dead = new Counter({
      name: `${p}deliveries_dead_total`,
      help: 'Deliveries whose last attempt failed for good (retries exhausted, rejected, 410 Gone, or refused by the egress guard).',
      registers,
    });
    this.#httpRequests = new Counter({
      name: `${p}http_requests_total`,
      help: 'HTTP API requests, by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.#httpDuration = new Histogram({
      name: `${p}http_request_duration_seconds`,
      help: 'HTTP API request duration, by method and route pattern.',
      labelNames: ['method', 'route'],
      buckets: HTTP_DURATION_BUCKETS_SECONDS,
      registers,
    });
    this.#endpointLimit = new Gauge({
      name: `${p}endpoint_concurrency_limit`,
      help: "Each endpoint's adaptive concurrency limit (requests in flight across all workers), as this process last saw it.",
      labelNames: ['webhook_id'],
      registers,
    });
    this.#endpointInFlight = new Gauge({
      name: `${p}endpoint_in_flight`,
      help: 'Requests this process has in flight to each endpoint (holding an endpoint gate permit).',
      labelNames: ['webhook_id'],
      registers,
    });
    // Pre-create the label sets, so every series exists (at 0) from the first scrape.
    for (const outcome of ['success', 'retry', 'dead', 'gone', 'refused'] as const) this.#attempts.inc({ outcome }, 0);
    if (options.store) this.#registerStoreGauges(options.store, p);
  }

  recordAttempt(attempt: { outcome: AttemptOutcome; durationMs: number | null }): void {
    this.#attempts.inc({ outcome: attempt.outcome });
    if (attempt.durationMs !== null) this.#attemptDuration.observe({ outcome: attempt.outcome }, attempt.durationMs / 1000);
    if (attempt.outcome === 'retry') this.#retriesScheduled.inc();
    if (FINAL_FAILURES.has(attempt.outcome)) this.#dead.inc();
  }

  recordHttpRequest(request: { method: string; route: string; status: number; durationMs: number }): void {
    this.#httpRequests.inc({ method: request.method, route: request.route, status: String(request.status) });
    this.#httpDuration.observe({ method: request.method, route: request.route }, request.durationMs / 1000);
  }

  /** The endpoint gate's `onConcurrencyChange`: null once the webhook is forgotten (its series are dropped). */
  setEndpointConcurrencyLimit(webhookId: string, limit: number | null): void {
    if (limit === null) {
      this.#endpointLimit.remove({ webhook_id: webhookId });
      this.#endpointInFlight.remove({ webhook_id: webhookId });
    } else {
      this.#endpointLimit.set({ webhook_id: webhookId }, limit);
    }
  }

  /** The endpoint gate's `onInFlightChange`. */
  setEndpointInFlight(webhookId: string, inFlight: number): void {
    this.#endpointInFlight.set({ webhook_id: webhookId }, inFlight);
  }

  /** The exposition text (`GET /metrics`). */
  async text(): Promise<string> {
    return await this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  #registerStoreGauges(store: DataEngine, p: string): void {
    // One query answers all three gauges. prom-client calls every metric's collect synchronously, in
    // registration order, at the start of a scrape: `byStatus` (registered first) starts this scrape's query,
    // the other two await the same one.
    let scrape: Promise<Map<string, number> | undefined> | undefined;
    const refresh = () => (scrape = countByStatus(store).catch(() => undefined));
    const byStatus = new Gauge({
      name: `${p}deliveries`,
      help: 'Deliveries in the delivery table, by status (counted at scrape time).',
      labelNames: ['status'],
      registers: [],
      async collect() {
        const c = await refresh();
        this.reset();
        if (c) for (const status of DELIVERY_STATUSES) this.set({ status }, c.get(status) ?? 0);
      },
    });
    const open = new Gauge({
      name: `${p}deliveries_open`,
      help: 'Deliveries not finished yet: pending (waiting for an attempt or a retry) or in flight (counted at scrape time).',
      registers: [],
      async collect() {
        const c = await (scrape ?? refresh());
        if (c) this.set((c.get('pending') ?? 0) + (c.get('in_flight') ?? 0));
        else this.reset();
      },
    });
    const up = new Gauge({
      name: `${p}store_up`,
      help: '1 when the scrape could count the delivery table, 0 when the database did not answer.',
      registers: [],
      async collect() {
        this.set((await (scrape ?? refresh())) ? 1 : 0);
      },
    });
    for (const gauge of [byStatus, open, up]) this.registry.registerMetric(gauge);
  }
}

/** `SELECT status, COUNT(*) … GROUP BY status` through the DataEngine. */
async function countByStatus(store: DataEngine): Promise<Map<string, number>> {
  const rows = await store.aggregate(heraldDeliveries.name, { groupBy: ['status'], aggregations: [{ function: 'count', alias: 'count' }] });
  return new Map(rows.map((r) => [String(r.status), Number(r.count)]));
}
