import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import type { DeliveryStarter } from '../delivery/start-delivery.js';
import type { AttemptMetrics } from '../metrics/metrics.js';
import type { DataEngine } from '../store/data-engine.js';
import { createEndpointGate, type EndpointGate } from '../endpoints/endpoint-gate.js';
import type { SecretBox } from '../store/secret-box.js';
import { createCheckEndpointBreaker } from './check-endpoint-breaker.js';
import { createDeliverFirstAttempt } from './deliver-first-attempt.js';
import { createFanOutActivities } from './fan-out-activities.js';
import { createMirrorDelivery } from './mirror-delivery.js';
import { createRecoverActivities } from './recover-activities.js';
import { createRefanActivities } from './refan-activities.js';
import { createRetentionActivities } from './retention-activities.js';
import { createSendSignedWebhook } from './send-signed-webhook.js';

/** Everything activities touch, built once by the worker and injected (tests pass their own). */
export interface ActivityDeps {
  store: DataEngine;
  /** Opens the sealed webhook secrets and headers, at send time only. */
  box: SecretBox;
  /** Starts delivery workflows (fan-out, recovery): the Temporal client and Herald's task queue. */
  starter: DeliveryStarter;
  /** The egress-guarded undici Agent every attempt goes through. */
  dispatcher: Dispatcher;
  clock: () => number;
  /** Uniform in [0, 1): retry jitter. */
  random: () => number;
  logger: Logger;
  userAgent: string;
  /** Counts attempts by outcome, their latency, retries and deaths (`HeraldMetrics`); optional. */
  metrics?: AttemptMetrics;
  /**
   * Per-endpoint breaker, rate limit and adaptive concurrency, shared by every worker through the delivery
   * database (src/endpoints/). Built from `store` when not given.
   */
  gate?: EndpointGate;
}

export function createActivities(given: ActivityDeps) {
  const deps: ActivityDeps = { ...given, gate: given.gate ?? gateOf(given) };
  return {
    deliverFirstAttempt: createDeliverFirstAttempt(deps),
    sendSignedWebhook: createSendSignedWebhook(deps),
    checkEndpointBreaker: createCheckEndpointBreaker(deps),
    mirrorDelivery: createMirrorDelivery(deps),
    ...createFanOutActivities(deps),
    ...createRecoverActivities(deps),
    ...createRefanActivities(deps),
    ...createRetentionActivities(deps),
  };
}

/** The endpoint gate over the delivery database, its gauges fed into the worker's metrics. */
function gateOf(deps: ActivityDeps): EndpointGate {
  const { metrics } = deps;
  return createEndpointGate({
    engine: deps.store,
    clock: deps.clock,
    random: deps.random,
    onConcurrencyChange: (webhookId, limit) => metrics?.setEndpointConcurrencyLimit?.(webhookId, limit),
    onInFlightChange: (webhookId, inFlight) => metrics?.setEndpointInFlight?.(webhookId, inFlight),
  });
}
