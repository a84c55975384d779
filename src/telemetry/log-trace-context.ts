import { context, isSpanContextValid, trace } from '@opentelemetry/api';

/**
 * A pino `mixin`: the trace and span ids of the span active where the line is logged (an HTTP attempt, an
 * activity, a publish), so a log line leads to its trace. Installed only when tracing is on.
 */
export function traceContextFields(): { traceId?: string; spanId?: string } {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const spanContext = span.spanContext();
  return isSpanContextValid(spanContext) ? { traceId: spanContext.traceId, spanId: spanContext.spanId } : {};
}
