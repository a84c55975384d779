import { readFileSync } from 'node:fs';
import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { describeConfig, loadConfig } from '../../src/config/config.js';
import { activeTracing } from '../../src/telemetry/active-tracing.js';
import { traceContextFields } from '../../src/telemetry/log-trace-context.js';
import { inSpan } from '../../src/telemetry/spans.js';
import { withTracing } from '../../src/telemetry/traced-client.js';
import { parseTracingConfig } from '../../src/telemetry/tracing-config.js';
import { startTracing } from '../../src/telemetry/tracing.js';
import { workflowBundlePath } from '../../src/worker/workflow-bundle.js';

// Off by default: with no OTEL_* variable asking for tracing nothing is registered, the plain workflow bundle
// holds no interceptor, and Herald's spans are the API's no-ops. On: the standard variables, checked at start.

describe('tracing configuration', () => {
  it('is off with no OTEL_* variable, with OTEL_TRACES_EXPORTER=none, and with OTEL_SDK_DISABLED=true', () => {
    expect(loadConfig({}, '/tmp').tracing).toBeUndefined();
    expect(parseTracingConfig({ OTEL_SERVICE_NAME: 'x' })).toBeUndefined();
    expect(parseTracingConfig({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBeUndefined();
    expect(parseTracingConfig({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' })).toBeUndefined();
  });

  it('is on with an endpoint or an exporter, with the specification\'s URL rules and service name herald', () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }, '/tmp').tracing).toEqual({
      serviceName: 'herald',
      exporter: { kind: 'otlp', url: 'http://collector:4318/v1/traces', headers: {} },
    });
    expect(parseTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b/custom' })?.exporter).toMatchObject({ url: 'https://b/custom' });
    expect(parseTracingConfig({ OTEL_TRACES_EXPORTER: 'otlp' })?.exporter).toMatchObject({ url: 'http://localhost:4318/v1/traces' });
    expect(parseTracingConfig({ OTEL_TRACES_EXPORTER: 'console', OTEL_SERVICE_NAME: 'hooks' })).toEqual({ serviceName: 'hooks', exporter: { kind: 'console' } });
    expect(
      parseTracingConfig({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_HEADERS: 'api-key=abc%3D,x=1', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x=2' })?.exporter,
    ).toMatchObject({ headers: { 'api-key': 'abc=', x: '2' } });
  });

  it.each([
    [{ OTEL_TRACES_EXPORTER: 'jaeger' }, 'OTEL_TRACES_EXPORTER', /otlp, console or none/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'OTEL_EXPORTER_OTLP_ENDPOINT', /http:\/\/ or https:\/\/ URL/],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://collector' }, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', /http:\/\/ or https:\/\//],
    [{ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'OTEL_EXPORTER_OTLP_PROTOCOL', /http\/protobuf/],
    [{ OTEL_SDK_DISABLED: 'yes' }, 'OTEL_SDK_DISABLED', /true or false/],
    [{ OTEL_EXPORTER_OTLP_HEADERS: 'no-equals-sign-secret' }, 'OTEL_EXPORTER_OTLP_HEADERS', /entry 1 must be name=value/],
  ])('a bad value stops the start naming the variable: %j', (env, variable, reason) => {
    let error: unknown;
    try {
      loadConfig(env, '/tmp');
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ name: 'ConfigError', variable });
    expect((error as Error).message).toMatch(reason);
    // A header value is usually a credential: never echoed.
    expect((error as Error).message).not.toContain('secret');
  });

  it('the logged config shows OTLP header names, never their values', () => {
    const config = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20sekrit' }, '/tmp');
    const text = JSON.stringify(describeConfig(config));
    expect(text).toContain('authorization');
    expect(text).not.toContain('sekrit');
  });
});

describe('tracing at run time', () => {
  it('off: nothing registered, spans are no-ops, clients are left alone, the plain bundle has no interceptor', async () => {
    expect(activeTracing()).toBeUndefined();
    const recorded = await inSpan('herald.publish', {}, async (span) => span.isRecording());
    expect(recorded).toBe(false);
    expect(propagation.fields()).toEqual([]);
    expect(traceContextFields()).toEqual({});
    const client = new Client({ connection: Connection.lazy() });
    expect(withTracing(client)).toBe(client);
    expect(readFileSync(workflowBundlePath('plain'), 'utf8')).not.toContain('OpenTelemetryInboundInterceptor');
    expect(readFileSync(workflowBundlePath('traced'), 'utf8')).toContain('OpenTelemetryInboundInterceptor');
  });

  it('on: spans are recorded and exported, logs carry the trace id, clients get the interceptor; shutdown unregisters all', async () => {
    const exported = new InMemorySpanExporter();
    const tracing = startTracing({ serviceName: 'herald-test', exporter: { kind: 'console' } }, { exporter: exported });
    try {
      expect(() => startTracing({ serviceName: 'again', exporter: { kind: 'console' } })).toThrow(/already started/);
      const lines: string[] = [];
      const logger = pino({ base: undefined, mixin: traceContextFields }, { write: (line: string) => lines.push(line) });
      const traceId = await inSpan('herald.publish', { 'herald.event.id': 'evt_1' }, async (span) => {
        logger.info('inside');
        return span.spanContext().traceId;
      });
      logger.info('outside');
      expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'inside', traceId, spanId: expect.stringMatching(/^[0-9a-f]{16}$/) });
      expect(JSON.parse(lines[1]!)).not.toHaveProperty('traceId');
      expect(propagation.fields()).toContain('traceparent');

      const client = new Client({ connection: Connection.lazy(), namespace: 'ns' });
      const traced = withTracing(client);
      expect(traced).not.toBe(client);
      expect(traced.options.namespace).toBe('ns');
      expect((traced.options.interceptors.workflow as object[]).map((i) => i.constructor.name)).toEqual(['OpenTelemetryWorkflowClientInterceptor']);
      expect(withTracing(traced)).toBe(traced);

      await tracing.flush();
      expect(exported.getFinishedSpans().map((s) => [s.name, s.attributes['herald.event.id'], s.resource.attributes['service.name']])).toEqual([['herald.publish', 'evt_1', 'herald-test']]);
    } finally {
      await tracing.shutdown();
    }
    expect(activeTracing()).toBeUndefined();
    expect(propagation.fields()).toEqual([]);
    expect(await inSpan('after', {}, async (span) => span.isRecording())).toBe(false);
    expect(trace.getSpan(context.active())).toBeUndefined();
  });
});
