import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryWorkflowId } from '../../src/delivery/ids.js';
import { DELIVERY_WORKFLOW_TYPE, FAN_OUT_WORKFLOW_TYPE } from '../../src/delivery/start-delivery.js';
import type { Tracing } from '../../src/telemetry/active-tracing.js';
import { withTracing } from '../../src/telemetry/traced-client.js';
import { startTracing } from '../../src/telemetry/tracing.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { workflowBundlePath } from '../../src/worker/workflow-bundle.js';
import { eventually } from '../support/delivery-checks.js';
import { testActivityDeps, uniqueId } from '../support/deps.js';
import { useDevServerFixture } from '../support/dev-server-fixture.js';

// One publish, traced end to end on a real dev server and real HTTP: the publish span is the root, every
// delivery start, workflow run, activity (the local first attempt and the regular retry) and HTTP attempt
// descends from it in one trace, and nothing secret reaches a span.

const HEADER_VALUE = 'x-custom-header-value-7f3a';
const PAYLOAD_MARKER = 'payload-marker-51c9';

describe('tracing on the dev server', () => {
  const fx = useDevServerFixture('tracing');
  const exported = new InMemorySpanExporter();
  let tracing: Tracing;
  let traced: Client;
  let taskQueue: string;
  let running: Promise<void> | undefined;
  let stopWorker: (run: Promise<void>) => Promise<void> = async (run) => await run;

  beforeAll(async () => {
    tracing = startTracing({ serviceName: 'herald-test', exporter: { kind: 'console' } }, { exporter: exported });
    taskQueue = uniqueId('tracing-');
    // The worker's own client (fan-out starts) goes through the same wrapping the HeraldClient applies.
    traced = withTracing(fx.temporal.env.client);
    const worker = await createWorker({
      connection: fx.temporal.env.nativeConnection,
      namespace: 'default',
      taskQueue,
      deps: testActivityDeps(fx.store, { temporal: traced, taskQueue }),
      tracing: tracing.worker,
    });
    stopWorker = (run) => {
      worker.shutdown();
      return run;
    };
    running = worker.run();
  });

  // Registered after the fixture's hooks, so it runs before them: the worker lets go of the connection first.
  afterAll(async () => {
    if (running) await stopWorker(running);
    await tracing?.shutdown();
  });

  /** Spans ended so far, after flushing the batch processor (workflow spans arrive through the worker's sink). */
  async function spansOfTrace(traceId: string, until: (spans: ReadableSpan[]) => boolean): Promise<ReadableSpan[]> {
    return await eventually(async () => {
      await tracing.flush();
      const spans = exported.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
      if (!until(spans)) throw new Error(`trace ${traceId} is not complete yet: ${spans.map((s) => s.name).join(', ')}`);
      return spans;
    }, 30_000, 200);
  }

  function childrenOf(spans: ReadableSpan[], parent: ReadableSpan, name?: string): ReadableSpan[] {
    return spans.filter((s) => s.parentSpanId === parent.spanContext().spanId && (name === undefined || s.name === name || s.name.startsWith(`${name}:`)));
  }

  async function finished(): Promise<ReadableSpan[]> {
    await tracing.flush();
    return exported.getFinishedSpans();
  }

  function only(spans: ReadableSpan[], what: string): ReadableSpan {
    expect(spans, what).toHaveLength(1);
    return spans[0]!;
  }

  function expectNothingSecret(spans: ReadableSpan[], secrets: string[]): void {
    const text = JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status, links: s.links })));
    for (const secret of secrets) expect(text, 'a span carries a secret').not.toContain(secret);
    // The check can fail: the same text does hold the ids it should.
    expect(text).toContain('herald.event.id');
  }

  it('direct fan-out: publish → StartWorkflow → RunWorkflow → local and regular activities → each HTTP attempt, one trace', async () => {
    const herald = fx.client({ taskQueue });
    const tenantId = uniqueId('t-');
    const healthy = await fx.receiver();
    const flaky = await fx.receiver((_req, index) => (index === 0 ? { status: 503, body: 'down' } : { status: 200, body: 'ok' }));
    // Attempt 1 now, attempt 2 a second after a failure (one retry is all the flaky receiver needs).
    const options = { tenantId, eventTypes: ['order.*'], retrySchedule: [1, 1], retryJitter: 0, headers: { 'x-custom': HEADER_VALUE } };
    const a = await herald.webhooks.create({ ...options, url: `${healthy.url}?token=query-secret-a` });
    const b = await herald.webhooks.create({ ...options, url: `${flaky.url}?token=query-secret-b` });

    const published = await herald.events.publish({ tenantId, type: 'order.created', payload: { marker: PAYLOAD_MARKER } });
    expect(published.fanOut).toBe('direct');
    await Promise.all([a, b].map(({ webhook }) => fx.temporal.env.client.workflow.getHandle(deliveryWorkflowId(webhook.id, published.eventId)).result()));
    expect([healthy.requests.length, flaky.requests.length]).toEqual([1, 2]);

    const publish = only(
      (await finished()).filter((s) => s.name === 'herald.publish' && s.attributes['herald.event.id'] === published.eventId),
      'one publish span',
    );
    expect(publish.parentSpanId).toBeUndefined();
    expect(publish.attributes).toMatchObject({ 'herald.event.type': 'order.created', 'herald.tenant.id': tenantId, 'herald.fan_out': 'direct' });
    const traceId = publish.spanContext().traceId;
    const spans = await spansOfTrace(traceId, (s) => s.filter((x) => x.kind === SpanKind.CLIENT && x.name.startsWith('POST ')).length === 3 && s.filter((x) => x.name === `RunWorkflow:${DELIVERY_WORKFLOW_TYPE}`).length === 2);

    const starts = childrenOf(spans, publish, 'StartWorkflow');
    expect(starts.map((s) => s.name)).toEqual([`StartWorkflow:${DELIVERY_WORKFLOW_TYPE}`, `StartWorkflow:${DELIVERY_WORKFLOW_TYPE}`]);
    const attemptsByHost = new Map<number, ReadableSpan[]>();
    for (const start of starts) {
      const run = only(childrenOf(spans, start, 'RunWorkflow'), `RunWorkflow under ${start.attributes.temporalWorkflowId}`);
      // The workflow's ids, not the whole WorkflowInfo (search attributes, memo) the SDK's sink would copy.
      expect(run.attributes).toMatchObject({ workflowId: start.attributes.temporalWorkflowId, workflowType: DELIVERY_WORKFLOW_TYPE });
      expect(Object.keys(run.attributes)).not.toContain('searchAttributes');
      expect(Object.keys(run.attributes)).not.toContain('memo');
      const activityStarts = childrenOf(spans, run, 'StartActivity');
      // Every activity the workflow schedules (the local first attempt, the mirror, the regular retry) hangs off its run.
      const runs: ReadableSpan[] = activityStarts.flatMap((s) => childrenOf(spans, s, 'RunActivity'));
      expect(runs.length).toBe(activityStarts.length);
      for (const http of runs.flatMap((r) => spans.filter((s) => s.parentSpanId === r.spanContext().spanId && s.kind === SpanKind.CLIENT))) {
        const port = http.attributes['server.port'] as number;
        attemptsByHost.set(port, [...(attemptsByHost.get(port) ?? []), http]);
      }
      const isFlaky = start.attributes.temporalWorkflowId === deliveryWorkflowId(b.webhook.id, published.eventId);
      const names = runs.map((r) => r.name);
      expect(names).toContain('RunActivity:deliverFirstAttempt');
      if (isFlaky) expect(names).toContain('RunActivity:sendSignedWebhook');
      else expect(names).not.toContain('RunActivity:sendSignedWebhook');
    }

    const healthyAttempts = attemptsByHost.get(healthy.port) ?? [];
    const flakyAttempts = attemptsByHost.get(flaky.port) ?? [];
    expect(healthyAttempts.map((s) => s.attributes['http.response.status_code'])).toEqual([200]);
    expect(flakyAttempts.map((s) => s.attributes['http.response.status_code']).sort()).toEqual([200, 503]);
    for (const span of [...healthyAttempts, ...flakyAttempts]) {
      expect(span.name).toBe('POST 127.0.0.1');
      expect(span.attributes).toMatchObject({ 'http.request.method': 'POST', 'server.address': '127.0.0.1', 'url.scheme': 'http' });
      expect(span.attributes['herald.http.duration_ms']).toEqual(expect.any(Number));
    }
    const failed = flakyAttempts.find((s) => s.attributes['http.response.status_code'] === 503)!;
    expect(failed.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed.attributes['error.type']).toBe('503');

    expect(spans.every((s) => s.spanContext().traceId === traceId)).toBe(true);
    expectNothingSecret(spans, [a.secret, b.secret, a.secret.replace(/^whsec_/, ''), HEADER_VALUE, PAYLOAD_MARKER, 'query-secret-a', 'query-secret-b', '/hook']);

    // The trace context travels in the workflow's start headers; recorded traced histories replay on the plain
    // bundle too, so turning tracing off never breaks a running delivery.
    const history = await fx.temporal.env.client.workflow.getHandle(deliveryWorkflowId(b.webhook.id, published.eventId)).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    expect(Object.keys(started?.header?.fields ?? {})).toContain('_tracer-data');
    await Worker.runReplayHistory({ workflowBundle: { codePath: workflowBundlePath('plain') } }, history, 'traced-on-plain');
    await Worker.runReplayHistory({ workflowBundle: { codePath: workflowBundlePath('traced') }, sinks: tracing.worker.sinks }, history, 'traced-on-traced');
  });

  it('fan-out workflow: publish → StartWorkflow:fanOutEvent → RunWorkflow → its activity → StartWorkflow:deliverWebhook → … → HTTP attempt', async () => {
    const herald = fx.client({ taskQueue });
    const tenantId = uniqueId('t-');
    const rx = await fx.receiver();
    const { webhook } = await herald.webhooks.create({ tenantId, url: rx.url, eventTypes: ['order.*'] });

    const published = await herald.events.publish({ tenantId, type: 'order.paid', payload: { marker: PAYLOAD_MARKER }, fanOut: { directLimit: 0 } });
    expect(published.fanOut).toBe('workflow');
    await herald.events.fanOutResult(published.eventId, tenantId);
    await fx.temporal.env.client.workflow.getHandle(deliveryWorkflowId(webhook.id, published.eventId)).result();

    const publish = only((await finished()).filter((s) => s.attributes['herald.event.id'] === published.eventId), 'one publish span');
    const spans = await spansOfTrace(publish.spanContext().traceId, (s) => s.some((x) => x.kind === SpanKind.CLIENT && x.name.startsWith('POST ')) && s.some((x) => x.name === `RunWorkflow:${FAN_OUT_WORKFLOW_TYPE}`));
    const fanOut = only(childrenOf(spans, only(childrenOf(spans, publish, 'StartWorkflow'), 'StartWorkflow:fanOutEvent'), 'RunWorkflow'), 'RunWorkflow:fanOutEvent');
    // fanOutEvent → its page activity → the delivery start, through the worker's traced client.
    const deliveryStarts = childrenOf(spans, fanOut, 'StartActivity')
      .flatMap((s) => childrenOf(spans, s, 'RunActivity'))
      .flatMap((r) => childrenOf(spans, r, 'StartWorkflow'));
    const deliveryStart = only(deliveryStarts, 'StartWorkflow:deliverWebhook under the fan-out activity');
    expect(deliveryStart.attributes.temporalWorkflowId).toBe(deliveryWorkflowId(webhook.id, published.eventId));
    const delivery = only(childrenOf(spans, deliveryStart, 'RunWorkflow'), 'RunWorkflow:deliverWebhook');
    const attempts = childrenOf(spans, delivery, 'StartActivity')
      .flatMap((s) => childrenOf(spans, s, 'RunActivity'))
      .flatMap((r) => spans.filter((s) => s.parentSpanId === r.spanContext().spanId && s.kind === SpanKind.CLIENT));
    expect(attempts.map((s) => s.attributes['http.response.status_code'])).toEqual([200]);
  });
});
