/**
 * OpenTelemetry tracing for one Herald process: a tracer provider registered globally (so the Temporal
 * interceptors, the publish span and the HTTP-attempt spans all find it), the exporter the config names, and
 * the pieces the clients and the worker plug in. Only loaded when tracing is on: with no OTEL_* variable asking
 * for it, nothing here runs and nothing is registered.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { envDetectorSync, Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  type OpenTelemetrySinks,
} from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks } from '@temporalio/worker';
import { activeTracing, setActiveTracing, type Tracing } from './active-tracing.js';
import type { TracingConfig } from './tracing-config.js';

export interface StartTracingOptions {
  /** Replaces the exporter the config names (tests pass an InMemorySpanExporter). */
  exporter?: SpanExporter;
  /** service.version on every span. */
  serviceVersion?: string;
}

function exporterFor(config: TracingConfig): SpanExporter {
  const { exporter } = config;
  if (exporter.kind === 'console') return new ConsoleSpanExporter();
  return new OTLPTraceExporter({ url: exporter.url, headers: { ...exporter.headers } });
}

/**
 * The SDK's workflow span sink, told less: it copies the whole WorkflowInfo onto every workflow span (search
 * attributes, memo, build ids, nested objects that are no valid span attribute), where the ids suffice.
 */
function workflowSpanSink(processor: SpanProcessor, resource: Resource): InjectedSinks<OpenTelemetrySinks>['exporter'] {
  const sdk = makeWorkflowExporter(processor, resource);
  return {
    export: {
      ...sdk.export,
      fn: async (info, spans) => {
        const named = { workflowId: info.workflowId, runId: info.runId, workflowType: info.workflowType, taskQueue: info.taskQueue, namespace: info.namespace, attempt: info.attempt };
        await sdk.export.fn(named as typeof info, spans);
      },
    },
  };
}

/** Starts tracing for this process. Once only: a second start while one runs is a bug. */
export function startTracing(config: TracingConfig, options: StartTracingOptions = {}): Tracing {
  if (activeTracing()) throw new Error('tracing is already started in this process');
  // OTEL_RESOURCE_ATTRIBUTES first, then Herald's own names on top.
  const resource = Resource.default()
    .merge(envDetectorSync.detect())
    .merge(new Resource({ [ATTR_SERVICE_NAME]: config.serviceName, ...(options.serviceVersion ? { [ATTR_SERVICE_VERSION]: options.serviceVersion } : {}) }));
  // Batching keeps export off the attempt's path; the workflow sandbox's spans go through the same processor.
  const processor = new BatchSpanProcessor(options.exporter ?? exporterFor(config));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  // AsyncLocalStorage context and the W3C trace-context propagator (or OTEL_PROPAGATORS): the interceptors
  // carry the context in Temporal headers through the global propagator.
  provider.register();

  const clientInterceptor = new OpenTelemetryWorkflowClientInterceptor();
  let stopped = false;
  const tracing: Tracing = {
    clientInterceptors: { workflow: [clientInterceptor] },
    worker: {
      interceptors: {
        // Activities that start workflows through the worker's own client keep the chain too.
        client: { workflow: [clientInterceptor] },
        // Runs for local activities as well: the first attempt of a delivery is one.
        activity: [
          (ctx) => ({
            inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
            outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
          }),
        ],
      },
      // Workflow code cannot export (no I/O in the sandbox): its spans come out through this sink, which is
      // not called during replay, so a replayed workflow task exports nothing twice.
      sinks: { exporter: workflowSpanSink(processor, resource) },
    },
    flush: () => provider.forceFlush(),
    async shutdown() {
      if (stopped) return;
      stopped = true;
      try {
        await provider.shutdown();
      } finally {
        trace.disable();
        context.disable();
        propagation.disable();
        setActiveTracing(undefined);
      }
    },
  };
  setActiveTracing(tracing);
  return tracing;
}
