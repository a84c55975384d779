import { FailureType } from '../delivery/failure-types.js';

type TemporalLogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/**
 * The level Herald logs a line of the Temporal SDK at. A delivery waiting for its endpoint (breaker open, rate
 * limit, concurrency) retries its activity with a `HeraldEndpointWaiting` failure; the SDK logs every such retry
 * as "Activity failed" at WARN, with a stack trace; so does the `HeraldBreakerOpen` failure that hands a wait
 * behind an open breaker to the workflow (deliverWebhookV4). Waiting is not a failure: those lines go to DEBUG.
 */
export function temporalLogLevel(level: TemporalLogLevel, message: string, meta: Record<string, unknown> | undefined): TemporalLogLevel {
  if (level !== 'WARN' || message !== 'Activity failed') return level;
  const type = (meta?.['error'] as { type?: unknown } | undefined)?.type;
  return type === FailureType.EndpointWaiting || type === FailureType.BreakerOpen ? 'DEBUG' : level;
}
