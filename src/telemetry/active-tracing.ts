import type { ClientInterceptors } from '@temporalio/client';
import type { OpenTelemetrySinks } from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';

/**
 * What a running tracer gives the rest of Herald. Kept apart from `tracing.ts` so that code which only asks
 * "is tracing on?" (the client, the logger) loads no OpenTelemetry SDK when it is off.
 */
export interface Tracing {
  /** For every Temporal Client Herald builds: a span per start, and the trace context in the start's headers. */
  readonly clientInterceptors: ClientInterceptors;
  /** For the worker: activity spans (regular and local) and the sink that exports the workflow sandbox's spans. */
  readonly worker: { readonly interceptors: WorkerInterceptors; readonly sinks: InjectedSinks<OpenTelemetrySinks> };
  /** Exports every span ended so far. */
  flush(): Promise<void>;
  /** Flushes, stops exporting and unregisters the global provider, context manager and propagator. */
  shutdown(): Promise<void>;
}

let active: Tracing | undefined;

/** The tracer this process started, or undefined when tracing is off (the default). */
export function activeTracing(): Tracing | undefined {
  return active;
}

export function setActiveTracing(tracing: Tracing | undefined): void {
  active = tracing;
}
