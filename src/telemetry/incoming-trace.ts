/**
 * Continues the caller's trace: a request carrying W3C `traceparent` (and `tracestate`) runs inside that
 * context, so `herald.publish` and everything it starts (workflows, activities, each HTTP attempt) join the
 * producer's trace instead of starting one of their own. With tracing off the API's propagator is a no-op and
 * this only passes the request on.
 */
import { context, propagation } from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';

export function continueIncomingTrace(): MiddlewareHandler {
  return async (c, next) => {
    await context.with(propagation.extract(context.active(), c.req.header()), next);
  };
}
