import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { performHttpAttempt } from '../../src/activities/http-attempt.js';
import { parseEgressAllowList } from '../../src/egress/allow-list.js';
import { createGuardedDispatcher } from '../../src/egress/guarded-dispatcher.js';
import { freePort } from '../../src/embedded/child-process.js';
import type { Tracing } from '../../src/telemetry/active-tracing.js';
import { startTracing } from '../../src/telemetry/tracing.js';
import { startReceiver, type ReceivedRequest, type Receiver } from '../support/receiver.js';

// The CLIENT span of one HTTP attempt, over real HTTP on 127.0.0.1: method, host, port, status and duration on
// success and on a receiver's error; error kind and code on a failure; never a header, the body, the path or
// the query string, even where the attempt's own error message quotes the URL.

const SECRETS = ['header-secret-1f9c', 'body-secret-77aa', 'path-secret-0b3e', 'query-secret-c4d2'];

describe('the HTTP attempt span', () => {
  const exported = new InMemorySpanExporter();
  const dispatcher = createGuardedDispatcher({ allow: parseEgressAllowList('127.0.0.1') });
  let tracing: Tracing;
  let receiver: Receiver;

  beforeAll(async () => {
    tracing = startTracing({ serviceName: 'herald-test', exporter: { kind: 'console' } }, { exporter: exported });
    receiver = await startReceiver({ respond: (req: ReceivedRequest) => (req.url.includes('fail') ? { status: 503, body: 'busy' } : { status: 204 }) });
  });

  afterAll(async () => {
    await receiver.close();
    await tracing.shutdown();
  });

  async function attempt(url: string): Promise<ReadableSpan> {
    exported.reset();
    await performHttpAttempt({ url, headers: { authorization: `Bearer ${SECRETS[0]}` }, body: `{"s":"${SECRETS[1]}"}`, timeoutMs: 2_000, dispatcher }).catch(() => undefined);
    await tracing.flush();
    const [span, ...more] = exported.getFinishedSpans();
    expect(more).toEqual([]);
    const text = JSON.stringify({ name: span!.name, attributes: span!.attributes, status: span!.status, events: span!.events });
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    return span!;
  }

  it('a delivered attempt: POST <host>, CLIENT, method, address, port, status, duration', async () => {
    const span = await attempt(`http://127.0.0.1:${receiver.port}/${SECRETS[2]}?token=${SECRETS[3]}`);
    expect(span.name).toBe('POST 127.0.0.1');
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.attributes).toEqual({
      'http.request.method': 'POST',
      'server.address': '127.0.0.1',
      'server.port': receiver.port,
      'url.scheme': 'http',
      'http.response.status_code': 204,
      'herald.http.duration_ms': expect.any(Number),
    });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('a 5xx answer is an error span typed by its status', async () => {
    const span = await attempt(`http://127.0.0.1:${receiver.port}/fail/${SECRETS[2]}?token=${SECRETS[3]}`);
    expect(span.attributes).toMatchObject({ 'http.response.status_code': 503, 'error.type': '503' });
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'HTTP 503' });
  });

  it('a refused connection is an error span with the kind and code, not the message', async () => {
    const closed = await freePort();
    const span = await attempt(`http://127.0.0.1:${closed}/${SECRETS[2]}?token=${SECRETS[3]}`);
    expect(span.attributes).toMatchObject({ 'server.port': closed, 'error.type': 'ECONNREFUSED', 'herald.http.duration_ms': expect.any(Number) });
    expect(span.attributes).not.toHaveProperty('http.response.status_code');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'network (ECONNREFUSED)' });
  });

  it('an attempt refused before sending (its error quotes the URL) leaves the URL out of the span', async () => {
    const span = await attempt(`ftp://127.0.0.1/${SECRETS[2]}?token=${SECRETS[3]}`);
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'invalid' });
    expect(span.attributes['error.type']).toBe('invalid');
  });
});
