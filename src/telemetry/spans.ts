/**
 * Herald's own spans, over the OpenTelemetry API only. With tracing off the global tracer is the API's no-op
 * one: a span costs an object and nothing is recorded or exported.
 */
import { SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions';

const TRACER_NAME = 'herald';

/** How long the attempt took as Herald measured it (the same figure as the attempt log's). */
export const ATTR_HERALD_DURATION_MS = 'herald.http.duration_ms';

// Looked up per span, not once: the global provider may be registered after this module loads.
const tracer = () => trace.getTracer(TRACER_NAME);

/**
 * Runs `fn` in an active span. A failure marks the span as an error with the error's class name only: messages
 * can quote input (an event payload, a URL with a query string), which must never reach a trace.
 */
export async function inSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  return await tracer().startActiveSpan(name, { kind: SpanKind.INTERNAL, attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      const type = err instanceof Error ? err.name : typeof err;
      span.setAttribute(ATTR_ERROR_TYPE, type);
      span.setStatus({ code: SpanStatusCode.ERROR, message: type });
      throw err;
    } finally {
      span.end();
    }
  });
}

interface AttemptOutcome {
  readonly status: number;
  readonly durationMs: number;
}

/** What an attempt's error may say about itself (HttpAttemptError's fields), read without importing it. */
interface AttemptFailure {
  readonly kind?: unknown;
  readonly code?: unknown;
  readonly durationMs?: unknown;
}

/**
 * A CLIENT span `POST <host>` around one HTTP attempt, with the method, host, port, status and duration. The
 * path and query string stay out (webhook URLs often carry tokens there), and so do headers and bodies.
 */
export async function traceHttpAttempt<T extends AttemptOutcome>(request: { method: string; url: string }, attempt: () => Promise<T>): Promise<T> {
  const target = safeTarget(request.url);
  const name = target ? `${request.method} ${target.host}` : request.method;
  return await tracer().startActiveSpan(name, { kind: SpanKind.CLIENT }, async (span) => {
    if (span.isRecording()) {
      span.setAttribute(ATTR_HTTP_REQUEST_METHOD, request.method);
      if (target) {
        span.setAttribute(ATTR_SERVER_ADDRESS, target.host);
        span.setAttribute(ATTR_SERVER_PORT, target.port);
        span.setAttribute(ATTR_URL_SCHEME, target.scheme);
      }
    }
    try {
      const outcome = await attempt();
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, outcome.status);
      span.setAttribute(ATTR_HERALD_DURATION_MS, outcome.durationMs);
      // The semantic conventions: a client span with a 4xx or 5xx answer is an error, typed by the status.
      if (outcome.status >= 400) {
        span.setAttribute(ATTR_ERROR_TYPE, String(outcome.status));
        span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${outcome.status}` });
      }
      return outcome;
    } catch (err) {
      const failure = (err ?? {}) as AttemptFailure;
      const kind = typeof failure.kind === 'string' ? failure.kind : err instanceof Error ? err.name : 'error';
      const code = typeof failure.code === 'string' ? failure.code : undefined;
      if (typeof failure.durationMs === 'number') span.setAttribute(ATTR_HERALD_DURATION_MS, failure.durationMs);
      // The kind and code (timeout ETIMEDOUT, network ECONNREFUSED, refused…), never the message: it can quote the URL.
      span.setAttribute(ATTR_ERROR_TYPE, code ?? kind);
      span.setStatus({ code: SpanStatusCode.ERROR, message: code ? `${kind} (${code})` : kind });
      throw err;
    } finally {
      span.end();
    }
  });
}

function safeTarget(url: string): { host: string; port: number; scheme: string } | undefined {
  try {
    const parsed = new URL(url);
    const scheme = parsed.protocol.replace(/:$/, '');
    const port = parsed.port ? Number(parsed.port) : scheme === 'https' ? 443 : 80;
    // IPv6 literals come bracketed in URLs; server.address takes the bare address.
    return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port, scheme };
  } catch {
    return undefined;
  }
}
